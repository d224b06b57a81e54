'use strict';
// One leak check in this process, run by bench/wine.sh under Wine's node.exe (plain CommonJS: no build step there).
//   node.exe [flags] wine-check.js <package dir> <winheap.node> <case> <results file>
// Appends one JSON line: the case, its verdict, the calls and milliseconds it took.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const [packageDir, fixturePath, name, resultsFile] = process.argv.slice(2);
const nodeleak = require(path.resolve(packageDir));
const fixture = require(path.resolve(fixturePath));

const input = crypto.randomBytes(1024);
const deflated = zlib.deflateSync(input);
let count = 0;
const cases = {
  // Leaks, in the Universal CRT's heap.
  vector8: () => fixture.vectorLeak(8),
  malloc16: () => fixture.crtMalloc(16),
  every10th32: () => (++count % 10 === 0 ? fixture.crtMalloc(32) : undefined),
  // Clean.
  vectorClean8: () => fixture.vectorClean(8),
  mallocFree: () => fixture.crtFree(fixture.crtMalloc(100)),
  deflateSync: () => zlib.deflateSync(input),
  inflateSync: () => zlib.inflateSync(deflated),
  gzipAsync: () => new Promise((resolve, reject) => zlib.gzip(input, (err, out) => (err ? reject(err) : resolve(out)))),
  randomBytes: () => crypto.randomBytes(64),
  sha256: () => crypto.createHash('sha256').update(input).digest(),
  readFileSync: () => fs.readFileSync(__filename),
  statSync: () => fs.statSync(__filename),
  numberFormat: () => new Intl.NumberFormat('en-US').format(1234.5),
  bufferConcat: () => Buffer.concat([input, input]),
};
if (!cases[name]) throw new Error(`unknown case ${name}; known: ${Object.keys(cases).join(', ')}`);

// What a check judges on Windows but vms: Wine keeps no vms (PrivateUsage) counter that holds still.
const options = { verbosity: 0, checkers: nodeleak.Checkers.only('memory'), metrics: ['heap', 'mmap', 'v8heap', 'external', 'uss'], maxMs: 60_000 };
const started = Date.now();
const write = (outcome) => fs.appendFileSync(resultsFile, `${JSON.stringify({ name, ms: Date.now() - started, ...outcome })}\n`);
nodeleak.checkLeak(cases[name], options).then(
  (report) => write({ verdict: report.verdict, calls: report.calls }),
  (err) => write({ verdict: err.name, calls: err.report ? err.report.calls : null, message: String(err.message).split('\n')[0] }),
);
