'use strict';
// Usage: node test/cross/check-prebuilds.js <prebuilds dir>
// The release gate: the merged prebuilds/ must hold exactly the binaries
// test/cross/targets.json lists, no more and no fewer, none of them empty.
const fs = require('node:fs');
const path = require('node:path');
const { targets } = require('./targets.json');

const dir = process.argv[2];
const found = fs
  .readdirSync(dir, { recursive: true })
  .map((entry) => String(entry).split(path.sep).join('/'))
  .filter((entry) => entry.endsWith('.node'));
const expected = targets.map((target) => target.file);
const missing = expected.filter((file) => !found.includes(file));
const extra = found.filter((file) => !expected.includes(file));
const empty = expected.filter((file) => found.includes(file) && fs.statSync(path.join(dir, file)).size === 0);
for (const file of expected) console.log(`${missing.includes(file) ? 'missing' : empty.includes(file) ? 'empty  ' : 'ok     '} ${file}`);
for (const file of extra) console.log(`extra   ${file}`);
process.exitCode = missing.length || extra.length || empty.length ? 1 : 0;
