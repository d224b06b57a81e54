import { NodeleakError } from './errors';
import type { MetricName } from './decision';
import type { LeakReport, LeakReportBase } from './report';
import type { LeakSite } from './where';
import { formatInconclusive, formatMemoryLeak } from './report';

/** What a leak test found: memory that grows with the calls, or a resource one call left open. */
export class LeakError extends NodeleakError {}

/** The report a failed memory check carries on `err.report`. */
export interface MemoryLeakReport extends LeakReportBase {
  verdict: 'leak';
  /** The metric whose growth decided the verdict. */
  metric: MetricName;
  /** Estimated leak on that metric. */
  bytesPerCall: number;
  /** Growth the leak explains over all measured rounds, bytes. */
  leakedBytes: number;
  /**
   * Whether the growth kept pace while the calls measured tripled past the evidence. false: the budget ended first, so
   * growth that levels off beyond `sustainedBytes` (a cache that size) was not ruled out; the message says how to tell.
   */
  confirmed: boolean;
  /** The growth came in steps that kept coming back to its pace (storage that doubles as it fills), not in every round. */
  inSteps: boolean;
  /** Growth at the leak's rate, bytes, over the last `sustainedCalls` calls measured. */
  sustainedBytes: number;
  sustainedCalls: number;
  /** Under `npx nodeleak --where` (C-heap leaks): the allocation sites holding the leaked bytes, most bytes first. */
  sites?: LeakSite[];
  /** Calls made while profiling for `sites` (after the verdict; not in `calls`). */
  profiledCalls?: number;
  /** Under `npx nodeleak --where`: whether the leak was profiled; false when the C heap did not grow with it (no `sites`). */
  profiled?: boolean;
}

/** Memory grew in proportion to the calls. The message is a table of the rounds. */
export class MemoryLeakError extends LeakError {
  readonly report: MemoryLeakReport;
  readonly metric: MetricName;
  readonly bytesPerCall: number;

  constructor(report: MemoryLeakReport) {
    super('NODELEAK_MEMORY_LEAK', formatMemoryLeak(report));
    this.report = report;
    this.metric = report.metric;
    this.bytesPerCall = report.bytesPerCall;
  }
}

/**
 * The budget (calls or time) ended before every judged metric was bounded: nothing was shown to leak, and nothing was
 * ruled out either. Not a LeakError. `report.undecided` names the metrics left open.
 */
export class InconclusiveError extends NodeleakError {
  readonly report: LeakReport;

  constructor(report: LeakReport, label: string) {
    super('NODELEAK_INCONCLUSIVE', formatInconclusive(report, label));
    this.report = report;
  }
}

/** A file descriptor one call opened is still open; `fds` says which and what it points to. */
export class UnclosedFdError extends LeakError {
  readonly fds: ReadonlyArray<{ fd: number; target: string | null }>;
  readonly count: number;

  constructor(count: number, fds: ReadonlyArray<{ fd: number; target: string | null }>) {
    const named = fds.map(({ fd, target }) => (target === null ? `fd ${fd}` : `fd ${fd} → ${target}`));
    super('NODELEAK_UNCLOSED_FD', `one call left ${plural(count, 'file descriptor')} open${listed(named)}`);
    this.fds = fds;
    this.count = count;
  }
}

/** Windows: one call left more handles open than before it. */
export class UnclosedHandleError extends LeakError {
  readonly count: number;

  constructor(count: number) {
    super('NODELEAK_UNCLOSED_HANDLE', `one call left ${plural(count, 'Windows handle')} open`);
    this.count = count;
  }
}

/** One call left native threads running; `threads` names them where the OS can. */
export class UnclosedNativeThreadError extends LeakError {
  readonly count: number;
  readonly threads: ReadonlyArray<{ tid: number; name: string | null }>;

  constructor(count: number, threads: ReadonlyArray<{ tid: number; name: string | null }>) {
    const named = threads.map(({ tid, name }) => (name === null ? `tid ${tid}` : `tid ${tid} '${name}'`));
    super('NODELEAK_UNCLOSED_THREAD', `one call left ${plural(count, 'native thread')} running${listed(named)}`);
    this.count = count;
    this.threads = threads;
  }
}

/** Windows: one call created heaps (HeapCreate) it did not destroy. */
export class UnclosedHeapError extends LeakError {
  readonly count: number;

  constructor(count: number) {
    super('NODELEAK_UNCLOSED_HEAP', `one call left ${plural(count, 'Windows heap')} not destroyed (HeapCreate without HeapDestroy)`);
    this.count = count;
  }
}

/**
 * One call left libuv handles or requests alive, named as process.getActiveResourcesInfo() names them ('Timeout',
 * 'TCPServerWrap'), or, for unref()'d handles that do not keep the event loop alive, as async_hooks names them
 * ('Timeout', 'TCPSERVERWRAP').
 */
export class UnclosedLibuvResourceError extends LeakError {
  /** e.g. ['Timeout', 'TCPServerWrap'], one entry per resource left. */
  readonly resources: readonly string[];
  /** The resources were unref()'d: they stay open without keeping the event loop alive. */
  readonly unref: boolean;

  constructor(resources: readonly string[], options: { unref?: boolean } = {}) {
    const what = options.unref
      ? `${plural(resources.length, "unref()'d libuv handle")} open`
      : `${plural(resources.length, 'libuv handle or request', 'libuv handles or requests')} alive`;
    super('NODELEAK_UNCLOSED_LIBUV_RESOURCE', `one call left ${what}: ${summarise(resources)}`);
    this.resources = resources;
    this.unref = options.unref === true;
  }
}

/** One call left worker threads running. */
export class UnclosedWorkerError extends LeakError {
  readonly threadIds: readonly number[];

  constructor(threadIds: readonly number[]) {
    super(
      'NODELEAK_UNCLOSED_WORKER',
      `one call left ${plural(threadIds.length, 'worker thread')} running (threadId ${threadIds.join(', ')}); ` +
        'call worker.terminate() or let it exit',
    );
    this.threadIds = threadIds;
  }
}

/** executeThrows / checkLeakThrows: a call returned, or threw something other than the expected class. */
export class UnexpectedBehaviourError extends NodeleakError {
  readonly expected: string;
  readonly actual: unknown;

  constructor(expected: string, message: string, actual: unknown) {
    super('NODELEAK_UNEXPECTED_BEHAVIOUR', message, actual instanceof Error ? { cause: actual } : undefined);
    this.expected = expected;
    this.actual = actual;
  }
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function listed(names: readonly string[]): string {
  return names.length === 0 ? '' : `: ${names.join(', ')}`;
}

/** ['Timeout', 'Timeout', 'TCPServerWrap'] → "2 × Timeout, TCPServerWrap". */
function summarise(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, count]) => (count === 1 ? name : `${count} × ${name}`)).join(', ');
}
