// Every check started in this process, until someone has seen how it ended: the one-check-at-a-time guard, the test
// scopes that fail a test whose check it did not await, and the exit report for runners that have neither.
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { NativeProbe } from './binding';
import { binding } from './binding';
import { liveWorkerCount, trackWorkers } from './checkers';
import * as clock from './clock';
import { ConcurrentCheckError, NodeleakError, UnawaitedCheckError } from './errors';
import type { AbortSignalLike } from './options';
import { detectRunner, hooksAdvice, timeoutAdvice } from './runner';

type State = 'running' | 'passed' | 'failed';

interface CheckRecord {
  readonly label: string;
  /** `file:line:column` of the call that started the check, outside nodeleak. */
  readonly site: string;
  state: State;
  error?: unknown;
  /** Something called then() on the promise the user got: its outcome reached the user's code. */
  observed: boolean;
  readonly controller: AbortController;
  /** Resolves once the check has stopped calling the function, whatever its outcome. */
  readonly stopped: Promise<void>;
  readonly scope: TestScope | null;
}

/** A test in progress (MemoryLeakTestCase's, or one under nodeleak's runner hooks): the checks it starts belong to it. */
interface TestScope {
  readonly title: string;
  /** The test's timeout now, ms (0: none); read when a check starts, as a test may set it in its body. */
  readonly timeout: () => number;
  /** clock.now() when the test started: its timeout counts from here. */
  readonly startedAt: number;
  /** Disarms the timer that stops the scope's checks shortly before the timeout (armed when a check starts). */
  stopTimer: (() => void) | null;
  readonly records: CheckRecord[];
  /**
   * Another test began while this one ran (a runner that runs tests at once): checks started from then on belong to
   * no scope, as nothing tells whose they are.
   */
  overlapped: boolean;
  /** The scope of the test this one runs inside (a node:test subtest), open again once this one ends (absent in an
   * older copy's scopes). */
  readonly parent?: TestScope | null;
}

/**
 * The state every copy of nodeleak in this thread shares (dist/ beside lib/ under ts loaders, or two installed
 * versions): the hooks of one copy must see the checks another starts.
 */
interface Shared {
  /** Checks that are running, or that ended outside a test scope without anyone seeing how. */
  records: Set<CheckRecord>;
  scope: TestScope | null;
  exitReportInstalled: boolean;
  /** Tests between their runner hooks' enterTestScope() and leaveTestScope() (absent in an older copy's state). */
  hookTests?: number;
  /** nodeleak/mocha's root hooks have run in this process: mocha loaded them as a root hook plugin. */
  mochaHooksRan?: boolean;
  /** scopeEachTest() registered a runner's hooks here (vitest, jest, node:test). */
  hooksRegistered?: boolean;
}
const shared: Shared = ((globalThis as Record<symbol, Shared | undefined>)[Symbol.for('nodeleak.in-flight.v1')] ??= {
  records: new Set(),
  scope: null,
  exitReportInstalled: false,
});
const { records } = shared;
/** The record of the check a promise stands for, on every promise CheckPromise.watching() makes. */
const RECORD = Symbol.for('nodeleak.check-record.v1');

/**
 * The promise checkLeak() returns. It marks its check as observed when anything calls then() on it (await, return
 * from an async function, Promise.all, chai): a native promise would be awaited without a visible then() call.
 */
class CheckPromise<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  declare [RECORD]: CheckRecord | undefined;

  /** `promise.then(onFulfilled, onRejected)` as a promise that stands for the same check, without observing it. */
  static derive<T, A>(promise: Promise<T>, onFulfilled: (value: T) => A, onRejected: (reason: unknown) => A): Promise<A> {
    const next = Promise.prototype.then.call(promise, onFulfilled, onRejected) as Promise<A>;
    const record = (promise as { [RECORD]?: CheckRecord })[RECORD];
    return record ? CheckPromise.watching(record, next) : next;
  }

  static watching<T>(record: CheckRecord, outcome: Promise<T>): CheckPromise<T> {
    const promise = new CheckPromise<T>((resolve, reject) => {
      outcome.then(resolve, reject);
    });
    Object.defineProperty(promise, RECORD, { value: record });
    // Handled here, so an unawaited failure is never an unhandledRejection that a runner pins on whichever test is
    // running by then: the test scope or the exit report names it instead.
    Promise.prototype.then.call(promise, undefined, () => {});
    return promise;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const record = this[RECORD];
    if (record) {
      record.observed = true;
      forgetIfDone(record);
    }
    return super.then(onFulfilled, onRejected);
  }
}

function forgetIfDone(record: CheckRecord): void {
  if (record.state !== 'running' && record.observed && record.scope === null) records.delete(record);
}

/** nodeleak's own code: this folder, and its twin (lib/ and dist/ both load under ts loaders). */
const ownDirectories = new Set([__dirname, path.join(__dirname, '..', 'lib'), path.join(__dirname, '..', 'dist')]);

/** The frames of the current stack outside nodeleak's own files, as the stack's own `    at …` lines. */
function callerFrames(): string[] {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  // Read-only under `node --frozen-intrinsics`: the stack is then as deep as the process's limit.
  const deeper = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')?.writable === true;
  if (deeper) Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder, callerFrames);
  if (deeper) Error.stackTraceLimit = limit;
  return (holder.stack ?? '').split('\n').slice(1).filter((line) => {
    const file = frameFile(line);
    return file === null || !ownDirectories.has(path.dirname(file));
  });
}

function frameFile(line: string): string | null {
  const location = /\(?((?:file:\/\/)?[^\s()]+:\d+:\d+)\)?$/.exec(line.trim())?.[1];
  return location ? location.replace(/^file:\/\//, '').replace(/:\d+:\d+$/, '') : null;
}

/**
 * The first frame in the user's code, as `file:line:column`: not nodeleak's own files, not Node's, nor a package under
 * node_modules (chai's assertion wrappers).
 */
function callSite(frames: readonly string[]): string {
  for (const line of frames) {
    const file = frameFile(line);
    if (file === null || file.startsWith('node:') || file.split(/[\\/]/).includes('node_modules')) continue;
    return /\(?((?:file:\/\/)?[^\s()]+:\d+:\d+)\)?$/.exec(line.trim())?.[1] ?? '';
  }
  return '';
}

/** Gives an error nodeleak made the stack of the call that started the check: it points at the user's test. */
function restack(err: unknown, frames: readonly string[]): void {
  if (!(err instanceof NodeleakError) || frames.length === 0) return;
  Object.defineProperty(err, 'stack', { value: `${err.name}: ${err.message}\n${frames.join('\n')}`, writable: true, configurable: true });
}

function probeOrNull(): NativeProbe | null {
  try {
    return binding();
  } catch {
    return null; // no probe: the guard covers this thread only (a check that judges the C heap refuses anyway)
  }
}

function unresolvedAtExit(): CheckRecord[] {
  return [...records].filter((record) => record.state === 'running' || (record.state === 'failed' && !record.observed));
}

function reportAtExit(): void {
  const left = unresolvedAtExit();
  if (left.length === 0) return;
  for (const record of left) {
    const where = record.site ? ` (started at ${record.site})` : '';
    const what = record.state === 'running' ? 'was still running when the process exited' : 'failed, and nothing awaited it';
    const found = record.error instanceof Error ? `: ${record.error.message.split('\n')[0]}` : '';
    process.stderr.write(`nodeleak: the check of ${record.label}${where} ${what}${found}\n`);
  }
  process.stderr.write('nodeleak: await every check (or return it from the test); the exit code says the run failed.\n');
  if (!process.exitCode) process.exitCode = 1;
}

/**
 * Sets a failing exit code when the process ends with a check running or failed unseen. Runners set their own exit
 * code in an 'exit' listener of their own (mocha does, after its run): when the event loop empties, this listener
 * moves behind theirs, so it has the last word.
 */
function installExitReport(): void {
  if (shared.exitReportInstalled) return;
  shared.exitReportInstalled = true;
  process.on('exit', reportAtExit);
  process.on('beforeExit', () => {
    process.off('exit', reportAtExit);
    process.on('exit', reportAtExit);
  });
}

/** Whether JavaScript may be running in another thread of this process while a check measures it. */
function otherThreadsRunJs(probe: NativeProbe | null): string | null {
  if (!isMainThread) return 'this check runs in a worker thread, beside the main thread';
  const workers = liveWorkerCount();
  if (workers > 0) return `${workers} worker thread${workers === 1 ? ' is' : 's are'} running`;
  const environments = probe?.loadedEnvironments() ?? 1;
  if (environments > 1) return `${environments - 1} other thread${environments === 2 ? ' has' : 's have'} loaded nodeleak`;
  return null;
}

export interface StartedCheck {
  /** Aborted by the user's signal, or by the test scope when the test ends or its time runs out. */
  readonly signal: AbortSignal;
  /** What is left of the test scope's default time budget, ms. */
  readonly defaultMaxMs: number | undefined;
  /** The title of the test that started the check, when a test scope holds it. */
  readonly testTitle: string | undefined;
}

/**
 * Runs one check: takes the process-wide guard (or rejects with ConcurrentCheckError), links the user's signal and
 * the test scope's, and returns a promise that records whether its outcome was seen.
 * `onConcurrentThreads` is called once with a sentence when other threads of the process may be running JavaScript.
 */
export function startCheck<T>(
  label: string,
  userSignal: AbortSignalLike | undefined,
  onConcurrentThreads: (why: string) => void,
  run: (started: StartedCheck) => Promise<T>,
): Promise<T> {
  installExitReport();
  trackWorkers();
  const frames = callerFrames();
  const site = callSite(frames);
  const controller = new AbortController();
  const owner = currentScope();
  let stop: () => void = () => {};
  const record: CheckRecord = {
    label,
    site,
    state: 'running',
    observed: false,
    controller,
    stopped: new Promise<void>((resolve) => (stop = resolve)),
    scope: owner,
  };
  const outcome = (async (): Promise<T> => {
    const sameThread = [...records].find((other) => other.state === 'running');
    if (sameThread) {
      const where = sameThread.site ? ` (started at ${sameThread.site})` : '';
      throw new ConcurrentCheckError(label, `${sameThread.label}${where}`, false, hooksAdvice(detectRunner() ?? 'mocha'));
    }
    const probe = probeOrNull();
    const holder = probe?.acquireCheck(label) ?? null;
    if (holder !== null) throw new ConcurrentCheckError(label, holder, true);
    const onUserAbort = (): void => controller.abort(userSignal?.reason);
    try {
      if (userSignal?.aborted) onUserAbort();
      else userSignal?.addEventListener('abort', onUserAbort, { once: true });
      const others = otherThreadsRunJs(probe);
      if (others) onConcurrentThreads(others);
      return await run({ signal: controller.signal, defaultMaxMs: owner ? armScope(owner) : undefined, testTitle: owner?.title });
    } finally {
      userSignal?.removeEventListener('abort', onUserAbort);
      probe?.releaseCheck();
    }
  })();
  records.add(record);
  owner?.records.push(record);
  outcome.then(
    () => {
      record.state = 'passed';
      stop();
      forgetIfDone(record);
    },
    (err: unknown) => {
      restack(err, frames);
      record.state = 'failed';
      record.error = err;
      stop();
      forgetIfDone(record);
    },
  );
  return CheckPromise.watching(record, outcome);
}

/** `promise.then(onFulfilled, onRejected)` for nodeleak's own wrappers (the chai plugin): the check counts as awaited
 * only when the user's code awaits what this returns. */
export const deriveCheck = CheckPromise.derive;

/** Share of a test's timeout its checks may measure for by default, so they give a verdict before it ends. */
const TIMEOUT_SHARE = 0.8;

/** The least time before a test's timeout at which its checks are stopped. */
export const MIN_STOP_MARGIN_MS = 50;

/** How long before the test's timeout its checks are stopped, so they have stopped calling when mocha moves on. */
function stopMargin(timeoutMs: number): number {
  return Math.min(2000, Math.max(MIN_STOP_MARGIN_MS, timeoutMs * 0.1));
}

/** Why a test scope stopped a check: its time was about to run out. */
function timeUp(title: string, timeoutMs: number): Error {
  return new Error(
    `${title} was about to reach its timeout of ${timeoutMs} ms. Give the test more time ` +
      `(${timeoutAdvice(detectRunner() ?? 'mocha')}) or the check less to do (maxMs, times, retries)`,
  );
}

/**
 * Arms the scope's stop timer for the test's timeout as it is now, and returns what is left of the default time
 * budget of a check starting now, ms (undefined: no timeout). Counting from the test's start is conservative: mocha
 * restarts its countdown when a test sets its timeout, so its real end is never earlier.
 */
function armScope(own: TestScope): number | undefined {
  const timeoutMs = own.timeout();
  own.stopTimer?.();
  own.stopTimer = null;
  if (!(timeoutMs > 0)) return undefined;
  const stopAt = own.startedAt + timeoutMs - stopMargin(timeoutMs);
  own.stopTimer = clock.timer(() => abortAll(own, timeUp(own.title, timeoutMs)), Math.max(0, stopAt - clock.now()), false);
  return Math.max(1, own.startedAt + timeoutMs * TIMEOUT_SHARE - clock.now());
}

/**
 * Opens a test scope for a test that has started inside `parent`'s test (null: inside none), or returns null when
 * another scope is open (the outer one holds).
 */
function openScope(title: string, timeout: () => number, parent: TestScope | null = null): TestScope | null {
  if (shared.scope !== parent) return null;
  const own: TestScope = { title, timeout, startedAt: clock.now(), stopTimer: null, records: [], overlapped: false, parent };
  shared.scope = own;
  return own;
}

/** Hands the current scope back to the test `own` ran inside, once `own`'s test has ended: a test that ran beside
 * `own` may still run beside that one. */
function reopenParent(own: TestScope): void {
  if (shared.scope !== own) return;
  shared.scope = own.parent ?? null;
  if (own.parent && own.overlapped) own.parent.overlapped = true;
}

/** How many tests `own`'s test runs inside, itself included. */
function depth(own: TestScope): number {
  return own.parent ? 1 + depth(own.parent) : 1;
}

/** The scope a check started now belongs to: the open one, unless another test began beside it. */
function currentScope(): TestScope | null {
  const own = shared.scope;
  return own !== null && own.overlapped !== true ? own : null;
}

/**
 * Closes a test scope once its test has ended: stops the checks still running and waits until they have stopped
 * calling. Then rejects with `failure` when the test failed, else with UnawaitedCheckError for a check the test did
 * not await: one still running when it ended, or one whose promise nothing awaited, even if the check passed.
 */
async function closeScope(own: TestScope, failure: { error: unknown } | null, timeoutUnknown: boolean): Promise<void> {
  reopenParent(own); // abandonTestScope() may have closed it already
  const running = own.records.filter((record) => record.state === 'running');
  await stopChecks(own, `${own.title} ended without awaiting it`);
  if (failure) throw failure.error;
  const unseen = own.records.find((record) => running.includes(record) || !record.observed);
  if (unseen) {
    const state = running.includes(unseen) ? 'running' : unseen.state;
    throw new UnawaitedCheckError(own.title, unseen.label, unseen.site, state, unseen.error, timeoutUnknown);
  }
}

/**
 * Runs one test's body so that the checks it starts belong to it: they take their default time budget from the
 * test's timeout, are stopped shortly before it ends, and have stopped calling the function when this returns.
 * The test fails (this rejects) when a check it started was not awaited, even if the check passed.
 * Nested calls (MemoryLeakTestCase under nodeleak/mocha) run the body inside the outer scope.
 */
export async function runInTestScope(title: string, timeout: () => number, body: () => unknown): Promise<void> {
  const own = openScope(title, timeout);
  if (own === null) {
    await body();
    return;
  }
  let failure: { error: unknown } | null = null;
  try {
    await body();
  } catch (error) {
    failure = { error };
  }
  await closeScope(own, failure, false);
}

/** Records that nodeleak/mocha's root hooks run in this process (its beforeAll root hook). */
export function markMochaHooksRan(): void {
  shared.mochaHooksRan = true;
}

/** Whether nodeleak/mocha's root hooks run in this process. */
export function mochaHooksRan(): boolean {
  return shared.mochaHooksRan === true;
}

/** Whether scopeEachTest() registered a runner's hooks (vitest, jest, node:test) in this process. */
export function runnerHooksRegistered(): boolean {
  return shared.hooksRegistered === true;
}

/** Whether a test is between its runner hooks' enterTestScope() and leaveTestScope() now (vitest, jest, node:test). */
export function testBetweenHooks(): boolean {
  return (shared.hookTests ?? 0) > 0;
}

/** Whether a test scope is open: a check started now belongs to a test that fails if it does not await it. */
export function inTestScope(): boolean {
  return currentScope() !== null;
}

/** A test scope a runner's beforeEach hook opened (enterTestScope()), for its afterEach hook to close. */
export type HookScope = TestScope | null;

/**
 * For runners whose test bodies nodeleak cannot wrap (vitest, jest, node:test): opens a test scope in a beforeEach
 * hook, as runInTestScope() does around a body; every call is paired with one of leaveTestScope(). A test that begins
 * inside the test whose scope is open (`within`, that test's title: a node:test subtest), with no other test between
 * the hooks, gets a scope of its own, and its parent's is current again once it ends. Any other test that begins while
 * another is between the two runs at once with it: a scope open then keeps only the checks its test started before, no
 * check belongs to a scope until every such test has left, and this returns null. `timeout` says the test's timeout,
 * ms, 0 when unknown: its checks then take no default time budget from it.
 */
export function enterTestScope(title: string, timeout: () => number, within?: string): HookScope {
  const others = shared.hookTests ?? 0;
  shared.hookTests = others + 1;
  const open = shared.scope;
  if (open !== null && !open.overlapped && within !== undefined && open.title === within && others === depth(open)) {
    return openScope(title, timeout, open);
  }
  if (others > 0 || open !== null) {
    if (open !== null) open.overlapped = true;
    return null;
  }
  return openScope(title, timeout);
}

/**
 * Closes what enterTestScope() opened, in the test's afterEach hook: rejects with UnawaitedCheckError (failing the
 * test) as runInTestScope() does. `testFailed`: the runner failed the test already (its timeout, say), so its checks
 * are only stopped; undefined when the runner does not say, and a check running at the end may then have been awaited
 * by a test whose timeout ended first, which the error says.
 */
export async function leaveTestScope(own: HookScope, testFailed: boolean | undefined): Promise<void> {
  shared.hookTests = Math.max(0, (shared.hookTests ?? 1) - 1);
  if (own === null) return;
  if (testFailed === true) {
    if (shared.scope === own) await abandonTestScope();
    return;
  }
  await closeScope(own, null, testFailed === undefined);
}

/** What a runner's hooks say of the test they run around. */
export interface HookedTest {
  title: string;
  /** The title of the test this one runs inside (a node:test subtest's parent), where the runner tells it. */
  within?: string;
  /** The test's timeout, ms; 0 when the runner does not tell it. */
  timeout: () => number;
  /** Whether the runner failed the test already (afterEach only); undefined when it does not tell. */
  failed?: boolean;
}

/**
 * Gives each test a test scope through a runner's beforeEach and afterEach hooks (vitest, jest, node:test). Each test's
 * scope is kept by the context its hooks receive (a runner that passes none, jest, runs its hooks one test at a time).
 */
export function scopeEachTest<Context>(
  beforeEach: (hook: (context: Context) => void) => void,
  afterEach: (hook: (context: Context) => Promise<void>) => void,
  describeTest: (context: Context) => HookedTest,
): void {
  shared.hooksRegistered = true;
  const scopes = new Map<Context, HookScope>();
  beforeEach((context) => {
    const { title, timeout, within } = describeTest(context);
    scopes.set(context, enterTestScope(title, timeout, within));
  });
  afterEach(async (context) => {
    const own = scopes.get(context) ?? null;
    scopes.delete(context);
    await leaveTestScope(own, describeTest(context).failed);
  });
}

/**
 * Closes the test scope a test left open because the runner moved on without it (mocha's own timeout fired while the
 * body awaited something else): stops its checks and waits until they have stopped calling. The runner has failed
 * that test already.
 */
export async function abandonTestScope(): Promise<void> {
  const own = shared.scope;
  if (own === null) return;
  reopenParent(own);
  await stopChecks(own, `${own.title} ended (its runner moved on) while the check was running`);
}

/** Marks the reasons a scope stops checks with once their test has ended, and been failed (closeScope, abandon). */
const TEST_ENDED = Symbol.for('nodeleak.test-ended.v1');

function testEnded(message: string): Error {
  return Object.defineProperty(new Error(message), TEST_ENDED, { value: true });
}

/**
 * Whether `err` is a check's CheckAbortedError from its test scope, stopped after its test had ended: the test has
 * failed for it already (UnawaitedCheckError, or the runner's own failure), so nothing is left to report.
 */
export function stoppedAfterItsTest(err: unknown): boolean {
  const cause = err instanceof NodeleakError && err.code === 'NODELEAK_ABORTED' ? err.cause : undefined;
  return typeof cause === 'object' && cause !== null && (cause as { [TEST_ENDED]?: unknown })[TEST_ENDED] === true;
}

/**
 * Stops the checks of a scope whose test has ended (`why`, the reason they are stopped with), and waits until they
 * have stopped calling; the scope then forgets them.
 */
async function stopChecks(own: TestScope, why: string): Promise<void> {
  own.stopTimer?.();
  own.stopTimer = null;
  abortAll(own, testEnded(why));
  await Promise.all(own.records.map((record) => record.stopped));
  for (const record of own.records) records.delete(record);
}

function abortAll(own: TestScope, reason: Error): void {
  for (const record of own.records) if (record.state === 'running') record.controller.abort(reason);
}
