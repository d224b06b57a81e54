/** The test runner this process runs tests for, read from the variables and arguments each runner sets. */
export type Runner = 'vitest' | 'jest' | 'node-test' | 'mocha';

export function detectRunner(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv): Runner | null {
  if (env.VITEST) return 'vitest';
  if (env.JEST_WORKER_ID) return 'jest';
  if (env.NODE_TEST_CONTEXT) return 'node-test';
  if (argv.some((arg) => /[\\/]mocha([\\/]|$)|[\\/]_mocha$|[\\/]mocha\.js$/.test(arg))) return 'mocha';
  return null;
}

/** The runner's name as its users write it. */
export function runnerName(runner: Runner): string {
  return runner === 'node-test' ? 'node:test' : runner;
}

/**
 * jest-circus's state (the running test, its timeout and errors), kept on the test file's global under a symbol of its
 * own (not registered, so found by its description); null outside a jest test environment.
 */
export function jestCircusState(): object | null {
  const symbol = Object.getOwnPropertySymbols(globalThis).find((candidate) => candidate.description === 'JEST_STATE_SYMBOL');
  const state = symbol ? (globalThis as Record<symbol, unknown>)[symbol] : undefined;
  return typeof state === 'object' && state !== null ? state : null;
}

/**
 * The runner whose tests run in this process, told by its state here rather than by environment variables, which a
 * process started by a test inherits: vitest's worker state, jest-circus's state, node:test's harness (loaded in a
 * process node --test started, or runs). null where none is found (mocha keeps no such state: detectRunner() reads its
 * command line).
 */
export function runnerRunningHere(): Runner | null {
  const worker = (globalThis as { __vitest_worker__?: unknown }).__vitest_worker__;
  if (typeof worker === 'object' && worker !== null) return 'vitest';
  if (jestCircusState() !== null) return 'jest';
  const underNodeTest = process.env.NODE_TEST_CONTEXT !== undefined || process.execArgv.includes('--test');
  const loaded = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (underNodeTest && Array.isArray(loaded) && loaded.includes('NativeModule internal/test_runner/harness')) return 'node-test';
  return null;
}

/** What a message tells a user of each runner: how to load nodeleak's hooks, and how to give a test more time. */
const ADVICE: Record<Runner, { hooks: string; timeout: string }> = {
  vitest: {
    hooks: "import 'nodeleak/vitest' (a setupFiles entry covers every file)",
    timeout: "test()'s timeout option, or testTimeout in the config",
  },
  jest: {
    hooks: "setupFilesAfterEnv: ['nodeleak/jest']",
    timeout: "test()'s third argument, or testTimeout in the config",
  },
  'node-test': {
    hooks: "import 'nodeleak/node-test' at the top of the test file, or run node --test --import nodeleak/node-test",
    timeout: "test()'s timeout option",
  },
  mocha: {
    hooks: '--require nodeleak/mocha (`npx nodeleak` adds it)',
    timeout: "mocha's this.timeout(ms), MemoryLeakTestCase.timeout",
  },
};

/** How to load the hooks that give each test of `runner` a test scope (lib/in-flight.ts). */
export function hooksAdvice(runner: Runner): string {
  return ADVICE[runner].hooks;
}

/** How to give a test of `runner` more time. */
export function timeoutAdvice(runner: Runner): string {
  return ADVICE[runner].timeout;
}
