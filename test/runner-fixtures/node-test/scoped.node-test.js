// Run by test/runners.test.ts with `npx nodeleak run -- node --test`: nodeleak/node-test's hooks give each test a scope.
require('nodeleak/node-test');
const assert = require('node:assert');
const { describe, test } = require('node:test');
const { checkLeak } = require('nodeleak');

const kept = [];
const leak = () => kept.push(new Array(128).fill(0));

test('a check the test does not await fails the test', async () => {
  void checkLeak(leak, { verbosity: 0 });
});

test('a check after it is not blamed for it', async () => {
  await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
});

test('a parent test', async (t) => {
  // A subtest runs inside its parent: its checks are its own (node:test gives its full name; not on Node 18).
  await t.test('a subtest whose check is its own', async () => {
    await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
  });
  await t.test('a subtest that does not await its check', async () => {
    void checkLeak(leak, { verbosity: 0 });
  });
});

describe('tests run at once', { concurrency: true }, () => {
  test('a check beside another test is refused, saying why', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // the test beside it has begun
    assert.throws(() => checkLeak(() => JSON.parse('[1,2,3]')), { name: 'UnscopedCheckError', message: /starts while another test runs beside its own/ });
  });

  test('a test beside it', async () => {
    await new Promise((resolve) => setTimeout(resolve, 40));
  });
});
