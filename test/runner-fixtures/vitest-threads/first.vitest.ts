// Run by test/runners.test.ts in vitest's threads pool: a clean check that takes a while (at most 8 s: a worker
// thread there runs without the quiet flags, so an inconclusive end is accepted; the point is the guard).
import { expect, test } from 'vitest';
import 'nodeleak/vitest';

test('a clean check in a worker thread', async () => {
  await expect(() => new Promise((resolve) => setTimeout(resolve, 1))).not.toLeakMemory({ verbosity: 1, maxMs: 8000, allowInconclusive: true });
});
