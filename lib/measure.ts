import v8 from 'node:v8';
import vm from 'node:vm';
import type { MetricName } from './decision';
import * as clock from './clock';
import { UnsupportedPlatformError } from './errors';
import { platformTuple } from './platform';
import { heapInfo, heapTrim, processInfo } from './probe';
import { quietness } from './quiet';

export type Figures = Partial<Record<MetricName, number>>;

type GcFunction = (options?: { type: 'minor' } | { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let collectGarbage: GcFunction | undefined;

/** V8's full garbage collection. */
export function gc(): void {
  exposedGc()();
}

/**
 * V8's young-generation collection (a scavenge): it frees the young objects already unreachable, and the native memory
 * their weak callbacks release, at a fraction of a full collection's cost.
 */
function minorGc(): void {
  exposedGc()({ type: 'minor' });
}

/**
 * V8's memory-reducing full collection (the one V8 makes when memory is short): it also frees what a plain full
 * collection leaves cached. Under V8 11 (Node 20) gc() takes no such option and makes a young collection instead.
 */
export function collectAllAvailable(): void {
  exposedGc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * A young collection, then a turn of the event loop: the N-API finalizers of the objects a collection finds dead wait
 * for the next turn, queued in a table that keeps the size of the largest batch it held. Calls that run with no turn
 * between collections would size it by a whole round's objects.
 */
export async function collectYoung(): Promise<void> {
  minorGc();
  await clock.nextTurn();
}

/** V8's factor for growing its young generation as this process was started: V8's default unless set on the command
 * line. */
function startedSemiSpaceGrowthFactor(): number {
  let factor = 2;
  for (const arg of process.execArgv) {
    const match = /^--semi[-_]space[-_]growth[-_]factor=(\d+)$/.exec(arg);
    if (match) factor = Number(match[1]);
  }
  return factor;
}

/**
 * Holds V8's young generation at its present capacity until the returned function is called, which lets it grow as the
 * process was started to. V8 doubles the young generation as a process allocates (to tens of MiB in a plain process),
 * and under Node 24 and later it keeps each page's metadata on the C heap: a check would see the C heap step up at each
 * doubling, by steps that double, as storage of the function's that doubles does. The size of the young generation
 * decides how often V8 collects it, never what stays reachable, so holding it cannot hide a leak. The quiet process
 * caps it at 1 MiB a semi-space (`--max-semi-space-size=1`) already. V8's flags are the process's: a check in one
 * worker thread holds every thread's young generation.
 */
export function holdYoungGeneration(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return () => v8.setFlagsFromString(`--semi-space-growth-factor=${startedSemiSpaceGrowthFactor()}`);
}

/** V8's page: its spaces grow and shrink by whole pages. */
const V8_PAGE_BYTES = 256 * 1024;

/** V8's heap in use after the latest settle(), or after the full collection collectBetweenCalls() made since. */
let roundLevel: number | undefined;

function v8HeapInUse(): number {
  return v8.getHeapStatistics().used_heap_size;
}

/**
 * collectYoung() between a round's calls, followed by a full collection once V8's heap in use, read after the young
 * one, stands more than a page above its level at the round's start: garbage V8 allocated straight in the old
 * generation (allocation sites it pretenures, large objects) outlives young collections, and V8 adds pages for it, with
 * C heap of their own that it keeps while it keeps them. A round that ends with more of that garbage than any before it
 * then steps the C heap up (under Node 24 and 26, `zlib.deflateSync` at each longer round). A full collection frees
 * only what the calls left unreachable, so it cannot hide a leak; the level is reset to what it leaves, so a leak in
 * V8's heap brings one more per page it grows.
 */
export async function collectBetweenCalls(): Promise<void> {
  minorGc();
  if (roundLevel !== undefined && v8HeapInUse() > roundLevel + V8_PAGE_BYTES) {
    gc();
    roundLevel = v8HeapInUse();
  }
  await clock.nextTurn();
}

/**
 * V8's `gc` function, without `--expose-gc` on the command line: turning the flag on makes V8 give the next new context
 * a `gc` function; it is turned off again so no later context gets one. Making the context leaves V8 one spare handle
 * block (8 KiB of C heap), freed when the next concurrent optimizing compile ends: in a plain process, usually within
 * the check's first round, as a fall no larger than the plain C heap floor.
 */
function exposedGc(): GcFunction {
  if (!collectGarbage) {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (isV8Gc(exposed)) {
      collectGarbage = exposed;
    } else {
      collectGarbage = withV8Flag('expose-gc', () => vm.runInNewContext('gc') as GcFunction);
    }
  }
  return collectGarbage;
}

/**
 * Whether a global `gc` is V8's own (`--expose-gc`), bound or not. A setup may define `globalThis.gc = () => {}` where
 * the flag is missing: settles through it would collect nothing, and a check could pass on unsettled figures.
 */
function isV8Gc(value: unknown): value is GcFunction {
  return (
    typeof value === 'function' &&
    (value.name === 'gc' || value.name === 'bound gc') &&
    /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(value))
  );
}

/** `make()` with V8's flag `--<name>` turned on, and off again after, whether it returns or throws. */
function withV8Flag<T>(name: string, make: () => T): T {
  v8.setFlagsFromString(`--${name}`);
  try {
    return make();
  } finally {
    v8.setFlagsFromString(`--no-${name}`);
  }
}

/**
 * Calls `f` through a function made from `source`, V8 natives syntax, turned on for the making if it was off; a process
 * that refuses the source (no such natives, code from strings disallowed) is left as it is, and `f` is not called.
 */
function withNatives<F extends (...args: never[]) => unknown>(source: string, f: F): void {
  let run: (f: F) => void;
  try {
    run = new Function('f', source) as typeof run;
  } catch (err) {
    if (!(err instanceof SyntaxError)) return; // code from strings disallowed: the natives' flag stays as it is
    try {
      run = withV8Flag('allow-natives-syntax', () => new Function('f', source) as typeof run);
    } catch {
      return;
    }
  }
  run(f);
}

let optimizingCompilerWarm = false;

/**
 * Has V8's optimizing compiler compile one small function, once per process. Under V8 11 (Node 20) its first compile
 * sets up tables it keeps for good (~9–12 KB of C heap, TurboFan's type cache among them), which would otherwise show
 * as growth in the round in which some function first got hot.
 */
export function warmOptimizingCompiler(): void {
  if (optimizingCompilerWarm) return;
  optimizingCompilerWarm = true;
  withNatives('%PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3);', (x: number) => x + 1);
}

const neverOptimized = new WeakSet<object>();

/** Keeps V8's optimizing compilers off `fn` for the rest of the process. */
export function neverOptimize(fn: (...args: never[]) => unknown): void {
  if (neverOptimized.has(fn)) return;
  neverOptimized.add(fn);
  withNatives('%NeverOptimizeFunction(f);', fn);
}

let probeWorks: { heap: boolean; process: boolean; uss: boolean; nodeRss: boolean } | undefined;

/**
 * Which of the probe's reads work in this process, whether its process figures include uss, and whether node's own rss
 * read works (it reads /proc/self/stat on Linux): found once.
 */
function probeAvailability(): { heap: boolean; process: boolean; uss: boolean; nodeRss: boolean } {
  if (probeWorks) return probeWorks;
  const read = <T>(figures: () => T): T | null => {
    try {
      return figures();
    } catch {
      return null; // no binary, no backend for this platform, or no /proc: those metrics are left out
    }
  };
  const proc = read(processInfo);
  probeWorks = { heap: read(heapInfo) !== null, process: proc !== null, uss: proc?.uss !== undefined, nodeRss: read(() => process.memoryUsage.rss()) !== null };
  return probeWorks;
}

/**
 * Bytes of V8's global handles in use. Each native object JavaScript holds (node's wrappers of hashes and streams,
 * N-API wrapped objects and references) has one until a collection finds its object unreachable.
 */
function globalHandleBytes(): number {
  return v8.getHeapStatistics().used_global_handles_size;
}

interface GcProfile {
  statistics: { beforeGC: { heapStatistics: { usedGlobalHandlesSize: number } }; afterGC: { heapStatistics: { usedGlobalHandlesSize: number } } }[];
}
type GcProfilerClass = new () => { start(): void; stop(): GcProfile | undefined };

/**
 * Starts counting the global handles code makes (see globalHandleBytes()); `stop()` returns their bytes net of those it
 * deleted itself. What collections free meanwhile is added back: one can start in any call (when the young generation
 * fills, which depends on all the process allocated before) and free handles made before the count began. Where V8's
 * GC profiler is missing (Node before 18.15), `stop()` returns the plain difference.
 */
export function countGlobalHandles(): { stop(): number } {
  const Profiler = (v8 as { GCProfiler?: GcProfilerClass }).GCProfiler;
  const profiler = typeof Profiler === 'function' ? new Profiler() : null;
  profiler?.start();
  const atStart = globalHandleBytes();
  return {
    stop(): number {
      const now = globalHandleBytes();
      let freed = 0;
      for (const { beforeGC, afterGC } of profiler?.stop()?.statistics ?? []) {
        freed = freed + beforeGC.heapStatistics.usedGlobalHandlesSize - afterGC.heapStatistics.usedGlobalHandlesSize;
      }
      return now - atStart + freed;
    },
  };
}

/** Reads the C heap once, so a check that judges it fails with the probe's own error (BindingLoadError,
 * UnsupportedPlatformError) before it calls anything; a heap the probe cannot read whole is refused the same way. */
export function requireCHeap(): void {
  const { unreadableHeaps, allocator } = heapInfo();
  if (unreadableHeaps !== undefined && unreadableHeaps > 0) {
    const what = allocator === 'darwin-zones' ? 'malloc zones have no statistics' : 'heaps could not be locked or walked to the end';
    throw new UnsupportedPlatformError(platformTuple(), `${unreadableHeaps} of this process's ${what}, so their blocks are not counted`, 'every heap readable');
  }
}

/**
 * Reads the process's figures once, so a check that judges vms or uss fails with the probe's own error before it calls
 * anything.
 */
export function requireProcessFigures(): void {
  processInfo();
}

/**
 * Metrics judged unless the user names others, and process memory besides (uss, else rss: see planMemory() in
 * check-leak.ts), which is judged only down to a coarser rate: it also moves with pages the process touches for the
 * first time (code of the node binary, thread stacks).
 */
export const DEFAULT_JUDGED: readonly MetricName[] = ['heap', 'mmap', 'vms', 'v8heap', 'external'];

/** Metrics this process can measure, in report order. */
export function availableMetrics(): MetricName[] {
  const { heap, process: proc, uss, nodeRss } = probeAvailability();
  const metrics: MetricName[] = [];
  if (heap) metrics.push('heap', 'mmap');
  if (proc) {
    if (uss) metrics.push('uss');
    metrics.push('rss', 'vms');
  } else if (nodeRss) {
    metrics.push('rss');
  }
  metrics.push('v8heap', 'external');
  return metrics;
}

/**
 * V8's heap in use, JS objects only: compiled code and bytecode (code and trusted spaces) grow as V8 tiers up hot
 * functions and shrink when it flushes them, whatever the code under test does.
 */
function v8ObjectBytes(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (!/code|trusted/.test(space.space_name)) used = used + space.space_used_size;
  }
  return used;
}

/**
 * Reads the given metrics now, bytes. rss and uss leave out the physical memory of V8's heap, which V8 grows and
 * shrinks on its own (the v8heap metric covers the objects in it).
 */
export function sample(metrics: readonly MetricName[]): Figures {
  const wanted = new Set(metrics);
  const figures: Figures = {};
  if (wanted.has('v8heap')) figures.v8heap = v8ObjectBytes(); // first: see cheapFigures()
  if (wanted.has('heap') || wanted.has('mmap')) {
    const heap = heapInfo();
    figures.heap = heap.heapUsed;
    figures.mmap = heap.mmapUsed;
  }
  if (wanted.has('uss') || wanted.has('rss') || wanted.has('vms')) {
    const v8Physical = v8.getHeapStatistics().total_physical_size;
    if (probeAvailability().process) {
      const proc = processInfo();
      if (proc.uss !== undefined) figures.uss = proc.uss - v8Physical;
      figures.rss = proc.rss - v8Physical;
      figures.vms = proc.vms;
    } else {
      figures.rss = process.memoryUsage.rss() - v8Physical;
    }
  }
  if (wanted.has('external')) figures.external = externalBytes();
  const picked: Figures = {};
  for (const metric of metrics) picked[metric] = figures[metric];
  return picked;
}

/**
 * Bytes of memory outside V8's heap that objects in it hold: process.memoryUsage().external, read where that call,
 * which reads rss too, would throw (a Linux without /proc).
 */
function externalBytes(): number {
  return v8.getHeapStatistics().external_memory;
}

/**
 * Figures cheap enough to read after every collection while settling: C heap, V8 objects, external. V8's objects are
 * read first, before anything allocates: the first allocation in old space after a collection counts a whole fresh
 * allocation buffer, up to ~250 KB, as used.
 */
function cheapFigures(): CheapFigures {
  const v8heap = v8ObjectBytes();
  const { heapUsed, mmapUsed } = probeAvailability().heap ? heapInfo() : { heapUsed: 0, mmapUsed: 0 };
  return [heapUsed, v8heap, externalBytes(), mmapUsed];
}

/** The figures of cheapFigures() by metric name. */
export function collectedFigures(settled: Settled): Figures {
  const [heap, v8heap, external, mmap] = settled.figures;
  return { heap, mmap, v8heap, external };
}

/**
 * C heap V8 holds in zones: scratch memory of its parser and compilers, freed when their job ends. A compile on a
 * background thread (a plain process) holds hundreds of KB to a few MB of it until its job ends.
 */
function zoneBytes(): number {
  return v8.getHeapStatistics().malloced_memory;
}

/** The least zone memory seen since a settle's first collection (which frees what finished jobs left, so earlier
 * figures are not a rest): what V8 holds with no job in flight. */
let restingZoneBytes = Infinity;

/** How often, and how long at most per settle, a settle looks for a background compile to end. */
const COMPILE_POLL_MS = 2;
const COMPILE_WAIT_MS = 500;
/** How long zone memory above its rest must hold still to be memory V8 keeps, not a job's: a job's zone grows while
 * it compiles and is freed when it ends. */
const ZONE_STILL_MS = 20;

/** Whether V8's zone memory (`zone`, read now) is at its rest (the least seen, which this keeps). */
function zoneAtRest(zone: number = zoneBytes()): boolean {
  restingZoneBytes = Math.min(restingZoneBytes, zone);
  return zone === restingZoneBytes;
}

/**
 * Waits, up to `budgetMs`, while V8's zone memory is above its rest and moving: a compile in flight. The main thread
 * installs a finished job, and frees its zone, when it next runs JavaScript, so each poll is a timer's turn. Zone
 * memory that holds still for ZONE_STILL_MS, or is still held when the budget ends, is what V8 keeps now (for code
 * loaded since): its new rest. Returns the ms waited.
 */
async function compilesDone(budgetMs: number, throwIfStopped?: () => void): Promise<number> {
  const started = clock.now();
  let last = Number.NaN;
  let stillSince = started;
  for (let zone = zoneBytes(); !zoneAtRest(zone); zone = zoneBytes()) {
    const now = clock.now();
    if (zone !== last) {
      last = zone;
      stillSince = now;
    }
    if (now - stillSince >= ZONE_STILL_MS || now - started >= budgetMs) {
      restingZoneBytes = zone;
      break;
    }
    await clock.sleep(COMPILE_POLL_MS);
    throwIfStopped?.();
  }
  return clock.now() - started;
}

const MAX_SETTLE_PASSES = 12;
/**
 * Change between two passes that counts as settled, per cheap figure (C heap, V8 objects, external): a collection
 * itself moves the C heap by a few hundred bytes, and V8's old space by a few KB while the harness's own code warms up.
 * In a plain process V8's collector helper threads move the C heap by a few KB a collection, so its C heap slack is
 * half the plain floor: movement a round's floor covers.
 */
const SETTLE_SLACK_BYTES = { quiet: [1024, 16 * 1024, 1024], plain: [4096, 16 * 1024, 1024] };

/** mmap is read with the heap but not compared for stillness (SETTLE_SLACK_BYTES has no entry for it). */
type CheapFigures = [heap: number, v8heap: number, external: number, mmap: number];

/** Where a settle() ended. */
export interface Settled {
  /** The cheap figures read right after its last collection. */
  figures: CheapFigures;
  /** Its passes: full collections made. */
  passes: number;
  /** Wall time of one pass (a turn of the event loop and a full collection), ms. */
  msPerPass: number;
}

/** Passes a settle needs at least, from figures read before any collection. */
export const MIN_SETTLE_PASSES = 2;

/** Where a settle starts from, and how its check stops it. */
export interface SettleOptions {
  /** The end of a settle with no call of the function after it: it counts as the first of the two still passes. */
  since?: Settled;
  /** Called on every turn; it throws when the check was stopped, which ends the settle. */
  throwIfStopped?: () => void;
  /** Passes after which the settle ends, still or not: its end can then only start a later settle (`since`), which
   * still needs a pass that agrees with it. */
  maxPasses?: number;
  /** Asked after the first pass of a settle with no `since`: a read that may end there. */
  endAfterOne?: EndAfterOne;
}

/** A read that may end after its settle's first pass: `enough()` is asked with that pass's end; when it says true,
 * the settle ends there and the read's figures are `figures` (see firstPassFigures()). */
export interface EndAfterOne {
  enough(first: Settled): boolean;
  readonly figures: Figures | undefined;
}

/**
 * Lets the event loop turn and collects garbage, repeatedly, until two collections in a row leave the heap figures
 * where they were, with no compile in flight (at most MAX_SETTLE_PASSES passes): N-API finalizers run on the turn after
 * the collection that found their objects, and what they release is collected by the next one; a background compile's
 * zone can hold the C heap still across two passes, and is freed only when its job ends, so a pass that finds zone
 * memory above its rest after the collection does not count, and the next pass waits for it (COMPILE_WAIT_MS at most
 * in all). Zone memory is judged only after a collection, which frees what finished jobs left, and only where V8 has
 * background threads. The collection comes right before the read in each pass (see cheapFigures()). The check is
 * asked on every turn whether it was stopped: a settle can last half a second in a plain process, and a check stopped
 * meanwhile must end before its test's timeout does.
 */
export async function settle(options: SettleOptions = {}): Promise<Settled> {
  const settled = await settlePasses(options);
  roundLevel = v8HeapInUse(); // after the read, which it must not move
  return settled;
}

async function settlePasses({ since, throwIfStopped, maxPasses = MAX_SETTLE_PASSES, endAfterOne }: SettleOptions): Promise<Settled> {
  const started = clock.now();
  let previous = since?.figures ?? cheapFigures();
  const minPasses = since ? MIN_SETTLE_PASSES - 1 : MIN_SETTLE_PASSES;
  const slack = quietness().quiet ? SETTLE_SLACK_BYTES.quiet : SETTLE_SLACK_BYTES.plain;
  const backgroundCompiles = !quietness().singleThreaded;
  let waited = 0;
  // What the calls left dying young is found first, so its N-API finalizers run on that turn, before the first full
  // collection: only what died old still has finalizers to run when the first pass reads.
  await collectYoung();
  for (let pass = 1; ; pass++) {
    if (pass > 1) await clock.nextTurn();
    throwIfStopped?.();
    gc();
    const now = cheapFigures();
    const compiling = backgroundCompiles && !zoneAtRest();
    const still = !compiling && slack.every((bytes, index) => Math.abs(now[index] - previous[index]) <= bytes);
    if ((still && pass >= minPasses) || pass >= Math.min(maxPasses, MAX_SETTLE_PASSES)) {
      return { figures: now, passes: pass, msPerPass: (clock.now() - started - waited) / pass };
    }
    if (pass === 1 && !since && endAfterOne) {
      const first: Settled = { figures: now, passes: pass, msPerPass: (clock.now() - started - waited) / pass };
      if (endAfterOne.enough(first)) return first;
    }
    if (compiling) waited = waited + (await compilesDone(COMPILE_WAIT_MS - waited, throwIfStopped));
    previous = now;
  }
}

/** The user's trim callback, then the allocator's own trim (returns free memory to the OS, so RSS/USS settle). */
export async function trim(trimCallback?: () => void | Promise<void>): Promise<void> {
  if (trimCallback) await trimCallback();
  if (!probeAvailability().heap) return;
  try {
    heapTrim();
  } catch (err) {
    if (!(err instanceof UnsupportedPlatformError)) throw err; // an allocator with no trim: nothing to give back
  }
}

/**
 * settle → trim → read: the figures one side of a round is measured with. settle() ends with a collection, and the
 * allocator's trim frees no JS object, so only a user's trimCallback needs one more before the read; without one,
 * v8heap is settle()'s read, taken before the trim allocated anything (see cheapFigures()). A read that ended after one
 * pass (`endAfterOne`) has the figures that pass left, with no trim.
 */
export async function settledSample(
  metrics: readonly MetricName[],
  { trimCallback, ...settleOptions }: SettleOptions & { trimCallback?: () => void | Promise<void> } = {},
): Promise<{ figures: Figures; settled: Settled; upperBound: boolean }> {
  const settled = await settle(settleOptions);
  const upper = settleOptions.endAfterOne?.figures;
  if (upper) return { figures: upper, settled, upperBound: true };
  await trim(trimCallback);
  if (trimCallback) gc();
  const figures = sample(metrics);
  if (figures.v8heap !== undefined && !trimCallback) figures.v8heap = settled.figures[1];
  return { figures, settled, upperBound: false };
}

/** The figures a read that ends after its settle's first pass gives: `collected` (C heap, V8's objects and external as
 * read right after its collection, see collectedFigures()), and the process's figures read now, no trim. */
export function firstPassFigures(metrics: readonly MetricName[], collected: Figures): Figures {
  return { ...sample(metrics.filter((metric) => !(metric in collected))), ...collected };
}

/** `figures` restricted to `metrics`. */
export function pick(figures: Figures, metrics: readonly MetricName[]): Figures {
  const picked: Figures = {};
  for (const metric of metrics) if (metric in figures) picked[metric] = figures[metric];
  return picked;
}
