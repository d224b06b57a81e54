// Run by test/runners.test.ts without nodeleak/node-test: with plain `node --test` its checks are refused when they
// start; with `npx nodeleak run -- node --test`, which imports the hooks, an unawaited check fails its own test.
const { test } = require('node:test');
const { checkLeak } = require('nodeleak');

const kept = [];

test('a check the test does not await', async () => {
  void checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 1 });
});

test('a check after it', async () => {
  await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
});
