'use strict';
// Runs on the oldest Node line package.json's engines names, where the suite's own mocha cannot (mocha 12 needs Node
// 20), so plain CommonJS with no test framework. Usage:
//   node oldest-node-check.js <project dir> <leaks fixture .node>
// The project has mocha 10 and the installed-looking nodeleak in node_modules. Runs fixtures/oldest-node's suite
// through the package's own `nodeleak` command, as a user would, and holds every test's outcome to what it should
// be: the two leaks fail with MemoryLeakError, everything else passes. Prints one line per test; exits non-zero on
// any difference.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [projectDir, fixturePath] = process.argv.slice(2).map((arg) => path.resolve(arg));
const suite = path.join(projectDir, 'leaks.test.js');
fs.copyFileSync(path.join(__dirname, 'fixtures', 'oldest-node', 'leaks.test.js'), suite);
const major = process.versions.node.split('.')[0];
const wantMajor = JSON.parse(fs.readFileSync(path.join(projectDir, 'node_modules', 'nodeleak', 'package.json'), 'utf8')).engines.node.match(/^>=(\d+)$/)[1];
assert.equal(major, wantMajor, `run on Node ${process.version}, not on the line package.json's engines names (${wantMajor})`);

const cli = path.join(projectDir, 'node_modules', 'nodeleak', 'dist', 'cli.js');
// --no-config: the project sits in this repository's .cache, where mocha would read the repository's own .mocharc.
const run = spawnSync(process.execPath, [cli, '--no-config', '--reporter', 'json', suite], {
  cwd: projectDir,
  encoding: 'utf8',
  env: { ...process.env, NODELEAK_LEAKS_FIXTURE: fixturePath, NODELEAK_OLDEST_NODE_MAJOR: wantMajor },
  timeout: 300_000,
});
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  throw new Error(`no JSON report from mocha (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
}
const mochaVersion = require(require.resolve('mocha/package.json', { paths: [projectDir] })).version;
console.log(`Node ${process.version}, mocha ${mochaVersion}`);
const meantToLeak = new Set(['testMallocLeak', 'testWrapLeak']);
let wrong = 0;
for (const test of report.tests) {
  const failed = test.err && Object.keys(test.err).length > 0;
  const outcome = failed ? `fails: ${String(test.err.message).split('\n')[0]}` : 'passes';
  const right = meantToLeak.has(test.title) ? failed && /^MemoryLeakError: heap leaks about [\d.]+ B\/call/.test(test.err.stack) : !failed;
  if (!right) wrong++;
  console.log(`${right ? 'ok  ' : 'NOT '} ${test.fullTitle}: ${outcome} (${test.duration} ms)`);
}
assert.equal(report.tests.length, 9, `tests run: ${report.tests.map((test) => test.title).join(', ')}`);
assert.equal(wrong, 0, `${wrong} test(s) ended otherwise than they should`);
assert.equal(run.status, meantToLeak.size, `mocha's exit code (its failures): ${run.status}\n${run.stderr}`);
console.log('every test ended as it should');
