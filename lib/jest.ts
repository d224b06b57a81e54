// nodeleak/jest: requiring or importing it (in a test file, or a `setupFilesAfterEnv` entry) registers
// `expect(fn).toLeakMemory(options)` on jest's expect, and the hooks that give each test a test scope;
// `await expect(fn).not.toLeakMemory()` passes when fn was measured and does not leak.
// The augmentation below needs 'expect' (jest's own package) resolved in this file.
import type {} from 'expect';
import type { AssertionOptions } from './assertion';
import { toLeakMemory } from './assertion';
import { scopeEachTest } from './in-flight';

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

// Each test runs in a test scope: the test fails with UnawaitedCheckError when a check it started was still running
// at its end (jest would report it passed, and the check's verdict would come after). jest does not say a test's
// timeout, so its checks take no default time budget from it, and the error allows that the timeout ended the test.
const hooks = jestHooks();
// Hooks without parameters: jest passes a `done` callback to a hook that declares one.
scopeEachTest<undefined>(
  (hook) => hooks.beforeEach(() => hook(undefined)),
  (hook) => hooks.afterEach(() => hook(undefined)),
  () => {
    const { currentTestName } = (jestExpect() as unknown as { getState(): { currentTestName?: string } }).getState();
    return { title: currentTestName ?? 'a jest test', timeout: () => 0 };
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
