/** The test runner this process runs tests for, read from the variables and arguments each runner sets. */
export type Runner = 'vitest' | 'jest' | 'node-test' | 'mocha';

export function detectRunner(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv): Runner | null {
  if (env.VITEST) return 'vitest';
  if (env.JEST_WORKER_ID) return 'jest';
  if (env.NODE_TEST_CONTEXT) return 'node-test';
  if (argv.some((arg) => /[\\/]mocha([\\/]|$)|[\\/]_mocha$|[\\/]mocha\.js$/.test(arg))) return 'mocha';
  return null;
}

/** How to load the hooks that give each test of `runner` a test scope (lib/in-flight.ts). */
export function hooksAdvice(runner: Runner): string {
  switch (runner) {
    case 'vitest':
      return "import 'nodeleak/vitest' (a setupFiles entry covers every file)";
    case 'jest':
      return "setupFilesAfterEnv: ['nodeleak/jest']";
    case 'node-test':
      return "import 'nodeleak/node-test' at the top of the test file, or run node --test --import nodeleak/node-test";
    case 'mocha':
      return 'load nodeleak/mocha (--require nodeleak/mocha), as `npx nodeleak` does';
  }
}

/** How to give a test of `runner` more time. */
export function timeoutAdvice(runner: Runner): string {
  switch (runner) {
    case 'vitest':
      return "test()'s timeout option, or testTimeout in the config";
    case 'jest':
      return "test()'s third argument, or testTimeout in the config";
    case 'node-test':
      return "test()'s timeout option";
    case 'mocha':
      return "mocha's this.timeout(ms), MemoryLeakTestCase.timeout";
  }
}
