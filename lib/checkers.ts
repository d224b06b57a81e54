import { createHook, executionAsyncId } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import { InvalidArgumentError, permissionDenied, withProbeAdvice } from './errors';
import {
  LeakError,
  UnclosedFdError,
  UnclosedHandleError,
  UnclosedHeapError,
  UnclosedLibuvResourceError,
  UnclosedNativeThreadError,
  UnclosedWorkerError,
} from './leak-errors';
import { heapInfo, processInfo } from './probe';

export type CheckerName = 'fds' | 'handles' | 'threads' | 'heaps' | 'libuv' | 'workers' | 'memory';

export const CHECKER_NAMES: readonly CheckerName[] = ['fds', 'handles', 'threads', 'heaps', 'libuv', 'workers', 'memory'];

function checkNames(method: string, names: readonly unknown[]): CheckerName[] {
  if (names.length === 0) throw new InvalidArgumentError(`Checkers.${method}() needs at least one checker name`);
  for (const name of names) {
    if (!CHECKER_NAMES.includes(name as CheckerName)) {
      throw new InvalidArgumentError(
        `Checkers.${method}(): unknown checker ${typeof name === 'string' ? `'${name}'` : String(name)} (known: ${CHECKER_NAMES.join(', ')})`,
      );
    }
  }
  return names as CheckerName[];
}

/**
 * Which checks a leak test runs: 'memory' (growth over many calls) and the resource checks made after one call.
 * Immutable: only() and exclude() return a new set.
 */
export class Checkers {
  readonly #enabled: ReadonlySet<CheckerName>;

  private constructor(enabled: Iterable<CheckerName>) {
    this.#enabled = new Set(enabled);
  }

  static all(): Checkers {
    return new Checkers(CHECKER_NAMES);
  }

  /** Checkers.all().only(...names) */
  static only(...names: CheckerName[]): Checkers {
    return Checkers.all().only(...names);
  }

  /** Checkers.all().exclude(...names) */
  static exclude(...names: CheckerName[]): Checkers {
    return Checkers.all().exclude(...names);
  }

  /** Keeps only the named checkers (of those this set has). */
  only(...names: CheckerName[]): Checkers {
    const keep = new Set(checkNames('only', names));
    return new Checkers([...this.#enabled].filter((name) => keep.has(name)));
  }

  /** Drops the named checkers. */
  exclude(...names: CheckerName[]): Checkers {
    const drop = new Set(checkNames('exclude', names));
    return new Checkers([...this.#enabled].filter((name) => !drop.has(name)));
  }

  has(name: CheckerName): boolean {
    return this.#enabled.has(name);
  }

  get names(): CheckerName[] {
    return CHECKER_NAMES.filter((name) => this.#enabled.has(name));
  }

  toString(): string {
    return `Checkers(${this.names.join(', ')})`;
  }
}

// ---- live worker threads, seen through the 'worker_threads' diagnostics channel (published by new Worker()) ----

/** What the checker uses of a Worker; kept structural so the published types need no @types/node. */
interface LiveWorker {
  readonly threadId: number;
  once(event: 'exit', listener: () => void): unknown;
}

const liveWorkers = new Set<LiveWorker>();
let trackingWorkers = false;

function onWorkerCreated(message: unknown): void {
  const worker = (message as { worker?: LiveWorker }).worker;
  if (!worker) return;
  liveWorkers.add(worker);
  worker.once('exit', () => liveWorkers.delete(worker));
}

/** Worker threads created since tracking started that have not exited. */
export function liveWorkerCount(): number {
  return liveWorkers.size;
}

/** Starts counting Worker objects created from now on; harmless to call again. */
export function trackWorkers(): void {
  if (trackingWorkers) return;
  trackingWorkers = true;
  diagnosticsChannel.subscribe('worker_threads', onWorkerCreated);
}

// ---- handles one call leaves open, seen through async_hooks: unref()'d ones too, which getActiveResourcesInfo() skips ----

/** async_hooks types of libuv handles (and timers), with the names process.getActiveResourcesInfo() gives them. */
const HANDLE_NAMES: Readonly<Record<string, string>> = {
  Timeout: 'Timeout',
  TCPSERVERWRAP: 'TCPServerWrap',
  TCPWRAP: 'TCPSocketWrap',
  PIPESERVERWRAP: 'PipeServerWrap',
  PIPEWRAP: 'PipeWrap',
  UDPWRAP: 'UDPWrap',
  PROCESSWRAP: 'ProcessWrap',
  SIGNALWRAP: 'SignalWrap',
  FSEVENTWRAP: 'FSEventWrap',
  STATWATCHER: 'StatWatcher',
  TTYWRAP: 'TTYWrap',
  MESSAGEPORT: 'MessagePort',
};
const HANDLE_RESOURCE_NAMES = new Set(Object.values(HANDLE_NAMES));
/** async_hooks types of requests libuv keeps in flight → the name process.getActiveResourcesInfo() gives them. */
const REQUEST_NAMES: Readonly<Record<string, string>> = {
  FSREQCALLBACK: 'FSReqCallback',
  FSREQPROMISE: 'FSReqPromise',
  FILEHANDLECLOSEREQ: 'FileHandleCloseReq',
  GETADDRINFOREQWRAP: 'GetAddrInfoReqWrap',
  GETNAMEINFOREQWRAP: 'GetNameInfoReqWrap',
  TCPCONNECTWRAP: 'ConnectWrap',
  PIPECONNECTWRAP: 'ConnectWrap',
  SHUTDOWNWRAP: 'SimpleShutdownWrap',
  WRITEWRAP: 'SimpleWriteWrap',
  UDPSENDWRAP: 'SendWrap',
};

/** A handle the call left open: its name, and whether it keeps the event loop alive (hasRef()). */
export interface OpenHandle {
  name: string;
  ref: boolean;
}

/**
 * The handles one call leaves open, per type: those created by the call (in its own async context, or one it
 * started) and still alive, less those of that type that existed before and were closed without firing (a debounce
 * timer the call cleared and re-armed). A handle created in the callback of a timer that fired meanwhile (a heartbeat
 * re-arming itself) is not the call's. Types are learnt from construction on, so warm-up calls make theirs known.
 */
export class CreatedHandles {
  /** Types of the handles created since construction and not destroyed. */
  readonly #types = new Map<number, string>();
  /** Async ids the call started: its context, and everything created from one of them while recording. */
  readonly #callIds = new Set<number>();
  readonly #created = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>();
  /** Requests the call started that have not ended (async_hooks destroys a request once its callback has run). */
  readonly #requests = new Map<number, string>();
  readonly #fired = new Set<number>();
  readonly #closedBefore = new Map<string, number>();
  /** async_hooks types of everything the call started, requests included, and of everything created while watched. */
  readonly #startedTypes = new Set<string>();
  readonly #seenTypes = new Set<string>();
  #recording = false;
  readonly #hook = createHook({
    init: (asyncId, type, triggerAsyncId, resource) => {
      const handle = Object.hasOwn(HANDLE_NAMES, type);
      if (handle) this.#types.set(asyncId, type);
      this.#seenTypes.add(type);
      if (!this.#recording || !this.#callIds.has(triggerAsyncId)) return;
      this.#callIds.add(asyncId);
      this.#startedTypes.add(type);
      if (handle) this.#created.set(asyncId, { type, resource: resource as { hasRef?: () => boolean } });
      else if (Object.hasOwn(REQUEST_NAMES, type)) this.#requests.set(asyncId, REQUEST_NAMES[type]);
    },
    before: (asyncId) => {
      if (this.#types.has(asyncId)) this.#fired.add(asyncId);
    },
    destroy: (asyncId) => {
      this.#requests.delete(asyncId);
      const type = this.#types.get(asyncId);
      this.#types.delete(asyncId);
      if (this.#created.delete(asyncId) || type === undefined || this.#fired.delete(asyncId)) return;
      this.#closedBefore.set(type, (this.#closedBefore.get(type) ?? 0) + 1);
    },
  });

  constructor() {
    this.#hook.enable();
  }

  /** What is created from the current async context on, until stopRecording(), is the call's. */
  startRecording(): void {
    this.#callIds.add(executionAsyncId());
    this.#recording = true;
  }

  /** Handles created from now on are not the call's (the harness's own timers while it waits). */
  stopRecording(): void {
    this.#recording = false;
  }

  /**
   * Whether the call may have started a resource of the kind process.getActiveResourcesInfo() names `name`. async_hooks
   * spells most kinds the same in capitals (FSReqCallback, FSREQCALLBACK), not all (QueryReqWrap, QUERYWRAP): a name
   * that matches nothing async_hooks saw created is the call's as far as anyone can tell.
   */
  started(name: string): boolean {
    const type = name.toUpperCase();
    return this.#startedTypes.has(type) || !this.#seenTypes.has(type);
  }

  /** The call's handles still open, net of the ones it closed, e.g. [{ name: 'Timeout', ref: false }]. */
  leftOpen(): OpenHandle[] {
    const open: OpenHandle[] = [];
    const closed = new Map(this.#closedBefore);
    for (const { type, resource } of this.#created.values()) {
      const left = closed.get(type) ?? 0;
      if (left > 0) {
        closed.set(type, left - 1);
        continue;
      }
      const ref = typeof resource.hasRef === 'function' ? resource.hasRef() : true;
      open.push({ name: HANDLE_NAMES[type], ref });
    }
    return open;
  }

  /** Names of the requests the call started that are still in flight. */
  requestsInFlight(): string[] {
    return [...this.#requests.values()];
  }

  dispose(): void {
    this.#hook.disable();
    this.#types.clear();
    this.#callIds.clear();
    this.#created.clear();
    this.#requests.clear();
  }
}

// ---- snapshots ----

/** What is open at one moment, for the checkers that apply on this platform. */
export interface ResourceSnapshot {
  /** Linux: fd → what /proc/self/fd/N links to. */
  fdTargets?: Map<number, string>;
  /** Other POSIX systems: how many fds are open. */
  fdCount?: number;
  handles?: number;
  /** Linux: tid → thread name. */
  threadNames?: Map<number, string | null>;
  threadCount?: number;
  heaps?: number;
  libuv?: string[];
  /** After the call only: handles it left open (ref'd or not). */
  createdHandles?: OpenHandle[];
  /** After the call only, where async_hooks tell: whether the call started a resource of that name's kind. */
  startedByCall?: (name: string) => boolean;
  /** After the call only: the requests it started that are still in flight, named as in `libuv`. */
  callRequests?: string[];
  workers?: Set<LiveWorker>;
}

function readLink(path: string): string | null {
  try {
    return fs.readlinkSync(path);
  } catch {
    return null;
  }
}

function readFdTargets(): Map<number, string> {
  const targets = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    // The directory's own fd is closed by the time readdirSync returns: its link no longer resolves.
    const target = readLink(`/proc/self/fd/${entry}`);
    if (target !== null) targets.set(Number(entry), target);
  }
  return targets;
}

function readThreadNames(): Map<number, string | null> {
  const names = new Map<number, string | null>();
  for (const entry of fs.readdirSync('/proc/self/task')) {
    let name: string | null = null;
    try {
      name = fs.readFileSync(`/proc/self/task/${entry}/comm`, 'utf8').trim();
    } catch {
      // the thread ended between the listing and the read
    }
    names.set(Number(entry), name);
  }
  return names;
}

function hasProcFs(): boolean {
  return process.platform === 'linux' && fs.existsSync('/proc/self/fd');
}

/**
 * What the probe reads (`read`) for checkers that see the process only through it here (`names`). Where it cannot
 * (no binary, no backend for the platform), its own error, saying how to check without them: a checker that read
 * nothing would pass without having looked.
 */
function fromProbe<T>(names: readonly CheckerName[], read: () => T): T {
  try {
    return read();
  } catch (err) {
    const listed = names.map((name) => `'${name}'`).join(', ');
    const advice =
      `The ${names.join(' and ')} checker${names.length === 1 ? ' reads' : 's read'} the process through nodeleak's probe here: ` +
      `to check without ${names.length === 1 ? 'it' : 'them'}, pass checkers: Checkers.all().exclude(${listed}).`;
    throw withProbeAdvice(err, advice);
  }
}

/** Reads what the enabled resource checkers compare. */
export function snapshotResources(checkers: Checkers): ResourceSnapshot {
  try {
    return readResources(checkers);
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
}

function readResources(checkers: Checkers): ResourceSnapshot {
  const snapshot: ResourceSnapshot = {};
  const procFs = hasProcFs();
  // Only Windows counts handles (and has no fds to list); elsewhere the probe's figures would cost a read of the
  // process's memory map for nothing.
  const windows = process.platform === 'win32';
  const viaProbe = (['fds', 'threads', 'handles'] as const).filter(
    (name) => checkers.has(name) && (name === 'handles' ? windows : !procFs && !(name === 'fds' && windows)),
  );
  const proc = viaProbe.length > 0 ? fromProbe(viaProbe, processInfo) : null;
  if (checkers.has('workers')) {
    trackWorkers();
    snapshot.workers = new Set(liveWorkers);
  }
  if (checkers.has('libuv') && typeof process.getActiveResourcesInfo === 'function') {
    snapshot.libuv = process.getActiveResourcesInfo();
  }
  if (checkers.has('fds') && process.platform !== 'win32') {
    if (procFs) snapshot.fdTargets = readFdTargets();
    else if (proc?.fds !== undefined) snapshot.fdCount = proc.fds;
  }
  if (checkers.has('handles') && proc?.handles !== undefined) snapshot.handles = proc.handles;
  if (checkers.has('threads')) {
    if (procFs) snapshot.threadNames = readThreadNames();
    else if (proc) snapshot.threadCount = proc.threads;
  }
  // Only Windows has heaps to count.
  if (checkers.has('heaps') && windows) {
    const heapCount = fromProbe(['heaps'], heapInfo).heapCount;
    if (heapCount !== undefined) snapshot.heaps = heapCount;
  }
  return snapshot;
}

/** Names in `after` beyond their count in `before`: ['Timeout', 'Timeout'] vs ['Timeout'] → ['Timeout']. */
function extraNames(before: readonly string[], after: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const name of before) counts.set(name, (counts.get(name) ?? 0) + 1);
  const extra: string[] = [];
  for (const name of after) {
    const left = counts.get(name) ?? 0;
    if (left > 0) counts.set(name, left - 1);
    else extra.push(name);
  }
  return extra;
}

/**
 * The first resource left open between two snapshots, as the error to throw, or null. Most specific first:
 * a Worker also shows as threads, a server also as an fd.
 */
export function findUnclosed(before: ResourceSnapshot, after: ResourceSnapshot): LeakError | null {
  if (before.workers && after.workers) {
    const left = [...after.workers].filter((worker) => !before.workers?.has(worker));
    if (left.length > 0) return new UnclosedWorkerError(left.map((worker) => worker.threadId));
  }
  if (after.createdHandles && after.createdHandles.length > 0) {
    const handles = after.createdHandles;
    return new UnclosedLibuvResourceError(
      handles.map((handle) => handle.name),
      { unref: handles.every((handle) => !handle.ref) },
    );
  }
  // A request the call started and async_hooks has not seen end; a process-wide count misses it when another request
  // of its kind ends meanwhile.
  if (after.callRequests && after.callRequests.length > 0) return new UnclosedLibuvResourceError(after.callRequests);
  if (before.libuv && after.libuv) {
    // Handles and timers are judged above, by what the call created; an unrelated timer firing meanwhile is not the
    // call's. What is left here are the process's extra requests in flight, given a grace to complete, of the kinds the
    // call started: one that other code started meanwhile (a loader writing its cache) is not the call's. This count
    // is what names kinds REQUEST_NAMES does not list.
    const requests = (names: readonly string[]): string[] => names.filter((name) => !HANDLE_RESOURCE_NAMES.has(name));
    const startedByCall = after.startedByCall ?? ((): boolean => true);
    const left = extraNames(requests(before.libuv), requests(after.libuv)).filter((name) => startedByCall(name));
    if (left.length > 0) return new UnclosedLibuvResourceError(left);
  }
  if (before.fdTargets && after.fdTargets) {
    const opened = [...after.fdTargets].filter(([fd, target]) => before.fdTargets?.get(fd) !== target);
    const count = after.fdTargets.size - before.fdTargets.size;
    if (count > 0) return new UnclosedFdError(count, opened.map(([fd, target]) => ({ fd, target })));
  }
  if (before.fdCount !== undefined && after.fdCount !== undefined && after.fdCount > before.fdCount) {
    return new UnclosedFdError(after.fdCount - before.fdCount, []);
  }
  if (before.handles !== undefined && after.handles !== undefined && after.handles > before.handles) {
    return new UnclosedHandleError(after.handles - before.handles);
  }
  if (before.threadNames && after.threadNames) {
    const count = after.threadNames.size - before.threadNames.size;
    const started = [...after.threadNames].filter(([tid]) => !before.threadNames?.has(tid));
    if (count > 0) return new UnclosedNativeThreadError(count, started.map(([tid, name]) => ({ tid, name })));
  }
  if (before.threadCount !== undefined && after.threadCount !== undefined && after.threadCount > before.threadCount) {
    return new UnclosedNativeThreadError(after.threadCount - before.threadCount, []);
  }
  if (before.heaps !== undefined && after.heaps !== undefined && after.heaps > before.heaps) {
    return new UnclosedHeapError(after.heaps - before.heaps);
  }
  return null;
}
