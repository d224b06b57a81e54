// Real time and real turns of the event loop for the harness, taken when nodeleak is loaded. Test runners' fake timers
// (jest's and vitest's, sinon's: all @sinonjs/fake-timers) replace the global timers, `performance.now()` and `Date`
// while a test runs, and recent versions the exports of node:timers, node:timers/promises and node:perf_hooks as well.
// A check must still turn the event loop (N-API finalizers run there) and keep its time budget, so it never looks
// these up when it runs.
import { performance } from 'node:perf_hooks';
import timers from 'node:timers';

const setImmediate = timers.setImmediate;
const setTimeout = timers.setTimeout;
const clearTimeout = timers.clearTimeout;
// Fake timers install an own `now` on the performance object; Node's own is its class's.
const prototypeNow = (Object.getPrototypeOf(performance) as { now?: unknown }).now;
const performanceNow = (typeof prototypeNow === 'function' ? prototypeNow : performance.now).bind(performance) as () => number;

/** Whether `fn` is a fake: @sinonjs/fake-timers marks each with its clock; jest's legacy fake timers are mock functions. */
function isFake(fn: unknown): boolean {
  const marks = fn as { clock?: unknown; _isMockFunction?: unknown };
  return typeof fn === 'function' && (marks.clock !== undefined || marks._isMockFunction === true);
}

/**
 * The timers that were already fake when nodeleak was loaded (fake timers installed before it was imported): nodeleak
 * has no real one to take then. Empty in every other case.
 */
export const fakedAtLoad: readonly string[] = Object.entries({ setImmediate, setTimeout, clearTimeout })
  .filter(([, fn]) => isFake(fn))
  .map(([name]) => name);

/** Monotonic time, ms: Node's own performance.now(), whatever replaced it since. */
export function now(): number {
  return performanceNow();
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets the event loop turn once: N-API finalizers and settled promises run here, not during a collection. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The longest delay setTimeout() takes: a longer one fires after 1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Calls `fn` after `ms` of real time unless stopped (with `keepAlive` false, only if the process is still alive then). Returns the stopper. */
export function timer(fn: () => void, ms: number, keepAlive: boolean): () => void {
  const handle = setTimeout(fn, Math.min(ms, MAX_DELAY_MS));
  if (!keepAlive) handle.unref();
  return () => clearTimeout(handle);
}
