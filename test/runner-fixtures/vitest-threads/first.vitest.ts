// Run by test/runners.test.ts in vitest's threads pool: a clean check that takes a while.
import { expect, test } from 'vitest';
import 'nodeleak/vitest';

test('a clean check in a worker thread', async () => {
  await expect(() => new Promise((resolve) => setTimeout(resolve, 1))).not.toLeakMemory({ verbosity: 1 });
});
