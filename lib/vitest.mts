// nodeleak/vitest: importing it (in a test file, or a `setupFiles` entry) registers `expect(fn).toLeakMemory(options)`
// on vitest's expect, and the hooks that give each test a test scope; `await expect(fn).not.toLeakMemory()` passes
// when fn was measured and does not leak.
// quietForks() is the part of the vitest config that runs test files in quiet processes.
import { type TestContext, beforeEach, expect } from 'vitest';
import type { AssertionOptions } from './assertion.js';
import { toLeakMemory } from './assertion.js';
import { scopeEachTest } from './in-flight.js';
import { QUIET_NODE_FLAGS, quietEnvironment } from './quiet.js';
import { runnerRunningHere } from './runner.js';

expect.extend({
  toLeakMemory(received: unknown, options?: AssertionOptions) {
    return toLeakMemory(received, options);
  },
});

// Each test runs in a test scope, as under nodeleak/mocha: a check it starts takes its default time budget from the
// test's timeout and is stopped before it ends, and the test fails with UnawaitedCheckError when a check it started
// was still running at its end (vitest's own report would be green, the fork gone before the check's verdict).
// Only in vitest's workers: the config file imports this module too, outside any test file. The scope closes in
// onTestFinished, after every afterEach hook: vitest skips the afterEach hooks after one that throws, and a scope left
// open would make the next test one run beside it.
if (runnerRunningHere() === 'vitest') {
  scopeEachTest<TestContext>(
    (hook) => beforeEach(hook),
    (hook) => beforeEach((context) => context.onTestFinished(() => hook(context))),
    ({ task }) => ({ title: task.fullName ?? task.name, timeout: () => task.timeout ?? 0, failed: task.result?.state === 'fail' }),
  );
}

/**
 * Vitest settings that run every test file in a quiet process of its own: the forks pool (processes, never worker
 * threads, which would share the process a check measures), each fork started with the quiet Node flags and
 * environment (GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0, MALLOC_CONF=tcache:false).
 * Spread it into `test` (vitest 4 and 5): `test: { ...quietForks() }`.
 */
export function quietForks(): { pool: 'forks'; execArgv: string[]; env: Record<string, string> } {
  return { pool: 'forks', execArgv: [...QUIET_NODE_FLAGS], env: quietEnvironment(process.env) };
}

interface NodeleakMatchers<R = unknown> {
  /** Runs checkLeak (or, with `throws`, checkLeakThrows) on the function; async: await it. */
  toLeakMemory(options?: AssertionOptions): Promise<R>;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends NodeleakMatchers<T> {}
}
