// The vitest config test/runners.test.ts runs: quiet forks from nodeleak's config helper.
import { defineConfig } from 'vitest/config';
import { quietForks } from 'nodeleak/vitest';

export default defineConfig({
  test: { ...quietForks(), include: ['*.vitest.ts'], testTimeout: 60_000 },
});
