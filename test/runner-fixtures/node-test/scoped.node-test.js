// Run by test/runners.test.ts with `npx nodeleak run -- node --test`: nodeleak/node-test's hooks give each test a scope.
require('nodeleak/node-test');
const { test } = require('node:test');
const { checkLeak } = require('nodeleak');

const kept = [];

test('a check the test does not await fails the test', async () => {
  void checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 });
});

test('a check after it is not blamed for it', async () => {
  await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
});

test('a parent test', async (t) => {
  // verbosity 1: the subtest runs inside its parent, so its check belongs to no test's scope, and says so.
  await t.test('a subtest whose check runs beside its parent', async () => {
    await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 1 });
  });
});
