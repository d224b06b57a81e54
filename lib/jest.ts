// nodeleak/jest: requiring or importing it (in a test file, or a `setupFilesAfterEnv` entry) registers
// `expect(fn).toLeakMemory(options)` on jest's expect; `await expect(fn).not.toLeakMemory()` passes when fn was
// measured and does not leak.
// The augmentation below needs 'expect' (jest's own package) resolved in this file.
import type {} from 'expect';
import type { AssertionOptions } from './assertion';
import { toLeakMemory } from './assertion';

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
