// Run by test/runners.test.ts through vitest, in a fork of its own: a file that does not load nodeleak/vitest, whose
// checks are refused when they start, so a test that does not await one fails instead of passing before the verdict.
import { expect, test } from 'vitest';
import { UnscopedCheckError, checkLeak } from 'nodeleak';

const kept: number[][] = [];
const leak = (): number => kept.push(new Array(128).fill(0));

test('without the hooks, a check the test does not await fails the test', async () => {
  void checkLeak(leak, { verbosity: 0 });
});

test('without the hooks, the call that starts a check throws, naming the hooks', () => {
  expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).toThrow(UnscopedCheckError);
  expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).toThrow("import 'nodeleak/vitest'");
});
