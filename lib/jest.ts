// nodeleak/jest: requiring or importing it (in a test file, or a `setupFilesAfterEnv` entry) registers
// `expect(fn).toLeakMemory(options)` on jest's expect, and the hooks that give each test a test scope;
// `await expect(fn).not.toLeakMemory()` passes when fn was measured and does not leak.
// The augmentation below needs 'expect' (jest's own package) resolved in this file.
import type {} from 'expect';
import type { AssertionOptions } from './assertion';
import { toLeakMemory } from './assertion';
import { scopeEachTest } from './in-flight';
import { jestCircusState } from './runner';

interface JestExpect {
  extend(matchers: Record<string, (this: unknown, received: unknown, ...args: never[]) => unknown>): void;
}

/** jest's expect: the global one jest injects, else @jest/globals' (with `injectGlobals: false`). */
function jestExpect(): JestExpect {
  const global = (globalThis as { expect?: JestExpect }).expect;
  if (global && typeof global.extend === 'function') return global;
  // Loaded only here: jest is an optional peer, and its package only matters with injectGlobals: false.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@jest/globals') as { expect: JestExpect }).expect;
}

jestExpect().extend({
  toLeakMemory(received: unknown, options?: AssertionOptions) {
    return toLeakMemory(received, options);
  },
});

interface JestHooks {
  beforeEach(fn: () => void): void;
  afterEach(fn: () => Promise<void>): void;
}

/** jest's hooks: the globals jest injects, else @jest/globals' (with `injectGlobals: false`). */
function jestHooks(): JestHooks {
  const global = globalThis as Partial<JestHooks>;
  if (typeof global.beforeEach === 'function' && typeof global.afterEach === 'function') return global as JestHooks;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@jest/globals') as JestHooks;
}

/** What the hooks read of jest-circus's state (runner.ts's jestCircusState()): the running test, its timeout and errors. */
interface CircusState {
  testTimeout?: number;
  currentlyRunningTest?: { timeout?: number; errors?: unknown[] } | null;
}

// Each test runs in a test scope: the test fails with UnawaitedCheckError when a check it started was still running
// at its end (jest would report it passed, and the check's verdict would come after). A check takes its default time
// budget from the test's timeout, as jest-circus applies it (the test's own, else testTimeout); where jest keeps no
// such state, it takes none, and the error allows that the timeout ended the test.
const hooks = jestHooks();
// Hooks without parameters: jest passes a `done` callback to a hook that declares one.
scopeEachTest<undefined>(
  (hook) => hooks.beforeEach(() => hook(undefined)),
  (hook) => hooks.afterEach(() => hook(undefined)),
  () => {
    const { currentTestName } = (jestExpect() as unknown as { getState(): { currentTestName?: string } }).getState();
    const title = currentTestName ?? 'a jest test';
    const state = jestCircusState() as CircusState | null;
    const test = state?.currentlyRunningTest;
    if (!state || !test) return { title, timeout: () => 0 };
    return {
      title,
      timeout: () => test.timeout || state.testTimeout || 0,
      failed: Array.isArray(test.errors) ? test.errors.length > 0 : undefined,
    };
  },
);

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>> {
    /** Runs checkLeak (or, with `throws`, checkLeakThrows) on the function; async: await it. */
    toLeakMemory(options?: AssertionOptions): Promise<R>;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      /** Runs checkLeak (or, with `throws`, checkLeakThrows) on the function; async: await it. */
      toLeakMemory(options?: AssertionOptions): Promise<R>;
    }
  }
}
