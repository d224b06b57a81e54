// Run by test/runners.test.ts through jest (tests run in a realm of their own): a leaking and a clean check, an
// unawaited one, which fails its own test, checks that take their time budget from the test's timeout, and a check in
// a test jest starts before its hooks, which is refused.
const { UnscopedCheckError, checkLeak, checkLeakThrows, isQuietProcess } = require('nodeleak');

const kept = [];
const leak = () => kept.push(new Array(128).fill(0));

test('runs in a quiet process', () => {
  expect(isQuietProcess()).toBe(true);
});

test('a leaking function fails not.toLeakMemory', async () => {
  await expect(leak).not.toLeakMemory({ verbosity: 0 });
});

test('a clean function passes not.toLeakMemory', async () => {
  await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
});

test('toLeakMemory passes for a leaking function', async () => {
  await expect(leak).toLeakMemory({ verbosity: 0 });
});

test('checkLeakThrows matches a Node-core TypeError against this realm\'s TypeError', async () => {
  await checkLeakThrows(TypeError, () => {
    null.x = 1;
  }, { verbosity: 0 });
});

test('a check under jest.useFakeTimers() turns the real event loop', async () => {
  jest.useFakeTimers();
  try {
    await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
  } finally {
    jest.useRealTimers();
  }
});

test('a check the test does not await fails the test', async () => {
  void expect(leak).not.toLeakMemory({ verbosity: 0 });
});

test('a check takes its time budget from the test timeout, so it ends before it', async () => {
  await expect(async () => {
    await new Promise((resolve) => setTimeout(resolve, 3));
  }).not.toLeakMemory({ verbosity: 0 });
}, 1500);

test('a check whose maxMs outlasts the test timeout is stopped before it', async () => {
  await expect(async () => {
    await new Promise((resolve) => setTimeout(resolve, 3));
  }).not.toLeakMemory({ verbosity: 0, maxMs: 100_000 });
}, 1500);

test('a check after it is not blamed for it', async () => {
  await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
});

test.concurrent('a check in a test jest starts before its hooks is refused, saying so', async () => {
  expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).toThrow(UnscopedCheckError);
  expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).toThrow(/starts outside the tests nodeleak's jest hooks run around/);
  // The matcher throws as it is called, so a test that does not await it fails too.
  expect(() => expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 })).toThrow(UnscopedCheckError);
});
