// nodeleak/mocha: root hooks for mocha (`--require nodeleak/mocha`; `npx nodeleak` loads them itself). Each test runs
// in a test scope: a check it starts takes its default time budget from the test's timeout, is stopped before the
// timeout ends, and fails the test when the test did not await it.
import { trackWorkers } from './checkers';
import { abandonTestScope, markMochaHooksRan, runInTestScope } from './in-flight';

// Worker threads are counted from their creation on; these hooks load before the test files, so a worker started while
// they load (esbuild's, which tsx starts on a cold cache to compile them) is counted too, and a check names it.
trackWorkers();

/** What the hooks use of mocha's Test; structural, so mocha stays an optional peer. */
interface MochaTest {
  fn?: (this: unknown, ...args: unknown[]) => unknown;
  /** Truthy when the test takes a `done` callback. */
  async?: unknown;
  timeout(): number;
  fullTitle(): string;
}

const wrappedTests = new WeakSet<object>();

/**
 * Runs a promise-returning or synchronous test inside a test scope. Tests that take a `done` callback are left as
 * they are: their end is mocha's callback, not a promise (the exit report still covers their checks).
 */
function wrap(test: MochaTest): void {
  const original = test.fn;
  if (typeof original !== 'function' || test.async || wrappedTests.has(original)) return;
  const title = test.fullTitle();
  const wrapped = function (this: unknown): Promise<void> {
    return runInTestScope(title, () => test.timeout(), () => original.call(this));
  };
  wrapped.toString = () => original.toString();
  wrappedTests.add(wrapped);
  test.fn = wrapped;
}

export const mochaHooks = {
  /** Before every test of the run (of the file, under --parallel): checks outside a test scope are allowed from here. */
  beforeAll(): void {
    markMochaHooksRan();
  },
  beforeEach(this: { currentTest?: MochaTest }): void {
    if (this.currentTest) wrap(this.currentTest);
  },
  /** A test mocha timed out may still have a check calling: stop it before the next test. */
  afterEach(): Promise<void> {
    return abandonTestScope();
  },
};
