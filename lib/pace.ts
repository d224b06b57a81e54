// How a check calls the function under test: in batches, timed, within the check's time budget, stopped by its signal,
// each promise the function returns awaited, sync calls kept sync.
import * as clock from './clock';
import { CheckAbortedError } from './errors';
import { MIN_STOP_MARGIN_MS } from './in-flight';
import { collectBetweenCalls, countGlobalHandles, neverOptimize } from './measure';
import { refuseGeneratorResult } from './options';

/** Whether `value` is a promise or another thenable: a call that returned one is awaited. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** One call of the function under test, as the check makes it. */
export type Invoke = () => unknown;

/** Slices of a batch of calls whose fastest time per call is the function's pace. */
const PACE_SLICES = 5;

/**
 * One check's clock and stop signal; every phase calls the function through it. It stops calling at once when the
 * signal is aborted (CheckAbortedError), and early, returning the calls made, when what is left of the time budget is
 * the settled read that ends them.
 */
export class Pace {
  /** Calls made so far, every phase. */
  calls = 0;
  /** Wall time of one call, from the latest calls made. */
  msPerCall: number | undefined;
  /** Wall time of one settled read, from the latest one. */
  settleMs = 0;
  /**
   * Bytes of V8's global handles the latest batch of calls that counted them made and left (countGlobalHandles());
   * null when it did not count them, or a call of it returned a promise, whose awaiting makes handles of the harness's
   * own.
   */
  handlesLeft: number | null = null;
  /** clock.now() when the check started. */
  readonly started = clock.now();
  /** clock.now() at which the time budget ends; Infinity without one. */
  readonly deadline: number;
  /** Rejects the promise untilSettled() last returned (a no-op once it has settled), and what it waits for. */
  #stopWaiting: ((error: CheckAbortedError) => void) | null = null;
  #awaited: number | 'trimCallback' = 0;
  /** The signal's aborted, as of its abort event (dispatched within abort()): cheaper to read between calls. */
  #aborted: boolean;
  // A call pending when the check is stopped gets a little time to settle, so that a slow one is not left running
  // into tearDown; never longer than a test scope stops its checks before the test's timeout.
  readonly #onAbort = (): void => {
    this.#aborted = true;
    clock.timer(() => this.#stop(this.signal.reason), MIN_STOP_MARGIN_MS, true);
  };
  readonly #disarm: (() => void) | null;
  /** Why the check gives up on the user's code pending from now on, once its watchdog has fired (see constructor). */
  #gaveUp: string | null = null;

  /** Armed for the whole check, so that no phase opens or closes a handle of its own (the resource check counts them). */
  constructor(
    readonly label: string,
    readonly signal: AbortSignal,
    /** The time budget, ms; Infinity without one. */
    readonly budgetMs: number,
  ) {
    this.deadline = this.started + budgetMs;
    this.#aborted = signal.aborted;
    signal.addEventListener('abort', this.#onAbort);
    // What is pending when the budget ends is awaited for as long again: a slow call ends the calls as the budget does.
    const budget = Math.round(budgetMs);
    const gaveUp = `its time budget of ${budget} ms ended, and what was pending then was awaited ${budget} ms more`;
    const giveUp = (): void => {
      this.#gaveUp = gaveUp;
      this.#stop(gaveUp);
    };
    // Kept alive: a check awaiting a promise that never settles would otherwise end with the process, unexplained.
    this.#disarm = budgetMs === Infinity ? null : clock.timer(giveUp, 2 * budgetMs, true);
  }

  /** Ends the check's watch over its calls. */
  dispose(): void {
    this.signal.removeEventListener('abort', this.#onAbort);
    this.#disarm?.();
  }

  /** Bound, as settled reads call it on every turn: a check stopped mid-settle ends there. */
  readonly throwIfAborted = (): void => {
    if (this.signal.aborted) throw new CheckAbortedError(this.label, this.calls, this.signal.reason);
  };

  /**
   * Calls `invoke` up to n times, one after the other, awaiting each promise it returns; sync calls stay sync. The
   * pace is the fastest of PACE_SLICES slices of the calls: a function's first calls include its lazy start-up, and run
   * before V8 has compiled it, for tens of calls in a plain process (its compiler works on a background thread); a
   * slice is slower than the pace to come when it holds those, or a collection, and not faster. With `collectEvery`,
   * collectBetweenCalls() follows every that many calls (see checkMemory()).
   */
  async call(invoke: Invoke, n: number, collectEvery = Infinity, countHandles = false): Promise<number> {
    const sliceCalls = Math.max(1, Math.floor(n / PACE_SLICES));
    const sliceMs: number[] = [];
    let sliceStarted = clock.now();
    let made = 0;
    let awaited = false;
    // V8 does not optimize this loop (see keepCallLoopUnoptimized()), so an iteration does no more than it must: the
    // budget is read once, the next collection and slice end are counted to, not found by division, and the stop signal
    // is seen through its abort event.
    const { deadline } = this;
    let collectAt = collectEvery;
    let sliceEnd = sliceCalls;
    const handles = countHandles ? countGlobalHandles() : null;
    let handlesMade: number | null;
    try {
      while (made < n) {
        if (this.#aborted) this.throwIfAborted();
        // The settled read that ends the calls must fit too: the budget bounds the whole check.
        if (deadline !== Infinity && clock.now() + this.settleMs >= deadline) break;
        // Only between calls: a round cut here by the budget goes straight to its settled read.
        if (made === collectAt) {
          await collectBetweenCalls();
          this.throwIfAborted();
          collectAt = collectAt + collectEvery;
        }
        const result = invoke();
        if (this.calls === 0) refuseGeneratorResult(this.label, 'fn', result);
        if (result !== undefined && isThenable(result)) {
          awaited = true;
          await this.untilSettled(result, this.calls + 1);
        }
        made = made + 1;
        this.calls = this.calls + 1;
        if (made === sliceEnd) {
          const now = clock.now();
          sliceMs.push((now - sliceStarted) / sliceCalls);
          sliceStarted = now;
          sliceEnd = sliceEnd + sliceCalls;
        }
      }
    } finally {
      handlesMade = handles ? handles.stop() : null; // a stopped check or a throwing call ends the count too
    }
    // A lone call (the resource check's) may be slower than the function's usual pace: it does not replace a batch's.
    if (made > 1 || (made === 1 && this.msPerCall === undefined)) {
      this.msPerCall = sliceMs.length > 0 ? Math.min(...sliceMs) : (clock.now() - sliceStarted) / made;
    }
    this.handlesLeft = awaited || made === 0 ? null : handlesMade;
    return made;
  }

  /**
   * The promise of the user's code (`what`: the number of a call, or 'trimCallback'); or a rejection with
   * CheckAbortedError when it is still pending MIN_STOP_MARGIN_MS after the check is stopped (its signal aborts), or as
   * long after the time budget ended as the budget itself: code that never settles must not hold the check, and with
   * it every check after it, for ever. The code itself is left pending.
   */
  untilSettled(result: PromiseLike<unknown>, what: number | 'trimCallback'): Promise<unknown> {
    this.#awaited = what;
    // As little as can be per call: what the harness allocates around each call is measured with the function (an
    // async wrapper here moved some functions' verdicts by thousands of calls; docs/benchmarks.md).
    const settled = new Promise((resolve, reject) => {
      this.#stopWaiting = reject;
      result.then(resolve, reject);
    });
    // Code that starts after the watchdog fired (a read's trimCallback) gets a budget's time of its own.
    const gaveUp = this.#gaveUp;
    if (gaveUp === null) return settled;
    const disarm = clock.timer(() => this.#stop(gaveUp), this.budgetMs, true);
    return settled.finally(disarm);
  }

  /** Stops waiting for what untilSettled() waits for, if it is still pending. */
  #stop(reason: unknown): void {
    const what = this.#awaited;
    this.#stopWaiting?.(new CheckAbortedError(this.label, this.calls, reason, typeof what === 'number' ? `call ${what}` : what));
  }

  /** The user's trimCallback, awaited through untilSettled(). */
  trimCallback(trimCallback: (() => void | Promise<void>) | undefined): (() => Promise<void>) | undefined {
    if (!trimCallback) return undefined;
    return async () => {
      const result = trimCallback();
      refuseGeneratorResult(this.label, 'trimCallback', result);
      if (isThenable(result)) await this.untilSettled(result, 'trimCallback');
    };
  }

  /** Whether `calls` more calls and one settled read fit in what is left of the time budget. */
  fits(calls: number): boolean {
    if (this.deadline === Infinity) return true;
    return clock.now() + calls * (this.msPerCall ?? 0) + this.settleMs <= this.deadline;
  }

  async settled<T>(read: () => Promise<T>): Promise<T> {
    const started = clock.now();
    const value = await read();
    this.settleMs = clock.now() - started;
    this.throwIfAborted();
    return value;
  }
}

/**
 * The call loop gets hot in every check. A quiet process compiles on its only thread, so the compile would stop a later
 * check for as long as it takes, and the next check, with objects of its own, throws the compiled code away.
 */
export function keepCallLoopUnoptimized(): void {
  neverOptimize(Pace.prototype.call);
}
