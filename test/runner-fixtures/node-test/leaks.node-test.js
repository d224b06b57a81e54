// Run by test/runners.test.ts with `npx nodeleak run -- node --test`: a leaking and a clean check in node:test.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { MemoryLeakError, checkLeak, isQuietProcess } = require('nodeleak');

const kept = [];

test('runs in a quiet process', () => {
  assert.equal(isQuietProcess(), true);
});

test('a leaking function fails', async () => {
  await checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 });
});

test('a clean function passes', async () => {
  const report = await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
  assert.equal(report.verdict, 'clean');
});

test('a leak, asserted', async () => {
  await assert.rejects(checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 }), MemoryLeakError);
});
