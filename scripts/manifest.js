#!/usr/bin/env node
// prepack/postpack: the packed package.json keeps only the script a consumer's install runs (install:
// node-gyp-build, which loads the prebuild and compiles only when none matches), so npm's list of packages with
// install scripts names what really runs. `consumer` saves package.json and writes the consumer's; `restore` puts
// the saved one back.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const manifest = path.join(__dirname, '..', 'package.json');
const saved = path.join(__dirname, '..', '.package.json.dev');

if (process.argv[2] === 'consumer') {
  if (!fs.existsSync(saved)) fs.copyFileSync(manifest, saved); // a pack that died before postpack left it saved
  const full = JSON.parse(fs.readFileSync(saved, 'utf8'));
  const consumer = { ...full, scripts: { install: full.scripts.install } };
  delete consumer.devDependencies;
  delete consumer.allowScripts; // which of this repository's dev dependencies may run install scripts
  fs.writeFileSync(manifest, `${JSON.stringify(consumer, null, 2)}\n`);
} else if (process.argv[2] === 'restore') {
  if (fs.existsSync(saved)) fs.renameSync(saved, manifest);
} else {
  process.stderr.write('usage: manifest.js consumer|restore\n');
  process.exitCode = 2;
}
