// Run by test/runners.test.ts with `npx nodeleak run -- node --test`: no nodeleak/node-test, so an unawaited check
// outlives its test; the check says so, and the next test's error names the hooks to load.
const { test } = require('node:test');
const { checkLeak } = require('nodeleak');

const kept = [];

test('a check the test does not await', async () => {
  void checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 1 });
});

test('a check after it', async () => {
  await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
});
