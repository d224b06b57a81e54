import { CreatedHandles, findUnclosed, snapshotResources } from './checkers';
import type { Checkers, ResourceSnapshot } from './checkers';
import * as clock from './clock';
import type { Decision, DecisionOptions, MetricName, Round } from './decision';
import { noOpMoves } from './calibrate';
import { cleanOnUpperBound, decide, defaultLevelHeld, defaultMmapApart, defaultNoise, defaultResolution, fallWidening, risesBeyondFloor, widenedNoise } from './decision';
import { FakeTimersError, InvalidArgumentError, UnscopedCheckError, UnsupportedPlatformError, withProbeAdvice } from './errors';
import type { StartedCheck } from './in-flight';
import { inTestScope, mochaHooksRan, runnerHooksRegistered, startCheck, testBetweenHooks } from './in-flight';
import { InconclusiveError, MemoryLeakError, UnexpectedBehaviourError } from './leak-errors';
import { DEFAULT_JUDGED, type Figures, MIN_SETTLE_PASSES, type Settled, availableMetrics, collectAllAvailable, collectBetweenCalls, collectedFigures, type EndAfterOne, firstPassFigures, holdYoungGeneration, pick, requireCHeap, requireProcessFigures, sample, settle, settledSample, warmOptimizingCompiler } from './measure';
import { type Invoke, Pace, isThenable, keepCallLoopUnoptimized } from './pace';
import { formatNumber } from './numbers';
import type { LeakOptions, Settings } from './options';
import { describeValue, isAbortSignal, refuseGeneratorFunction, resolveOptions } from './options';
import { quietness, warnIfNotQuiet } from './quiet';
import { detectRunner, runnerRunningHere } from './runner';
import type { LeakReport, RoundReport } from './report';
import { formatClean, formatSummary } from './report';
import type { LeakReportBase } from './report';
import { Progress } from './progress';
import { REPORT_DIR_ENV, writeReport } from './report-dir';
import type { LeakSite } from './where';
import { leakSites, profilingRequested } from './where';
import { bindingPath } from './binding';
import type { OwnAllocator } from './own-allocators';
import { ownAllocators } from './own-allocators';
import { type Allocator, heapInfo } from './probe';
import { runtimeWithoutV8 } from './platform';

export type { LeakOptions, Tolerance } from './options';
export { DEFAULTS } from './options';

export type ErrorClass = abstract new (...args: never[]) => unknown;

/** NODELEAK_SUMMARY=1: every passing check prints one line (calls, time, the bound on each judged metric). */
export const SUMMARY_ENV = 'NODELEAK_SUMMARY';

/**
 * Doublings of the call budget on top of `retries`. decide() repeats round sizes and follows evidence over three times
 * its calls, so its schedule spends the budget more slowly than doubling rounds would; a plain process's floor is
 * sixteen times higher, so its rounds are longer. What the budgets give is measured in docs/benchmarks.md.
 */
const QUIET_EXTRA_DOUBLINGS = 2;
const PLAIN_EXTRA_DOUBLINGS = 5;
/**
 * Measured calls a check may make before its verdict: `retries` + 1 doublings of the first round, and the extra ones.
 * A floor widened w-fold (`widening`: by the no-op's moves, see widenedNoise(), and by the falls rounds showed, see
 * fallWidening()) needs bounding rounds w-fold longer: as many more doublings.
 */
export function callBudget(firstCalls: number, retries: number, quiet: boolean, widening = 1): number {
  const extraDoublings = (quiet ? QUIET_EXTRA_DOUBLINGS : PLAIN_EXTRA_DOUBLINGS) + Math.ceil(Math.log2(Math.max(1, widening)));
  return firstCalls * (2 ** (retries + 1 + extraDoublings) - 1);
}

/**
 * Floor of the process metric judged beside an allocator of an addon's own: such allocators map and touch memory in
 * steps of up to a few MiB (mimalloc's segments), which a round may catch whole or not at all.
 */
const OWN_ALLOCATOR_STEP = 4 * 1024 * 1024;
/**
 * At most this many times `times` calls in a round sized by time (see timeSizedCalls): with the default `times`,
 * 2,400 calls, in which a path taken once in 1,000 calls runs at least twice. Longer rounds cost a leak verdict
 * more than they tell: it takes three times the calls of its evidence. Unless the floors ask for more (see
 * boundingCalls()).
 */
const MAX_TIME_SIZING = 8;

/**
 * A round shorter than `boundingCalls` bounds nothing, alone or pooled with one of its size, so a clean check that
 * starts with one measures longer rounds after it; the first round may take up to this many settled reads' time to
 * reach them. Not more: a leak's evidence is gathered in rounds of the first round's size, so a longer one slows a slow
 * function's leak verdict.
 */
const BOUNDING_READS = 4;

/**
 * Calls in a round sized by time: `times`, doubled while the round's calls still take less time than the settled read
 * that ends it, up to MAX_TIME_SIZING × `times`. Calls of a fast function cost little next to the collections of a
 * read, and a longer round spans a path taken once in many calls (a rare-path leak) and spreads one-off growth (the
 * harness's own code warming up) over more calls.
 */
export function timeSizedCalls(times: number, msPerCall: number | undefined, msPerRead: number): number {
  if (msPerCall === undefined || !(msPerCall > 0)) return times;
  let calls = times;
  while (calls < times * MAX_TIME_SIZING && 2 * calls * msPerCall <= msPerRead) calls = 2 * calls;
  return calls;
}

/** Calls in the first round: `timedCalls` (timeSizedCalls()), doubled on to `boundingCalls` while they take less than
 * BOUNDING_READS reads. */
export function firstRoundCalls(timedCalls: number, msPerCall: number | undefined, msPerRead: number, boundingCalls: number): number {
  if (msPerCall === undefined || !(msPerCall > 0)) return timedCalls;
  let calls = timedCalls;
  while (calls < boundingCalls && 2 * calls * msPerCall <= BOUNDING_READS * msPerRead) calls = 2 * calls;
  return calls;
}

/**
 * Calls a round needs before its floor alone can bound a leak below the resolution, for the judged metric that needs
 * the most: a round shorter than that bounds nothing, whatever it measures (a plain process's C heap, an 8 KiB
 * floor at 2 B/call under glibc: 4,096 calls).
 */
function boundingCalls(judged: readonly MetricName[], noise: Partial<Record<MetricName, number>>, resolution: Partial<Record<MetricName, number>>): number {
  return Math.max(0, ...judged.map((metric) => Math.ceil((noise[metric] as number) / (resolution[metric] as number))));
}

/** The allocator heapInfo() reads, or undefined when the C heap cannot be read. */
function cHeapAllocator(): Allocator | undefined {
  try {
    return heapInfo().allocator;
  } catch {
    return undefined;
  }
}

/** Allocators the process carries besides the one heapInfo() reads; nodeleak's own probe is not one. */
function ownAllocatorsHere(cHeap: Allocator | undefined): OwnAllocator[] {
  // With no C heap to read, any allocator mapped is one heapInfo() does not read.
  const probe = bindingPath();
  return ownAllocators(cHeap ?? null, probe ? [probe] : []);
}

/** How long a resource may take to close after the call returned (requests in flight, workers exiting), ms. */
const RESOURCE_GRACE_MS = 250;
const RESOURCE_POLL_MS = 10;

/** One call after warm-up; anything it leaves open (after a short grace for requests in flight) is an error. */
async function checkResources(invoke: Invoke, checkers: Checkers, created: CreatedHandles | null, pace: Pace): Promise<Settled | null> {
  // No settling before: what the warm-up left closing is in `before`, and only what `after` has beyond it counts.
  const before = snapshotResources(checkers);
  // The comparison made after the call, made once here on the snapshot before it (it finds nothing): V8 compiles its
  // code now, and not between the settle below and the check's first read, where those V8 objects would keep the
  // read from settling in one pass.
  findUnclosed(before, { ...before, createdHandles: created?.leftOpen(), callRequests: created?.requestsInFlight() });
  try {
    created?.startRecording();
    if ((await pace.call(invoke, 1)) === 0) return null;
    const after = (): ResourceSnapshot => ({
      ...snapshotResources(checkers),
      createdHandles: created?.leftOpen(),
      startedByCall: created ? (name: string) => created.started(name) : undefined,
      callRequests: created?.requestsInFlight(),
    });
    // Still recording: what the call started may open handles a turn later. One collection, and the turn on which the
    // finalizers of what it found run, close what the call left to the collector; the check's first read settles on
    // from that collection. Only when something is still open does the settle go on to its end before the grace.
    let settled = await settle({ throwIfStopped: pace.throwIfAborted, maxPasses: 1 });
    await clock.nextTurn();
    let unclosed = findUnclosed(before, after());
    if (unclosed) {
      settled = await settle({ since: settled, throwIfStopped: pace.throwIfAborted });
      unclosed = findUnclosed(before, after());
    }
    created?.stopRecording(); // from here the harness's own timers poll
    const deadline = clock.now() + RESOURCE_GRACE_MS;
    while (unclosed && clock.now() < deadline) {
      await clock.sleep(RESOURCE_POLL_MS);
      pace.throwIfAborted();
      unclosed = findUnclosed(before, after());
    }
    if (unclosed) throw unclosed;
    return settled;
  } finally {
    created?.dispose();
  }
}

function growthBetween(metrics: readonly MetricName[], before: Partial<Record<MetricName, number>>, after: Partial<Record<MetricName, number>>): Partial<Record<MetricName, number>> {
  const growth: Partial<Record<MetricName, number>> = {};
  for (const metric of metrics) growth[metric] = (after[metric] as number) - (before[metric] as number);
  return growth;
}

/** The metrics a check judges: the user's, or the defaults. */
function judgedMetrics(settings: Settings): MetricName[] {
  return settings.metrics ?? [...DEFAULT_JUDGED];
}

const WITHOUT_C_HEAP =
  "To check without the C heap, name the metrics to judge without heap and mmap (e.g. metrics: ['v8heap', 'external']); " +
  'the report then says the C heap was not judged.';

const WITHOUT_PROCESS_FIGURES =
  "To check without them, name the metrics to judge without vms and uss (e.g. metrics: ['heap', 'mmap', 'v8heap', 'external']); " +
  'memory an addon maps itself (mmap, VirtualAlloc) then goes unjudged.';

/**
 * Fails before any call when a judged metric only the probe reads cannot be read: a check that cannot see the C heap, or
 * the process's mappings, proves nothing of them.
 */
function refuseUnreadable(judged: readonly MetricName[]): void {
  const refuse = (judgesIt: boolean, read: () => void, advice: string): void => {
    if (!judgesIt) return;
    try {
      read();
    } catch (err) {
      throw withProbeAdvice(err, advice);
    }
  };
  refuse(judged.includes('heap') || judged.includes('mmap'), requireCHeap, WITHOUT_C_HEAP);
  refuse(judged.includes('vms') || judged.includes('uss'), requireProcessFigures, WITHOUT_PROCESS_FIGURES);
}

interface Outcome {
  base: Omit<LeakReport, 'verdict' | 'bytesPerCall' | 'upperBytesPerCall' | 'undecided'>;
  decision: Exclude<Decision, { verdict: 'continue' }> | null;
}

/** What a memory check reads and judges. */
interface MemoryPlan {
  /** Every metric this process can measure; each settled read takes them all. */
  metrics: MetricName[];
  judged: MetricName[];
  cHeap: Allocator | undefined;
  /** Allocators of an addon's own, mapped in the process. */
  own: OwnAllocator[];
  /** Process memory judged: uss (rss where uss cannot be read) beside DEFAULT_JUDGED, or those of the two named. */
  processJudged: MetricName[];
}

/** Planned once the function has been called, so an addon it loaded counts; throws InvalidArgumentError for metrics it
 * cannot measure. */
function planMemory(settings: Settings): MemoryPlan {
  const measured = availableMetrics();
  const cHeap = cHeapAllocator();
  const own = ownAllocatorsHere(cHeap);
  // Unless the user named the metrics, process memory is judged too: pages committed inside address space reserved
  // earlier (a resizable ArrayBuffer, an arena that reserves first and commits as it grows) move no other metric, and an
  // allocator of an addon's own is invisible to the C heap figures (its floor is then as wide as such allocators' steps).
  const judged = [...judgedMetrics(settings)];
  if (settings.metrics === undefined) judged.push(measured.includes('uss') ? 'uss' : 'rss');
  const processJudged = judged.filter((metric) => metric === 'uss' || metric === 'rss');
  const unmeasurable = judged.filter((metric) => !measured.includes(metric));
  if (unmeasurable.length > 0) {
    throw new InvalidArgumentError(
      `metrics: ${unmeasurable.join(', ')} cannot be measured in this process (measurable: ${measured.join(', ')})`,
    );
  }
  return { metrics: measured, judged, cHeap, own, processJudged };
}

/** Rounds of each made-up sequence: enough to reach the code that finds evidence. */
const WARM_ROUNDS = 4;
/** Made-up growth for warmOwnCode(): a one-off rise, a leak of 32 B/call, and falls and rises beyond the floor in turn. */
const MADE_UP_GROWTH: ReadonlyArray<(calls: number, round: number, floor: number) => number> = [
  (_calls, round, floor) => (round === 0 ? 4 * floor : 0),
  (calls) => 32 * calls,
  (_calls, round, floor) => (round % 2 === 0 ? 3 : -3) * floor,
];

/**
 * Runs what runs between a check's settled reads (a read, growthBetween(), decide() over rounds of every kind) before
 * the first one: V8 compiles a function's bytecode and allocates its feedback on its first calls, in the heap v8heap
 * reads, and flushes them again after a few collections without a call. Without this, the harness's own first runs
 * count as the function's growth in the early rounds, and keep the first reads from settling.
 */
function warmOwnCode(plan: MemoryPlan, quiet: boolean): void {
  const figures = sample(plan.metrics);
  growthBetween(plan.metrics, figures, figures);
  const noise = defaultNoise(quiet);
  let first: Round | undefined;
  let options: DecisionOptions | undefined;
  for (const grow of MADE_UP_GROWTH) {
    options = {
      metrics: plan.judged,
      tolerance: {},
      noise,
      resolution: defaultResolution(plan.cHeap),
      levelHeld: defaultLevelHeld(plan.cHeap),
      mmapApart: defaultMmapApart(plan.cHeap),
      firstCalls: 300,
      maxCalls: callBudget(300, 4, quiet),
    };
    const rounds: Round[] = [];
    for (let decision = decide(rounds, options); decision.verdict === 'continue' && rounds.length < WARM_ROUNDS; decision = decide(rounds, options)) {
      const growth: Partial<Record<MetricName, number>> = {};
      for (const metric of plan.judged) growth[metric] = grow(decision.nextCalls, rounds.length, noise[metric] as number);
      rounds.push({ calls: decision.nextCalls, growth });
    }
    first = first ?? rounds[0];
  }
  // Once: more decide() calls here than a check makes between its reads moved growth into checks' first rounds.
  const settled: Settled = { figures: [0, 0, 0, 0], passes: 1, msPerPass: 0 };
  if (first && options) new CleanAfterOne([first], first.calls, asCollected(figures, settled, plan.metrics), options, plan.metrics).enough(settled);
}

/** A settled read's figures with those its settle's last collection left in place of the read's own (see measure.ts:
 * the trim and what runs after a collection allocate): what a read after one collection is compared with. */
function asCollected(figures: Figures, settled: Settled, metrics: readonly MetricName[]): Figures {
  return { ...figures, ...pick(collectedFigures(settled), metrics) };
}

/** A round's read that ends after one collection when cleanOnUpperBound() is clean on what that collection left,
 * compared with `before` (see asCollected()). A class, not a closure, so that warmOwnCode() compiles all of it. */
class CleanAfterOne implements EndAfterOne {
  figures: Figures | undefined;
  decision: Decision | null = null;

  constructor(
    private readonly rounds: readonly Round[],
    private readonly calls: number,
    private readonly before: Figures,
    private readonly options: DecisionOptions,
    private readonly metrics: readonly MetricName[],
  ) {}

  enough(first: Settled): boolean {
    // The figures read with the collection first: a rise there settles without reading the process's figures.
    const collected = pick(collectedFigures(first), this.metrics);
    if (risesBeyondFloor(growthBetween(Object.keys(collected) as MetricName[], this.before, collected), this.options)) return false;
    const figures = firstPassFigures(this.metrics, collected);
    this.decision = cleanOnUpperBound(this.rounds, { calls: this.calls, growth: growthBetween(this.metrics, this.before, figures) }, this.options);
    if (this.decision) this.figures = figures;
    return this.decision !== null;
  }
}

/** Calls in rounds of the sizes decide() asks for until it gives a verdict, or the time budget ends. `since`: the
 * resource check's settle, when it was the last thing to run the function. */
async function checkMemory(invoke: Invoke, settings: Settings, plan: MemoryPlan, quiet: boolean, pace: Pace, started: number, progress: Progress, holdsHandles: boolean, since?: Settled): Promise<Outcome> {
  const { metrics, judged, cHeap, own, processJudged } = plan;
  const fixedNoise = defaultNoise(quiet);
  // A plain process's floors are widened to what a no-op's rounds move in it (calibrate.ts); a quiet one runs V8 on one
  // thread, so its fixed floors hold whatever the machine.
  let moves: Partial<Record<MetricName, number>> | undefined;
  if (!quiet) {
    const judgedFloors = Object.fromEntries(judged.map((metric) => [metric, fixedNoise[metric]]));
    const calibration = await noOpMoves(metrics, judgedFloors, { since, throwIfStopped: pace.throwIfAborted });
    pace.throwIfAborted();
    moves = calibration.moves;
    since = calibration.settled ?? since;
  }
  const allNoise = moves ? widenedNoise(fixedNoise, moves) : fixedNoise;
  const noise: Partial<Record<MetricName, number>> = {};
  for (const metric of judged) noise[metric] = allNoise[metric];
  if (own.length > 0) for (const metric of processJudged) noise[metric] = Math.max(noise[metric] as number, OWN_ALLOCATOR_STEP);
  const widening = Math.max(1, ...judged.map((metric) => (allNoise[metric] as number) / (fixedNoise[metric] as number)));
  const trimCallback = pace.trimCallback(settings.trimCallback);
  const first = await pace.settled(() => settledSample(metrics, { trimCallback, since, throwIfStopped: pace.throwIfAborted }));
  let before = first.figures;
  // The same read's figures as its last collection left them, before the trim and anything after it allocated: what a
  // read that ends after one collection is compared with.
  let beforeCollected = asCollected(before, first.settled, metrics);
  const resolution = defaultResolution(cHeap);
  const msPerRead = first.settled.msPerPass * MIN_SETTLE_PASSES;
  const bounding = boundingCalls(judged, noise, resolution);
  let timedCalls = timeSizedCalls(settings.times, pace.msPerCall, msPerRead);
  let firstCalls = firstRoundCalls(timedCalls, pace.msPerCall, msPerRead, bounding);
  // The budget doubles the round time alone gives: the longer rounds a floor asks for are paid for by the extra
  // doublings of a plain process and of a widening (see callBudget()), not again by a longer first round.
  const budget = (widenedBy: number): number => Math.max(firstCalls, callBudget(timedCalls, settings.retries, quiet, widenedBy));
  const decisionOptions = {
    metrics: judged,
    tolerance: settings.tolerance,
    noise,
    resolution,
    levelHeld: defaultLevelHeld(cHeap),
    mmapApart: defaultMmapApart(cHeap),
    firstCalls,
    maxCalls: budget(widening),
  };
  const rounds: Round[] = [];
  const reports: RoundReport[] = [];
  const used = (): number => rounds.reduce((sum, round) => sum + round.calls, 0);
  let decision: Decision = decide(rounds, decisionOptions);
  let timeCut = '';
  const cutAt = (calls: number, unfitRound?: number): void => {
    // Out of time: the budget becomes the calls made, so decide() gives its verdict on them.
    const budgetMs = Math.round(pace.budgetMs);
    timeCut =
      unfitRound === undefined
        ? ` (time budget of ${budgetMs} ms reached after ${formatNumber(calls)} calls)`
        : ` (time budget of ${budgetMs} ms: the next round, ${formatNumber(unfitRound)} calls, would end past it, so calls stopped after ${formatNumber(calls)}, ${Math.round(clock.now() - started)} ms in)`;
    decisionOptions.firstCalls = Math.min(decisionOptions.firstCalls, calls);
    decisionOptions.maxCalls = calls;
  };
  while (decision.verdict === 'continue') {
    // A round that would end past the budget still runs, cut where the budget ends, while a first round's calls fit:
    // the time left is measured, not given up.
    if (!pace.fits(decision.nextCalls) && rounds.length > 0 && !pace.fits(firstCalls)) {
      cutAt(used(), decision.nextCalls);
      decision = decide(rounds, decisionOptions);
      continue;
    }
    const roundStarted = clock.now();
    // Young garbage is collected every first round's worth of calls: tables sized by the native objects alive at once
    // (node's cleanup hooks, V8's handles) then stop at round 1's size instead of stepping up at each longer round (in
    // a plain process thousands of calls of a fast function run with no collection at all). Collecting more often
    // raises other high-water marks with the number of collections. Calls that hold native objects (each with a V8
    // global handle: node's wrappers, N-API wrapped objects) are collected every two warm-ups' worth of calls, round 1
    // included: the tables such objects size (V8's handle blocks, node's cleanup hooks) then stay within the size the
    // warm-up gave them (they grow by doubling) instead of rising in round 1. Each collection is followed by a turn of
    // the event loop, so the finalizers of what it found dead run then, not all at the round's read; and is a full one
    // once the old generation holds a page of the calls' garbage (collectBetweenCalls()). A collection frees only what
    // the calls left unreachable, so it cannot hide a leak.
    const collectEvery = (roundCalls: number): number => (holdsHandles ? Math.min(roundCalls, 2 * settings.warmupTimes) : roundCalls);
    let wanted = decision.nextCalls;
    let made = await pace.call(invoke, wanted, collectEvery(firstCalls));
    if (made === 0) break;
    if (rounds.length === 0) {
      // The warm-up's pace is that of cold calls (in a plain process V8 compiles a function on a background thread,
      // tens of calls in), so round 1 is sized again from its own calls' pace and runs on to that size before its
      // read. Its size depends on time alone, never on memory, so it cannot bias the verdict.
      while (made === wanted) {
        timedCalls = Math.max(timedCalls, timeSizedCalls(settings.times, pace.msPerCall, msPerRead));
        const resized = firstRoundCalls(timedCalls, pace.msPerCall, msPerRead, bounding);
        if (resized <= made || !pace.fits(resized - made)) break;
        // A batch ends without a collection: objects alive at once stay within the cadence.
        if (holdsHandles) await collectBetweenCalls();
        made = made + (await pace.call(invoke, resized - made, collectEvery(resized)));
        wanted = resized;
      }
      firstCalls = wanted;
      decisionOptions.firstCalls = wanted;
      decisionOptions.maxCalls = budget(widening);
    }
    // A check whose rounds are clean on what the read's first collection leaves ends there: the settled figure could
    // only be lower. Round 1 bounds only pooled with round 2, and a trimCallback's caches are emptied only when settled.
    // Only in a quiet process: in a plain one asking made checks slower and longer (docs/benchmarks.md).
    const endAfterOne = quiet && rounds.length > 0 && !settings.trimCallback ? new CleanAfterOne(rounds, made, beforeCollected, decisionOptions, metrics) : undefined;
    const read = await pace.settled(() => settledSample(metrics, { trimCallback, throwIfStopped: pace.throwIfAborted, endAfterOne }));
    const growth = growthBetween(metrics, read.upperBound ? beforeCollected : before, read.figures);
    rounds.push({ calls: made, growth });
    reports.push({ round: rounds.length, calls: made, growth, ms: clock.now() - roundStarted, ...(read.upperBound ? { upperBound: true } : {}) });
    before = read.figures; // the settled end of one round is the start of the next
    beforeCollected = asCollected(before, read.settled, metrics);
    progress.round(rounds.length, used());
    if (made < wanted) cutAt(used());
    else if (!timeCut) decisionOptions.maxCalls = budget(widening * fallWidening(rounds, judged, noise));
    decision = endAfterOne?.decision ?? decide(rounds, decisionOptions);
  }
  const base = {
    calls: used(),
    warmupCalls: settings.warmupTimes,
    rounds: reports,
    metrics: [...metrics],
    judged: [...judged],
    quiet,
    ms: clock.now() - started,
    reason: decision.verdict === 'continue' ? `no round fitted in the time budget${timeCut}` : decision.reason + timeCut + upperBoundNote(reports),
    cHeapJudged: judged.includes('heap') || judged.includes('mmap'),
    resolution: Object.fromEntries(judged.map((metric) => [metric, decisionOptions.resolution[metric]])),
    noise: { ...noise },
    ...(moves ? { noOpMoves: Object.fromEntries(judged.map((metric) => [metric, moves[metric]])) } : {}),
    ...(own.length > 0 ? { ownAllocators: own.map(({ name, object, how }) => ({ name, object, how, judged: processJudged[0] ?? null })) } : {}),
  };
  return { base, decision: decision.verdict === 'continue' ? null : decision };
}

/** What the reason says of a last round read after one collection. */
function upperBoundNote(reports: readonly RoundReport[]): string {
  const last = reports.at(-1);
  return last?.upperBound ? `; round ${last.round} was read after one collection, not settled: its growth is an upper bound` : '';
}

/**
 * The C heap's growth per call over the rounds behind a leak verdict, or null when it did not grow beyond its floor
 * there (a floor for each round pooled, as each may move by one): a leak called on another metric (a napi_ref keeps
 * its object alive, so v8heap may be called first) can still have C-heap allocation sites.
 */
function cHeapLeakRate(rounds: readonly RoundReport[], leak: { metric: MetricName; bytesPerCall: number; sustainedCalls: number }, floor: number): number | null {
  if (leak.metric === 'heap' || leak.metric === 'mmap') return leak.bytesPerCall;
  let calls = 0;
  let growth = 0;
  let pooled = 0;
  for (let index = rounds.length - 1; index >= 0 && calls < leak.sustainedCalls; index--) {
    calls = calls + rounds[index].calls;
    growth = growth + (rounds[index].growth.heap ?? 0);
    pooled = pooled + 1;
  }
  return calls > 0 && growth > pooled * floor ? growth / calls : null;
}

/**
 * Under `npx nodeleak --where`: profiles two more rounds of the evidence's round size and returns the leak's sites, or
 * that it did not profile a leak the C heap did not grow with (`cHeapBytesPerCall` null: cHeapLeakRate()). The rounds
 * may run past the time budget (the verdict is given already), not past the signal.
 */
async function whereIsTheLeak(invoke: Invoke, rounds: readonly RoundReport[], leak: { sustainedCalls: number }, cHeapBytesPerCall: number | null, pace: Pace): Promise<{ sites?: LeakSite[]; profiledCalls?: number; profiled?: boolean }> {
  if (!profilingRequested()) return {};
  if (cHeapBytesPerCall === null) return { profiled: false };
  // The size of the first round of the evidence: long enough to show the leak, unlike the longer round that confirmed it.
  let index = rounds.length - 1;
  let span = rounds[index]?.calls ?? 0;
  while (index > 0 && span < leak.sustainedCalls) {
    index = index - 1;
    span = span + rounds[index].calls;
  }
  const calls = rounds[index]?.calls ?? 0;
  if (calls === 0) return {};
  const unbounded = new Pace(pace.label, pace.signal, Infinity);
  let profiledCalls = 0;
  try {
    const sites = await leakSites(
      async (n) => {
        const made = await unbounded.call(invoke, n);
        await settle({ throwIfStopped: unbounded.throwIfAborted });
        unbounded.throwIfAborted();
        profiledCalls = profiledCalls + made;
        return made;
      },
      calls,
      cHeapBytesPerCall,
    );
    return { sites, profiledCalls, profiled: true };
  } finally {
    unbounded.dispose();
    // What the profile left that only a memory-reducing collection frees would otherwise be freed in a later check,
    // by the first collection its own calls bring on (zlib's, asynchronous), as a fall in one of its rounds.
    collectAllAvailable();
  }
}

function warnInconclusive(report: LeakReport, label: string, verbosity: number): void {
  if (verbosity === 0) return;
  const open = report.undecided.length > 0 ? `a leak on ${report.undecided.join(', ')} was not ruled out` : 'not every check ran';
  process.stderr.write(`nodeleak: ${label}: inconclusive, passed because allowInconclusive is set: ${open} (${report.reason})\n`);
}

/** Where the check's outcome goes besides its promise: the report folder, and the one-line summary. */
function publish(name: string, verdict: string, report: LeakReportBase, leakingMetric: MetricName | null): void {
  const dir = process.env[REPORT_DIR_ENV];
  if (!dir) return;
  try {
    writeReport(dir, name, verdict, report, leakingMetric);
  } catch (err) {
    // The verdict stands whether or not its copy could be written.
    process.stderr.write(`nodeleak: ${name}: could not write its report to ${REPORT_DIR_ENV}=${dir}: ${(err as Error).message}\n`);
  }
}

async function measure(label: string, invoke: Invoke, settings: Settings, check: StartedCheck): Promise<LeakReport> {
  const pace = new Pace(label, check.signal, settings.maxMs ?? check.defaultMaxMs ?? Infinity);
  const progress = new Progress(label, pace.started, undefined, settings.verbosity > 0);
  const reportName = settings.name ?? check.testTitle ?? label;
  const releaseYoungGeneration = holdYoungGeneration();
  try {
    const report = await measureChecked(invoke, settings, pace, progress);
    publish(reportName, report.verdict, report, null);
    if (process.env[SUMMARY_ENV] === '1' && settings.verbosity > 0) process.stderr.write(`${formatSummary(report, reportName)}\n`);
    return report;
  } catch (err) {
    if (err instanceof MemoryLeakError) publish(reportName, 'leak', err.report, err.metric);
    if (err instanceof InconclusiveError) publish(reportName, 'inconclusive', err.report, null);
    throw err;
  } finally {
    releaseYoungGeneration();
    pace.dispose();
    progress.done();
  }
}

async function measureChecked(invoke: Invoke, settings: Settings, pace: Pace, progress: Progress): Promise<LeakReport> {
  const { label, started } = pace;
  const { quiet } = quietness();
  const judged = settings.checkers.has('memory') ? judgedMetrics(settings) : [];
  refuseUnreadable(judged);
  warnIfNotQuiet(settings.verbosity);
  warmOptimizingCompiler();
  keepCallLoopUnoptimized();
  const unmeasured = (reason: string): LeakReport => ({
    verdict: 'inconclusive',
    calls: 0,
    warmupCalls: settings.warmupTimes,
    rounds: [],
    metrics: [],
    judged,
    quiet,
    ms: clock.now() - started,
    reason,
    cHeapJudged: judged.includes('heap') || judged.includes('mmap'),
    resolution: {},
    noise: {},
    bytesPerCall: {},
    upperBytesPerCall: {},
    undecided: judged,
  });
  const budget = `the time budget of ${Math.round(pace.budgetMs)} ms`;
  let report: LeakReport;
  // Learns the types of the handles warm-up calls create, so the resource check knows what its call replaced.
  const handles = settings.checkers.has('libuv') ? new CreatedHandles() : null;
  let warmed: number;
  let resourcesChecked: boolean;
  let settledByResourceCheck: Settled | undefined;
  let plan: MemoryPlan | undefined;
  let holdsHandles: boolean;
  try {
    // Whether the warm-up's later calls left native objects alive until a collection (a global handle each); the
    // first calls may create some once (bindings node makes on first use).
    const early = Math.ceil(settings.warmupTimes / 2);
    warmed = await pace.call(invoke, early);
    if (warmed === early) warmed = warmed + (await pace.call(invoke, settings.warmupTimes - early, Infinity, true));
    holdsHandles = warmed > early && (pace.handlesLeft ?? 0) > 0;
    // The plan reads which allocators are mapped, so it waits for a call of the function (which may load its addon):
    // with no warm-up, the resource check's call, and then no warmOwnCode() before that call's settle.
    if (warmed === settings.warmupTimes && pace.calls > 0 && settings.checkers.has('memory')) {
      plan = planMemory(settings);
      warmOwnCode(plan, quiet);
    }
    if (warmed < settings.warmupTimes) resourcesChecked = false;
    else if (!settings.checkers.names.some((name) => name !== 'memory')) resourcesChecked = true;
    else {
      settledByResourceCheck = (pace.fits(1) && (await checkResources(invoke, settings.checkers, handles, pace))) || undefined;
      resourcesChecked = settledByResourceCheck !== undefined;
    }
  } finally {
    handles?.dispose();
  }
  if (warmed < settings.warmupTimes) {
    report = unmeasured(`${budget} ended during warm-up, after ${formatNumber(warmed)} of ${formatNumber(settings.warmupTimes)} calls: nothing was measured`);
  } else if (!resourcesChecked) {
    report = unmeasured(`${budget} ended before the resource check's call: nothing was measured`);
  } else if (settings.checkers.has('memory')) {
    // No warm-up and no resource check: one call, not measured, before the plan.
    if (!plan && pace.calls === 0) await pace.call(invoke, 1);
    const { base, decision } = await checkMemory(invoke, settings, plan ?? planMemory(settings), quiet, pace, started, progress, holdsHandles, settledByResourceCheck);
    if (decision?.verdict === 'leak') {
      const cHeapLeak = cHeapLeakRate(base.rounds, decision, base.noise.heap ?? (defaultNoise(quiet).heap as number));
      const where = await whereIsTheLeak(invoke, base.rounds, decision, cHeapLeak, pace);
      throw new MemoryLeakError({
        ...base,
        verdict: 'leak',
        metric: decision.metric,
        bytesPerCall: decision.bytesPerCall,
        leakedBytes: decision.leakedBytes,
        confirmed: decision.confirmed,
        inSteps: decision.inSteps,
        sustainedBytes: decision.sustainedBytes,
        sustainedCalls: decision.sustainedCalls,
        ...where,
      });
    }
    report = decision
      ? {
          ...base,
          verdict: decision.undecided.length > 0 ? 'inconclusive' : 'clean',
          bytesPerCall: decision.bytesPerCall,
          upperBytesPerCall: decision.upperBytesPerCall,
          undecided: decision.undecided,
        }
      : { ...base, verdict: 'inconclusive', bytesPerCall: {}, upperBytesPerCall: {}, undecided: judged };
  } else {
    report = { ...unmeasured('memory not checked (checkers exclude it)'), verdict: 'clean', undecided: [] };
  }
  if (report.verdict === 'inconclusive') {
    if (!settings.allowInconclusive) throw new InconclusiveError(report, label);
    warnInconclusive(report, label, settings.verbosity);
  }
  if (settings.verbosity === 2) process.stderr.write(`${formatClean(report, label)}\n`);
  return report;
}

function functionLabel(fn: unknown): string {
  return typeof fn === 'function' && fn.name ? fn.name : 'anonymous function';
}

/** The label a check is known by before its options are checked: its `name` option, or the function's name. */
function checkLabel(fn: unknown, options: unknown): string {
  const name = (options as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : functionLabel(fn);
}

/**
 * For a check that starts outside a test scope in a test process: it throws UnscopedCheckError beside another test
 * (a runner's hooks loaded, tests run at once), under mocha (its command line) without its root hooks, and in a vitest,
 * jest or node:test test process. Under mocha with its hooks, a check outside a scope (a `done` test, a `before` hook)
 * is the exit report's.
 */
function guardUnscoped(label: string): void {
  if (inTestScope()) return;
  if (testBetweenHooks()) throw new UnscopedCheckError(label, { where: 'beside another test' });
  const runner = detectRunner() === 'mocha' ? (mochaHooksRan() ? null : 'mocha') : runnerRunningHere();
  if (runner !== null) throw new UnscopedCheckError(label, { where: runnerHooksRegistered() ? 'outside the tests' : 'without hooks', runner });
}

/** Starts a check through the in-flight registry: options are checked inside it, so every outcome is tracked. */
function run(where: string, fn: unknown, options: unknown, invoke: () => Invoke): Promise<LeakReport> {
  const label = checkLabel(fn, options);
  const given = options as { signal?: unknown; verbosity?: unknown } | null | undefined;
  const signal = isAbortSignal(given?.signal) ? given.signal : undefined;
  const warnThreads = (why: string): void => {
    if (given?.verbosity === 0) return;
    process.stderr.write(
      `nodeleak: ${label}: other threads of this process may run JavaScript while it is measured (${why}); their ` +
        "allocations count as the function's. Run leak tests in a process of their own (vitest: pool: 'forks').\n",
    );
  };
  guardUnscoped(label);
  return startCheck(label, signal, warnThreads, (check) => {
    const runtime = runtimeWithoutV8();
    if (runtime) {
      throw new UnsupportedPlatformError(
        runtime,
        "a check collects V8's garbage and reads V8's heap, and this runtime has no V8",
        'Node.js 18 or later',
        'heapInfo(), heapTrim() and processInfo() still answer here.',
        'check for leaks',
      );
    }
    if (clock.fakedAtLoad.length > 0) throw new FakeTimersError(label, clock.fakedAtLoad);
    const settings = resolveOptions(where, options);
    return measure(label, invoke(), settings, check);
  });
}

/**
 * Calls `fn` many times and resolves with a report when it leaks neither memory nor resources; rejects with a
 * LeakError subclass when it does, with InconclusiveError when the budget ended first, with CheckAbortedError when
 * stopped through `signal`, with InvalidArgumentError on bad options, and with fn's own error when fn throws.
 */
export function checkLeak(fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
  return run('checkLeak()', fn, options, () => {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`checkLeak(): fn must be a function, got ${describeValue(fn)}`);
    refuseGeneratorFunction('checkLeak()', 'fn', fn);
    return fn;
  });
}

function className(errorClass: ErrorClass): string {
  return errorClass.name || 'the expected class';
}

/** Names of the constructors along `value`'s prototype chain: ['TypeError', 'Error', 'Object']. */
function constructorNames(value: unknown): string[] {
  const names: string[] = [];
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return names;
  for (let proto = Object.getPrototypeOf(value) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined;
    if (typeof ctor?.name === 'string' && ctor.name) names.push(ctor.name);
  }
  return names;
}

/**
 * Whether `err` is an `errorClass`: instanceof, or — for errors made in another realm (jest's test context, a vm
 * context), whose classes are other objects of the same names — a constructor of that name on its prototype chain.
 */
function isInstance(err: unknown, errorClass: ErrorClass): boolean {
  if (err instanceof errorClass) return true;
  return errorClass.name !== '' && constructorNames(err).includes(errorClass.name);
}

/** Like checkLeak(), but every call must throw (or reject with) an instance of `errorClass`. */
export function checkLeakThrows(errorClass: ErrorClass, fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
  return run('checkLeakThrows()', fn, options, () => {
    if (typeof errorClass !== 'function') {
      throw new InvalidArgumentError(`checkLeakThrows(): errorClass must be a class, got ${describeValue(errorClass)}`);
    }
    if (typeof fn !== 'function') throw new InvalidArgumentError(`checkLeakThrows(): fn must be a function, got ${describeValue(fn)}`);
    refuseGeneratorFunction('checkLeakThrows()', 'fn', fn);
    const expected = className(errorClass);
    const check = (err: unknown): void => {
      if (isInstance(err, errorClass)) return;
      const got = err instanceof Error || constructorNames(err).includes('Error') ? `${(err as Error).name}: ${(err as Error).message}` : describeValue(err);
      const chain = constructorNames(err).filter((name) => name !== 'Object');
      throw new UnexpectedBehaviourError(
        expected,
        `expected the function to throw ${expected}, but it threw ${got} ` +
          `(neither instanceof ${expected} nor named so along its class chain: ${chain.join(' → ') || 'none'})`,
        err,
      );
    };
    const returned = (value: unknown): UnexpectedBehaviourError =>
      new UnexpectedBehaviourError(expected, `expected the function to throw ${expected}, but it returned ${describeValue(value)}`, value);
    return (): unknown => {
      let result: unknown;
      try {
        result = fn();
      } catch (err) {
        check(err);
        return undefined;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then((value) => {
          throw returned(value);
        }, check);
      }
      throw returned(result);
    };
  });
}
