// vitest's threads pool: test files run in worker threads of one process, so their checks would measure each other.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { pool: 'threads', maxWorkers: 2, fileParallelism: true, include: ['*.vitest.ts'], testTimeout: 60_000 },
});
