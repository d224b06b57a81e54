import { InvalidArgumentError } from './errors';
import { formatNumber, formatRate } from './numbers';
import type { Allocator } from './probe';

/**
 * The leak decision rule: pure (no native code, no I/O, no timers). See docs/decision.md.
 *
 * The harness measures rounds of calls and asks `decide()` after each one for a verdict or the next round's size.
 * It has two parts:
 * - the verdict (`judge()`): from every round so far, per metric, whether the rounds prove a leak, bound any leak
 *   below the resolution, or neither;
 * - the schedule (`wantedCalls()`, `nextCalls()`): how long the next round is when there is no verdict yet.
 *
 * Invariants:
 * - A leak needs evidence: CONFIRMING_ROUNDS consecutive rounds after round 1, each beyond the noise floor, at rates
 *   that agree, the last of them repeating an earlier size; and the growth must keep pace while the calls measured
 *   grow LEVEL_OFF_SPAN-fold past the evidence, to the span's last round (growth that levels off is a cache filling,
 *   not a leak), with no new size's leap standing in for the pace. When the budget ends before that, the evidence
 *   alone gives the leak verdict, which says so.
 * - Clean needs every judged metric bounded below its resolution by its last round, or its last two pooled; and on
 *   the metrics whose level is held (V8's heap; the C heap with its mapped blocks where options.levelHeld names it),
 *   growth held since round 1 at half the resolution or more must have stood level while the calls measured since
 *   round 1 began grew LEVEL_OFF_SPAN-fold (storage that doubles is level between two steps, and steps within any span
 *   in which its entries double).
 * - A round that fell below the floor bounds nothing (a fall can hide a leak); a round right after one that rose
 *   beyond the floor, or grew faster than the resolution, bounds only pooled with it. Round 1 has no round before it
 *   to show what the first read caught in use, so it bounds only pooled with round 2: a clean verdict takes two rounds.
 * - After evidence of a leak, only rounds after it that each fell away from its pace bound (two, pooled, or one alone
 *   after one within the floor): one release by someone else cannot pass a leak as growth that levelled off.
 * - A bound widens each round by the floor or, once two rounds have fallen further than it, by the largest fall.
 * - At most MAX_ROUNDS_PER_SIZE rounds of one size, LEVEL_REPEATS more while a level is waited for: the number of rounds
 *   is logarithmic in the budget.
 */

export type MetricName = 'heap' | 'mmap' | 'uss' | 'rss' | 'vms' | 'v8heap' | 'external';

export const METRIC_NAMES: readonly MetricName[] = ['heap', 'mmap', 'uss', 'rss', 'vms', 'v8heap', 'external'];

export interface Round {
  /** Calls made in this round. */
  calls: number;
  /** after − before for each measured metric, bytes (may be < 0). */
  growth: Partial<Record<MetricName, number>>;
}

export interface DecisionOptions {
  /** Metrics to judge (those measured). */
  metrics: readonly MetricName[];
  /** Bytes of growth users accept as bounded (caches), per metric, per test. Missing: 0. */
  tolerance: Partial<Record<MetricName, number>>;
  /** Noise floor per metric for ONE round in this process, bytes. Required for every judged metric. */
  noise: Partial<Record<MetricName, number>>;
  /** Size of the first measured round (the user's `times`, or more for a fast function). */
  firstCalls: number;
  /** Budget of measured calls before a verdict must be given. */
  maxCalls: number;
  /**
   * Smallest leak, bytes per call, that must not pass as clean, per metric. Missing: defaultResolution() (the strictest,
   * with no allocator named).
   * A metric is clean once its last round (or last two) bounds the leak below this figure.
   */
  resolution?: Partial<Record<MetricName, number>>;
  /**
   * Metrics whose level, once risen, must have stood a while before a clean verdict (levelPending()); 'v8heap' and
   * 'heap' are the ones it applies to. Missing: both (the strictest).
   */
  levelHeld?: readonly MetricName[];
  /**
   * Whether `mmap` counts blocks in use that `heap` leaves out (defaultMmapApart()); the C heap's level is then held on
   * the two together. Missing: glibc's (true).
   */
  mmapApart?: boolean;
}

export type Decision =
  | { verdict: 'continue'; nextCalls: number; reason: string }
  | {
      verdict: 'clean';
      /** Least-squares estimate per judged metric (may be ≤ 0). */
      bytesPerCall: Partial<Record<MetricName, number>>;
      /** Upper bound on the leak per judged metric, from the last round (or last two) and the noise floor; Infinity when
       * the budget ran out on a round that fell below the floor. */
      upperBytesPerCall: Partial<Record<MetricName, number>>;
      /** Metrics the budget ran out on before their bound fell below the resolution (empty when none). */
      undecided: MetricName[];
      reason: string;
    }
  | {
      verdict: 'leak';
      metric: MetricName;
      /**
       * Whether the growth kept pace while the calls measured grew LEVEL_OFF_SPAN-fold past the evidence; false when
       * the budget ended first, so growth that levels off later (a cache) was not ruled out.
       */
      confirmed: boolean;
      /** The growth came in steps that kept coming back to its pace (storage that doubles), not at one rate each round. */
      inSteps: boolean;
      /** Growth at the leak's rate, bytes, over `sustainedCalls` calls: a cache that levels off beyond it looks alike. */
      sustainedBytes: number;
      sustainedCalls: number;
      /** Rate over the rounds of the evidence and those after it. */
      bytesPerCall: number;
      /** The rate those rounds allow, given the noise floor: lowerBytesPerCall ≤ true rate ≤ upperBytesPerCall. */
      lowerBytesPerCall: number;
      upperBytesPerCall: number;
      /** Growth the leak explains over all rounds (round 1 only up to the rate; rounds that fell below the floor left out). */
      leakedBytes: number;
      reason: string;
    };

/**
 * Noise floor of one settled round, per metric, in a quiet process (GLIBC_TUNABLES=glibc.malloc.tcache_count=0,
 * node --single-threaded) or a plain one: how far a round may move, falls included, without a leak. A fall hides a
 * leak, so the floor covers what a round can fall and most rises; larger rises cost calls, not false leaks. How each
 * figure was measured: docs/decision.md.
 */
export function defaultNoise(quiet: boolean): Partial<Record<MetricName, number>> {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  return quiet
    ? { heap: 512, mmap: 128 * KiB, rss: 512 * KiB, uss: 512 * KiB, vms: 1 * MiB, v8heap: 16 * KiB, external: 8 * KiB }
    : { heap: 8 * KiB, mmap: 128 * KiB, rss: 1 * MiB, uss: 1 * MiB, vms: 2 * MiB, v8heap: 64 * KiB, external: 16 * KiB };
}

/**
 * The metrics whose level is held (DecisionOptions.levelHeld) under the C heap's allocator. V8's heap after a full
 * collection is the objects still reachable. The C heap is what the allocator holds, wherever the probe reads it: storage
 * that doubles stands level between two steps under every allocator, and holding a level can cost a clean check calls
 * but cannot pass a leak. Under glibc, jemalloc and tcmalloc clean functions' levels were measured to stand over repeats
 * of a round's length; Windows' heaps only under Wine, macOS's zones not at all (docs/decision.md). Without an
 * allocator (no C heap figures) there is nothing to hold.
 */
export function defaultLevelHeld(allocator: Allocator | undefined): MetricName[] {
  return allocator === undefined ? ['v8heap'] : ['v8heap', 'heap'];
}

/**
 * Whether the allocator's `mmap` figure counts blocks in use that its `heap` figure leaves out (DecisionOptions.mmapApart).
 * glibc counts a block past its mmap threshold in `mmap` only, and Windows' heaps count a block too large for a segment
 * (one they VirtualAlloc) there, so storage that grows past it moves from one to the other. jemalloc's and tcmalloc's
 * `heap` counts every block in use, large ones too, and their `mmap` is the memory they have mapped, free pages
 * included, which moves by megabytes as they keep or return them. macOS's zones count large blocks in `heap`; the probe
 * reads no `mmap` there.
 */
export function defaultMmapApart(allocator: Allocator | undefined): boolean {
  return allocator === 'glibc' || allocator === 'windows-heap';
}

/** A floor is at least this many times the largest move of a no-op's round measured in the process itself. */
export const MEASURED_NOISE_FACTOR = 1.5;

/**
 * The floors a check uses: `fixed` (defaultNoise()), widened per metric to MEASURED_NOISE_FACTOR × `noOpMoves`, the
 * largest |growth| of a no-op's rounds measured in this process. Never narrower than `fixed`: a wider floor costs
 * calls (the resolution is unchanged), a narrower one would turn a noisier process's moves into evidence.
 */
export function widenedNoise(
  fixed: Partial<Record<MetricName, number>>,
  noOpMoves: Partial<Record<MetricName, number>>,
): Partial<Record<MetricName, number>> {
  const floors: Partial<Record<MetricName, number>> = { ...fixed };
  for (const [metric, floor] of Object.entries(fixed) as [MetricName, number][]) {
    const moved = noOpMoves[metric];
    if (moved !== undefined && Number.isFinite(moved)) floors[metric] = Math.max(floor, Math.ceil(MEASURED_NOISE_FACTOR * Math.abs(moved)));
  }
  return floors;
}

/**
 * Smallest leak (bytes per call) a clean verdict rules out, per metric; `allocator` is heapInfo()'s, when known.
 * heap: below the smallest leak nodeleak promises to catch, one 16 B block every 10th call. glibc counts that block as
 * a 32 B chunk (3.2 B/call); jemalloc, tcmalloc, macOS's zones and Windows' heaps count 16 B (1.6 B/call).
 */
export function defaultResolution(allocator?: Allocator): Partial<Record<MetricName, number>> {
  // mmap counts only blocks of 128 KiB and up; vms moves by pages (a raw mmap leak is ≥ 4 KiB a call); rss/uss by pages
  // of touched memory; external by Buffer pool slabs (8 KiB); v8heap: one object of a few fields a call (32 B where V8
  // compresses no pointers, as in Node's builds).
  return { heap: allocator === 'glibc' ? 2 : 1, mmap: 1024, rss: 1024, uss: 1024, vms: 4096, v8heap: 32, external: 32 };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isBytes(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function checkPerMetric(
  what: string,
  table: unknown,
  required: readonly MetricName[] | null,
): Partial<Record<MetricName, number>> {
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw new InvalidArgumentError(`decide(): options.${what} must be an object of bytes per metric, got ${describe(table)}`);
  }
  for (const [name, value] of Object.entries(table)) {
    if (!METRIC_NAMES.includes(name as MetricName)) {
      throw new InvalidArgumentError(`decide(): options.${what} names unknown metric '${name}' (known: ${METRIC_NAMES.join(', ')})`);
    }
    if (!isBytes(value)) {
      throw new InvalidArgumentError(`decide(): options.${what}.${name} must be a finite number ≥ 0, got ${describe(value)}`);
    }
  }
  for (const name of required ?? []) {
    if (!(name in table)) throw new InvalidArgumentError(`decide(): options.${what} has no figure for metric '${name}'`);
  }
  return table as Partial<Record<MetricName, number>>;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return String(value);
}

function validate(rounds: readonly Round[], options: DecisionOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`decide(): options must be an object, got ${describe(options)}`);
  }
  const { metrics, firstCalls, maxCalls } = options;
  if (!Array.isArray(metrics) || metrics.length === 0) {
    throw new InvalidArgumentError('decide(): options.metrics must be a non-empty array of metric names');
  }
  for (const name of metrics) {
    if (!METRIC_NAMES.includes(name)) {
      throw new InvalidArgumentError(`decide(): unknown metric ${describe(name)} (known: ${METRIC_NAMES.join(', ')})`);
    }
  }
  if (new Set(metrics).size !== metrics.length) throw new InvalidArgumentError('decide(): options.metrics names a metric twice');
  checkPerMetric('tolerance', options.tolerance, null);
  checkPerMetric('noise', options.noise, metrics);
  if (options.resolution !== undefined) {
    const resolution = checkPerMetric('resolution', options.resolution, null);
    for (const [name, value] of Object.entries(resolution)) {
      if (value === 0) throw new InvalidArgumentError(`decide(): options.resolution.${name} must be > 0`);
    }
  }
  if (options.levelHeld !== undefined) {
    if (!Array.isArray(options.levelHeld) || !options.levelHeld.every((name) => METRIC_NAMES.includes(name))) {
      throw new InvalidArgumentError(`decide(): options.levelHeld must be an array of metric names (known: ${METRIC_NAMES.join(', ')})`);
    }
  }
  if (options.mmapApart !== undefined && typeof options.mmapApart !== 'boolean') {
    throw new InvalidArgumentError(`decide(): options.mmapApart must be a boolean, got ${describe(options.mmapApart)}`);
  }
  if (!isCount(firstCalls)) {
    throw new InvalidArgumentError(`decide(): options.firstCalls must be a positive integer, got ${describe(firstCalls)}`);
  }
  if (!isCount(maxCalls) || maxCalls < firstCalls) {
    throw new InvalidArgumentError(
      `decide(): options.maxCalls must be an integer ≥ firstCalls (${firstCalls}), got ${describe(maxCalls)}`,
    );
  }
  if (!Array.isArray(rounds)) throw new InvalidArgumentError('decide(): rounds must be an array');
  rounds.forEach((round, index) => {
    if (round === null || typeof round !== 'object') {
      throw new InvalidArgumentError(`decide(): rounds[${index}] must be an object`);
    }
    if (!isCount(round.calls)) {
      throw new InvalidArgumentError(`decide(): rounds[${index}].calls must be a positive integer, got ${describe(round.calls)}`);
    }
    for (const name of metrics) {
      const value = round.growth?.[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidArgumentError(`decide(): rounds[${index}].growth.${name} must be a finite number, got ${describe(value)}`);
      }
    }
  });
}

/** Least-squares slope through the origin of growth against calls: bytes per call. */
function slope(rounds: readonly Round[], metric: MetricName): number {
  let sumGrowthCalls = 0;
  let sumCallsSquared = 0;
  for (const round of rounds) {
    sumGrowthCalls = sumGrowthCalls + (round.growth[metric] as number) * round.calls;
    sumCallsSquared = sumCallsSquared + round.calls * round.calls;
  }
  return sumGrowthCalls / sumCallsSquared;
}

/** Bytes to the byte, thousands separated, as a reason lists each round's growth: "192,304 B". */
function exactBytes(bytes: number): string {
  return `${formatNumber(Math.round(bytes))} B`;
}

/** Smallest multiple of firstCalls by a power of two that is ≥ calls. */
function roundSize(calls: number, firstCalls: number): number {
  let size = firstCalls;
  while (size < calls) size = size * 2;
  return size;
}

/** How many rounds at the end of `rounds` made exactly `calls` calls. */
function trailingRoundsOfSize(rounds: readonly Round[], calls: number): number {
  let count = 0;
  while (count < rounds.length && rounds[rounds.length - 1 - count].calls === calls) count = count + 1;
  return count;
}

/** Two rounds' rates agree within this factor, once each is widened by the noise floor. */
const RATE_AGREEMENT = 1.5;

/** Consecutive rounds after round 1 that must grow at agreeing rates: the evidence of a leak. */
const CONFIRMING_ROUNDS = 3;

/** The evidence's growth must keep pace while the calls measured grow this many times past it. */
const LEVEL_OFF_SPAN = 3;

/** Rounds of one size before the schedule doubles it. */
const MAX_ROUNDS_PER_SIZE = CONFIRMING_ROUNDS + 1;

/** Rounds of the longest size so far a level may wait for, beyond MAX_ROUNDS_PER_SIZE, before a longer one. */
const LEVEL_REPEATS = 16;

/**
 * The floor bounds widen each round by: the noise floor or, once two rounds have fallen further than it, the largest
 * fall. Two such falls show the process's noise does not keep within the floor, and a fall as large can hide in a
 * leak's growth; one alone may be a one-off release (a cache emptied once, another test's worker torn down). A fall of
 * the C heap that its mapped blocks took up in the same round is memory moved, not handed back (storage that grew past
 * the mmap threshold), and does not count.
 */
function boundFloor(rounds: readonly Round[], metric: MetricName, noise: number): number {
  const moved = (round: Round): boolean => metric === 'heap' && (round.growth.mmap ?? 0) >= -(round.growth.heap as number);
  const falls = rounds.filter((round) => !moved(round)).map((round) => -(round.growth[metric] as number)).filter((fall) => fall > noise);
  return falls.length >= 2 ? Math.max(...falls) : noise;
}

/**
 * How many times wider than its floor the bounds of the widest-bounded metric are (≥ 1; see boundFloor()): bounding
 * rounds must be as many times longer.
 */
export function fallWidening(rounds: readonly Round[], metrics: readonly MetricName[], noise: Partial<Record<MetricName, number>>): number {
  return Math.max(1, ...metrics.map((metric) => {
    const floor = noise[metric] as number;
    return boundFloor(rounds, metric, floor) / Math.max(floor, 1);
  }));
}

/** One metric's rounds, and what the rule asks of each. */
class MetricRounds {
  /** The floor a bound is widened by (see boundFloor()). */
  readonly boundNoise: number;

  constructor(
    readonly rounds: readonly Round[],
    readonly metric: MetricName,
    readonly noise: number,
  ) {
    this.boundNoise = boundFloor(rounds, metric, noise);
  }

  get last(): number {
    return this.rounds.length - 1;
  }

  growth(index: number): number {
    return this.rounds[index].growth[this.metric] as number;
  }

  calls(index: number): number {
    return this.rounds[index].calls;
  }

  /** Calls of rounds 0…index. */
  callsThrough(index: number): number {
    let calls = 0;
    for (let round = 0; round <= index; round++) calls = calls + this.calls(round);
    return calls;
  }

  /** Least and greatest rate the round allows, given the floor. */
  lower(index: number): number {
    return (this.growth(index) - this.noise) / this.calls(index);
  }

  upper(index: number): number {
    return (this.growth(index) + this.noise) / this.calls(index);
  }

  /** Growth and calls of rounds first…last, summed. */
  pooled(first: number, last: number): { growth: number; calls: number } {
    let growth = 0;
    let calls = 0;
    for (let index = first; index <= last; index++) {
      growth = growth + this.growth(index);
      calls = calls + this.calls(index);
    }
    return { growth, calls };
  }

  /** The greatest rate rounds first…last allow, pooled, with each widened by boundNoise: what they bound a leak to. */
  bound(first: number, last: number): number {
    const { growth, calls } = this.pooled(first, last);
    return (growth + (last - first + 1) * this.boundNoise) / calls;
  }

  beyondNoise(index: number): boolean {
    return this.growth(index) > this.noise;
  }

  /** False for a round that fell further than the floor allows. */
  floorHeld(index: number): boolean {
    return this.growth(index) >= -this.noise;
  }

  /** Whether a round grew faster than `rate` allows, even with the floor taken off. */
  leapsPast(index: number, rate: number): boolean {
    return this.lower(index) > rate * RATE_AGREEMENT;
  }

  ratesAgree(a: number, b: number): boolean {
    return this.upper(a) * RATE_AGREEMENT >= this.lower(b) && this.upper(b) * RATE_AGREEMENT >= this.lower(a);
  }

  /**
   * A round longer than every earlier one: it can raise high-water marks (tables sized by the objects alive at once,
   * V8 pages), so it cannot complete evidence; a repeat of an earlier size cannot raise them.
   */
  isNewSize(index: number): boolean {
    return this.rounds.slice(0, index).every((round) => round.calls < this.calls(index));
  }

  /** A round that bounds on its own: its floor held, and the round before it neither rose beyond the floor (memory
   * a read caught in flight comes back as a fall in the next round) nor grew faster than `resolution` (a leak that
   * round showed can hide a fall of the noise in the next): after such a round it bounds only pooled with it. Round 1
   * never does: memory held at the first read by someone else (another thread's isolate, another test's timer) and
   * freed during round 1 would hide a leak's growth, and only the next round shows that growth again. */
  boundsAlone(index: number, resolution: number): boolean {
    return index > 0 && this.floorHeld(index) && !this.beyondNoise(index - 1) && this.growth(index - 1) <= resolution * this.calls(index - 1);
  }

  /**
   * Rounds first…complete show a leak's growth: after round 1, each beyond the floor, at rates that agree, the last
   * repeating an earlier size; whether or not the growth kept its pace after them.
   */
  isEvidence(first: number, complete: number): boolean {
    if (this.isNewSize(complete)) return false;
    for (let a = first; a <= complete; a++) {
      if (!this.beyondNoise(a)) return false;
      for (let b = a + 1; b <= complete; b++) if (!this.ratesAgree(a, b)) return false;
    }
    return true;
  }

  /** The latest evidence at a rate a leak verdict takes (its lower rate at least half the resolution), with its rate. */
  latestEvidence(resolution: number): (Evidence & { rate: number }) | null {
    for (let complete = this.last; complete >= CONFIRMING_ROUNDS; complete--) {
      const first = complete - CONFIRMING_ROUNDS + 1;
      if (!this.isEvidence(first, complete)) continue;
      const { growth, calls } = this.pooled(first, complete);
      if ((growth - CONFIRMING_ROUNDS * this.noise) / calls >= resolution / 2) return { first, complete, rate: growth / calls };
    }
    return null;
  }

  /** Rounds at the end, after round 1, each beyond the floor and agreeing with every later one (at most CONFIRMING_ROUNDS). */
  trailingAgreeing(): number {
    let run = 0;
    const agreesWithLater = (index: number): boolean => {
      for (let other = index + 1; other <= this.last; other++) if (!this.ratesAgree(index, other)) return false;
      return true;
    };
    while (run < CONFIRMING_ROUNDS && this.last - run >= 1 && this.beyondNoise(this.last - run) && agreesWithLater(this.last - run)) {
      run = run + 1;
    }
    return run;
  }
}

/** Evidence of a leak: rounds first…complete, and every round after them keeping pace. */
interface Evidence {
  first: number;
  complete: number;
}

/**
 * The earliest evidence whose growth has kept pace since: CONFIRMING_ROUNDS consecutive rounds after round 1 (round 1
 * takes the warm-up's leftovers), each beyond the floor, at rates that agree (a decay from round to round is a cache
 * filling), the last repeating an earlier size; and every later round beyond the floor, their rate pooled, widened by
 * the floor, within RATE_AGREEMENT of the evidence's: a rate that falls away is growth levelling off, and one that
 * leaps is noise on top of it (memory a read caught in flight). A later round of a new size that leaps is left out of
 * the pool (a high-water step, which does not come back); at least one later round must remain, and the last one must
 * keep pace too (see lastKeepsPace()). A leak that keeps quickening fails when the budget ends, as a leak while
 * evidence is pending, else as undecided.
 */
function findEvidence(series: MetricRounds): Evidence | null {
  for (let complete = CONFIRMING_ROUNDS; complete <= series.last; complete++) {
    const first = complete - CONFIRMING_ROUNDS + 1;
    if (!series.isEvidence(first, complete) || !keepsPaceAfter(series, first, complete)) continue;
    return { first, complete };
  }
  return null;
}

function keepsPaceAfter(series: MetricRounds, first: number, complete: number): boolean {
  if (complete === series.last) return true;
  const evidence = series.pooled(first, complete);
  const evidenceRate = evidence.growth / evidence.calls;
  let laterGrowth = 0;
  let laterCalls = 0;
  let laterRounds = 0;
  for (let later = complete + 1; later <= series.last; later++) {
    if (!series.beyondNoise(later)) return false;
    // A new size that leaps past the pace took a one-off high-water step: pooled, it would make up for rounds after it
    // that fall short.
    if (series.isNewSize(later) && series.leapsPast(later, evidenceRate)) continue;
    laterGrowth = laterGrowth + series.growth(later);
    laterCalls = laterCalls + series.calls(later);
    laterRounds = laterRounds + 1;
  }
  if (laterRounds === 0) return false;
  const laterUpper = (laterGrowth + laterRounds * series.noise) / laterCalls;
  const laterLower = (laterGrowth - laterRounds * series.noise) / laterCalls;
  return laterUpper * RATE_AGREEMENT >= evidenceRate && laterLower <= evidenceRate * RATE_AGREEMENT && lastKeepsPace(series, complete, evidenceRate);
}

/**
 * The last round after the evidence keeps its pace on its own: pooled, a round that grew fast early in the span would
 * make up for growth that stopped before its end (growth levelling off). A last round right after a repeat that leapt
 * past the pace (memory a read caught in flight) is judged pooled with it, as the memory that one caught comes back in
 * the next.
 */
function lastKeepsPace(series: MetricRounds, complete: number, evidenceRate: number): boolean {
  const { last } = series;
  const from = last - 1 > complete && series.leapsPast(last - 1, evidenceRate) && !series.isNewSize(last - 1) ? last - 1 : last;
  const { growth, calls } = series.pooled(from, last);
  return ((growth + (last - from + 1) * series.noise) / calls) * RATE_AGREEMENT >= evidenceRate;
}

/**
 * The rounds whose level levelPending() holds for a metric, or null: V8's heap's own; the C heap's own, or, when `mmap`
 * is judged and counts blocks `heap` leaves out (`mmapApart`), the two together, since storage that doubles moves from
 * one to the other past the mmap threshold (the C heap falls as much as `mmap` rises), so neither alone rises as the
 * storage does.
 */
function levelSeries(series: MetricRounds, metrics: readonly MetricName[], held: readonly MetricName[], mmapApart: boolean): MetricRounds | null {
  if (!held.includes(series.metric)) return null;
  if (series.metric === 'v8heap') return series;
  if (series.metric !== 'heap') return null;
  if (!metrics.includes('mmap') || !mmapApart) return series;
  const total = series.rounds.map((round) => ({ calls: round.calls, growth: { heap: (round.growth.heap as number) + (round.growth.mmap as number) } }));
  return new MetricRounds(total, 'heap', series.noise);
}

/** Growth and calls after round 1, through each round: index 0 is round 1's end (0 and 0). */
function afterRound1(series: MetricRounds): { levels: number[]; callsAfter: number[] } {
  const levels = [0];
  const callsAfter = [0];
  for (let index = 1; index <= series.last; index++) {
    levels.push(levels[index - 1] + series.growth(index));
    callsAfter.push(callsAfter[index - 1] + series.calls(index));
  }
  return { levels, callsAfter };
}

/** Growth that has stood level only lately: see levelPending(). */
interface Level {
  /** Bytes the rounds after round 1 hold at the last one, beyond the tolerance and the floor. */
  held: number;
  /** The round since which the level has stood: no later round rose from it (levelPending()). */
  since: number;
  /** Calls after round 1 up to and including `since`. */
  callsTo: number;
  /** Calls still to measure before the level has stood long enough. */
  moreCalls: number;
  /** Calls measured since round 1 began. */
  measured: number;
}

/**
 * Growth that levelled off too lately to pass: after round 1, the rounds hold growth beyond the tolerance and the floor,
 * reached at an average of at least half the resolution, and level only since a round after which the calls measured
 * since round 1 began have not yet grown LEVEL_OFF_SPAN-fold. A leak whose growth comes in steps further and further
 * apart (a hash table or an array doubling its storage) is level between two steps, for as long as it grew before the
 * last one; growth that stopped stays level. Counting round 1's calls keeps that true of storage that already held
 * entries from the warm-up and round 1 (its steps are as far apart as its entries). Null when no wait is due. Falls
 * count: a level that came back down (memory caught in flight, a cache emptied) holds nothing.
 * The level stands from the first round after which no later round's level rose beyond the floor plus half the
 * resolution for each call between them: a creep far below the resolution (allocator bookkeeping, a few hundred bytes
 * a round) does not move it, a step does. A round longer than all before can raise high-water marks (tables sized by
 * what is alive at once) by hundreds of KB, a step that moves the level, so the wait is made of repeats of the longest
 * size (wantedCalls()).
 */
function levelPending(series: MetricRounds, tolerance: number, resolution: number): Level | null {
  const { last, noise } = series;
  const { levels, callsAfter } = afterRound1(series);
  const final = levels[last];
  const held = final - tolerance - noise;
  if (held <= 0) return null;
  const standsFrom = (from: number): boolean => {
    for (let later = from + 1; later <= last; later++) {
      if (levels[later] - levels[from] > noise + (resolution / 2) * (callsAfter[later] - callsAfter[from])) return false;
    }
    return true;
  };
  let since = 1;
  while (!standsFrom(since)) since = since + 1;
  const callsTo = callsAfter[since];
  if (held / callsTo < resolution / 2) return null;
  const round1 = series.calls(0);
  const moreCalls = (LEVEL_OFF_SPAN - 1) * (round1 + callsTo) - (callsAfter[last] - callsTo);
  return moreCalls > 0 ? { held, since, callsTo, moreCalls, measured: round1 + callsAfter[last] } : null;
}

/** Growth in steps that recur at their own pace (findSteps()): rounds `from`…`to`, after round 1. */
interface Steps {
  from: number;
  to: number;
  /** Growth after round 1 through round `from`, and its calls. */
  held: number;
  heldCalls: number;
  /** Growth of rounds after `from` through `to`, and their calls. */
  sustainedBytes: number;
  sustainedCalls: number;
  /** Growth after round 1 through the last round. */
  leakedBytes: number;
}

/**
 * Growth in steps that keep coming back to the pace they set: storage that doubles when full (a Map, an array, a C++
 * vector) stands level between two steps for as long as it grew before the last one, so no level stands long enough to
 * pass it (levelPending()) and no run of rounds grows at one rate (findEvidence()). A pace: the growth after round 1 up
 * to a round `from`, at least half the resolution with the floor taken off. Steps: CONFIRMING_ROUNDS times, the growth
 * since `from` has fallen away from that pace up to a round (below it by RATE_AGREEMENT, the floor added) and the next
 * round brings it back (within RATE_AGREEMENT, the floor taken off), that round a repeat of an earlier size (a round
 * longer than all before it can raise high-water marks, a repeat cannot); the last return once the calls measured since
 * round 1 began have grown LEVEL_OFF_SPAN-fold past `from`, with growth beyond the tolerance. No round after `from`
 * falls below the highest level before it by more than the floor and stays there, through a round after the last return
 * (memory a read caught in flight comes back as a fall; a cache emptied now and then falls at each emptying). Growth
 * that slows (a cache filling up to its size) falls away and does not come back; growth that keeps its pace over
 * LEVEL_OFF_SPAN times the calls it was first seen in is a leak, as evidence confirmed over that span is (judge()).
 */
function findSteps(series: MetricRounds, tolerance: number, resolution: number): Steps | null {
  const { last, noise } = series;
  const { levels, callsAfter } = afterRound1(series);
  const round1 = series.calls(0);
  // A fall that the next round takes back is the read's noise; one that stays, or that the last round shows, is not.
  const fallsAfter = (from: number): boolean => {
    let top = levels[from];
    for (let index = from + 1; index <= last; index++) {
      if (levels[index] < top - noise && (index === last || levels[index + 1] < top - noise)) return true;
      top = Math.max(top, levels[index]);
    }
    return false;
  };
  for (let from = 1; from < last; from++) {
    const lowerPace = (levels[from] - noise) / callsAfter[from];
    const upperPace = (levels[from] + noise) / callsAfter[from];
    if (lowerPace < resolution / 2 || fallsAfter(from)) continue;
    let fallenAway = false;
    let returns = 0;
    for (let to = from + 1; to < last; to++) {
      const sustainedBytes = levels[to] - levels[from];
      const sustainedCalls = callsAfter[to] - callsAfter[from];
      const wasAway = fallenAway;
      fallenAway = ((sustainedBytes + noise) / sustainedCalls) * RATE_AGREEMENT < lowerPace;
      // The round that brings the growth back must be a repeat, the growth away from its pace up to the round before.
      const back = ((sustainedBytes - noise) / sustainedCalls) * RATE_AGREEMENT >= upperPace;
      if (wasAway && back && !series.isNewSize(to)) {
        returns = returns + 1;
        const spanned = round1 + callsAfter[to] >= LEVEL_OFF_SPAN * (round1 + callsAfter[from]);
        if (returns >= CONFIRMING_ROUNDS && spanned && levels[to] > tolerance + noise) {
          const held = levels[from];
          return { from, to, held, heldCalls: callsAfter[from], sustainedBytes, sustainedCalls, leakedBytes: levels[last] };
        }
      }
    }
  }
  return null;
}

/** One metric's verdict on the rounds so far. */
type Judgement =
  | {
      state: 'leak' | 'pending';
      /** 'pending': the evidence is there, its growth has not yet kept pace over LEVEL_OFF_SPAN times its calls. */
      evidence: Evidence;
      /** Found by findSteps(), not findEvidence(). */
      inSteps: boolean;
      bytesPerCall: number;
      lowerBytesPerCall: number;
      upperBytesPerCall: number;
      leakedBytes: number;
      sustainedBytes: number;
      sustainedCalls: number;
      /** leakedBytes relative to what tolerance + noise allow; orders leaking metrics. */
      excess: number;
      reason: string;
    }
  | {
      state: 'clean' | 'open';
      /** Least-squares estimate (rounds after round 1 when there are any). */
      bytesPerCall: number;
      /** Bound on the leak from the last round or the last two; Infinity when neither bounds. */
      upperBytesPerCall: number;
      /** 'open' with a bound below the resolution: growth that has stood level too short a span (levelPending()). */
      level?: Level;
      reason: string;
    };

/** The verdict part of the rule: pure, from every round so far. `levelled`: the rounds whose level must stand (levelSeries()). */
function judge(series: MetricRounds, tolerance: number, resolution: number, levelled: MetricRounds | null): Judgement {
  const { rounds, metric, noise, last } = series;
  // Growth of the rounds after the first that held the floor: a round that fell below it handed back memory held
  // before it (a cache emptied), which says nothing of a leak.
  let grown = 0;
  for (let index = 1; index <= last; index++) if (series.floorHeld(index)) grown = grown + series.growth(index);
  const evidence = findEvidence(series);
  if (evidence) {
    const { growth: sustainedBytes, calls: sustainedCalls } = series.pooled(evidence.first, last);
    const spanned = last - evidence.first + 1;
    const rate = sustainedBytes / sustainedCalls;
    const lowerRate = (sustainedBytes - spanned * noise) / sustainedCalls;
    // Growth the leak explains: what the later rounds grew, and of round 1 only what the rate accounts for.
    const leaked = grown + (series.floorHeld(0) ? Math.min(series.growth(0), rate * series.calls(0) + noise) : 0);
    if (lowerRate >= resolution / 2 && leaked > tolerance + noise) {
      const confirmed = series.callsThrough(last) >= LEVEL_OFF_SPAN * series.callsThrough(evidence.complete);
      const seen = rounds
        .slice(evidence.first)
        .map((round) => `${exactBytes(round.growth[metric] as number)} in ${formatNumber(round.calls)} calls`)
        .join(', ');
      return {
        state: confirmed ? 'leak' : 'pending',
        evidence,
        inSteps: false,
        bytesPerCall: rate,
        lowerBytesPerCall: lowerRate,
        upperBytesPerCall: (sustainedBytes + spanned * noise) / sustainedCalls,
        leakedBytes: leaked,
        sustainedBytes,
        sustainedCalls,
        excess: leaked / (tolerance + noise + 1),
        reason:
          `${metric} grew in every round at one rate: ${seen} (noise floor ${exactBytes(noise)}): ${formatRate(rate)}, ` +
          `${exactBytes(leaked)} in all, beyond the tolerance of ${exactBytes(tolerance)}`,
      };
    }
  }
  const steps = levelled && findSteps(levelled, tolerance, resolution);
  if (steps) {
    const rate = steps.sustainedBytes / steps.sustainedCalls;
    const leaked = steps.leakedBytes;
    return {
      state: 'leak',
      evidence: { first: steps.from, complete: steps.to },
      inSteps: true,
      bytesPerCall: rate,
      lowerBytesPerCall: (steps.sustainedBytes - noise) / steps.sustainedCalls,
      upperBytesPerCall: (steps.sustainedBytes + noise) / steps.sustainedCalls,
      leakedBytes: leaked,
      sustainedBytes: steps.sustainedBytes,
      sustainedCalls: steps.sustainedCalls,
      excess: leaked / (tolerance + noise + 1),
      reason:
        `${metric}${levelled === series ? '' : ' (heap and mmap together)'} grew in steps that kept their pace: ` +
        `${exactBytes(steps.held)} in the ${formatNumber(steps.heldCalls)} calls after round 1 up to round ${steps.from + 1} ` +
        `(${formatRate(steps.held / steps.heldCalls)}), then ${exactBytes(steps.sustainedBytes)} in the next ` +
        `${formatNumber(steps.sustainedCalls)} calls (${formatRate(rate)}), its last step after a level (storage that grows as it ` +
        `fills: a Map, an array, a vector; noise floor ${exactBytes(noise)}), ${exactBytes(leaked)} in all, beyond the tolerance ` +
        `of ${exactBytes(tolerance)}`,
    };
  }
  const estimate = slope(rounds.length > 1 ? rounds.slice(1) : rounds, metric);
  // After evidence of a leak, a bound rests on two rounds after it that each fell away from its pace (growth that
  // levelled off): one round in which someone else freed memory would otherwise pass a leak. Growth within the
  // tolerance is no leak, so its evidence asks nothing of the bound.
  const shown = grown > tolerance + noise ? series.latestEvidence(resolution) : null;
  const fellAway = (index: number): boolean => !shown || (index > shown.complete && series.upper(index) * RATE_AGREEMENT < shown.rate);
  const afterShown = fellAway(last) && fellAway(last - 1);
  const bounds: Array<{ bound: number; span: string }> = [];
  if (afterShown && series.boundsAlone(last, resolution)) {
    bounds.push({ bound: series.bound(last, last), span: `${exactBytes(series.growth(last))} in ${formatNumber(series.calls(last))} calls` });
  }
  if (afterShown && last >= 1 && series.floorHeld(last) && series.floorHeld(last - 1)) {
    const pair = series.pooled(last - 1, last);
    bounds.push({ bound: series.bound(last - 1, last), span: `${exactBytes(pair.growth)} in the last ${formatNumber(pair.calls)} calls` });
  }
  const { bound, span } = bounds.reduce((a, b) => (b.bound < a.bound ? b : a), { bound: Infinity, span: '' });
  const widened = series.boundNoise > noise ? ` (floor widened to ${exactBytes(series.boundNoise)}, the largest of the falls beyond it)` : '';
  const level = bound <= resolution && levelled ? levelPending(levelled, tolerance, resolution) : null;
  if (bound <= resolution && !level) {
    return { state: 'clean', bytesPerCall: estimate, upperBytesPerCall: bound, reason: `${metric}: ${span} bound a leak to ≤ ${formatRate(bound)}${widened}` };
  }
  const lastRound = `${exactBytes(series.growth(last))} in ${formatNumber(series.calls(last))} calls`;
  let why: string;
  if (level) {
    why =
      `${span} bound a leak to ≤ ${formatRate(bound)}, but ${exactBytes(level.held)}${levelled === series ? '' : ' (heap and mmap together)'} ` +
      `grew by round ${level.since + 1} ` +
      `(${formatRate(level.held / level.callsTo)}), level only since: it must stay level while the calls measured grow ` +
      `${LEVEL_OFF_SPAN}-fold (${formatNumber(level.moreCalls)} calls more), or it may be a leak that grows in steps`;
  } else if (bound < Infinity) why = `${span} bound a leak only to ≤ ${formatRate(bound)}${widened} (resolution ${formatRate(resolution)})`;
  else if (!series.floorHeld(last)) why = `${lastRound} fell below the floor of −${exactBytes(noise)} and bound no leak`;
  else if (!afterShown && shown) {
    why = `${lastRound} bound no leak yet: it grew ${formatRate(shown.rate)} in rounds ${shown.first + 1}–${shown.complete + 1}, and two rounds since must fall away from that pace`;
  } else why = `${lastRound} bound no leak yet${last === 0 ? ' (round 1 bounds only pooled with round 2)' : ''}`;
  return { state: 'open', bytesPerCall: estimate, upperBytesPerCall: bound, ...(level ? { level } : {}), reason: `${metric}: ${why}` };
}

/** What a metric without a verdict wants of the next round. */
interface Want {
  calls: number;
  /** Gathering evidence or confirming it: the size is exact (a longer round would be a new size). */
  exact: boolean;
  /**
   * The metric grew within its floor, but faster than its resolution: a suspected leak, whose showing round is
   * measured before the other metrics' (longer) bounding rounds.
   */
  suspect: boolean;
  /** A level waited for: a repeat of the longest size, which MAX_ROUNDS_PER_SIZE does not double. */
  waits?: boolean;
}

/** The schedule part of the rule, per metric. */
function wantedCalls(series: MetricRounds, judgement: Judgement, resolution: number, firstCalls: number): Want {
  const { last } = series;
  const growth = series.growth(last);
  const calls = series.calls(last);
  if (judgement.state === 'pending') {
    // Evidence waiting to be confirmed: as many calls as take the calls measured LEVEL_OFF_SPAN times past it.
    const needed = LEVEL_OFF_SPAN * series.callsThrough(judgement.evidence.complete) - series.callsThrough(last);
    return { calls: roundSize(needed, firstCalls), exact: true, suspect: false };
  }
  if (judgement.state === 'open' && judgement.level) {
    // Growth that must stay level a while longer: repeats of the longest size, when at most LEVEL_REPEATS of them span
    // what is left; else a longer size whose repeats will even if it raises the level (a high-water step) and the span
    // starts again after it: (LEVEL_OFF_SPAN − 1) × (the calls measured + it) is at most LEVEL_REPEATS of it.
    const longest = Math.max(...series.rounds.map((round) => round.calls));
    const repeatsLeft = MAX_ROUNDS_PER_SIZE + LEVEL_REPEATS - trailingRoundsOfSize(series.rounds, longest);
    if (judgement.level.moreCalls <= repeatsLeft * longest) return { calls: longest, exact: false, suspect: false, waits: true };
    const spanned = judgement.level.measured / (LEVEL_REPEATS / (LEVEL_OFF_SPAN - 1) - 1);
    return { calls: Math.max(2 * longest, roundSize(spanned, firstCalls)), exact: false, suspect: false };
  }
  if (series.beyondNoise(last)) {
    // Growth beyond the floor short of evidence: repeat the size (a round that disagrees with the one before is
    // confirmed or refuted by the next). Evidence too small for the resolution or the tolerance: double.
    const gathering = series.trailingAgreeing() < CONFIRMING_ROUNDS || series.isNewSize(last);
    return { calls: gathering ? calls : 2 * calls, exact: gathering, suspect: false };
  }
  if (!series.floorHeld(last) || (!series.boundsAlone(last, resolution) && series.bound(last, last) <= resolution)) {
    // A fall below the floor, or a round that would bound alone but follows a rise or a fast growth: measure the size
    // again.
    return { calls, exact: false, suspect: false };
  }
  // Growth within the floor: the size at which the floor bounds the leak below the resolution, or — when the metric
  // grew — the size at which growth at this rate would stand twice above the floor, whichever comes first.
  const toBound = (Math.max(growth, 0) + series.boundNoise) / resolution;
  const toShow = growth > 0 ? (2 * series.noise * calls) / growth : Infinity;
  return {
    calls: Math.max(2 * calls, roundSize(Math.min(toBound, toShow), firstCalls)),
    exact: false,
    suspect: growth / calls > resolution,
  };
}

/**
 * Calls for the next round, within the budget (`remaining` calls), from what the open metrics want.
 * Evidence first: a metric gathering or confirming it gets exactly the size it wants, or what is left. Then a suspected
 * leak: the shortest round that would show it, before another metric's long bounding round spends the budget. Then
 * the longest round a bound needs; such a round leaves room for the rounds that would confirm growth it shows (itself
 * and CONFIRMING_ROUNDS − 1 repeats), or else the last size is repeated (pooling tightens the bounds). A size measured
 * MAX_ROUNDS_PER_SIZE times without a verdict gives none at that size: the next round doubles it, or takes what is
 * left when a doubled round does not fit.
 */
function nextCalls(wants: readonly Want[], rounds: readonly Round[], remaining: number, firstCalls: number): number {
  const exact = wants.filter((want) => want.exact);
  const suspects = wants.filter((want) => want.suspect);
  const sizes = (group: readonly Want[]): number[] => group.map((want) => want.calls);
  const lastCalls = rounds[rounds.length - 1].calls;
  let calls: number;
  if (exact.length > 0) calls = Math.min(Math.max(...sizes(exact)), remaining);
  else {
    const wanted = suspects.length > 0 ? Math.min(...sizes(suspects)) : Math.max(...sizes(wants));
    const room = Math.floor(remaining / CONFIRMING_ROUNDS);
    if (wanted <= room) calls = wanted;
    else if (room > lastCalls) calls = Math.max(lastCalls, Math.floor(room / firstCalls) * firstCalls);
    else calls = Math.min(lastCalls, remaining);
  }
  const cap = wants.some((want) => want.waits && want.calls === calls) ? MAX_ROUNDS_PER_SIZE + LEVEL_REPEATS : MAX_ROUNDS_PER_SIZE;
  if (calls <= lastCalls && trailingRoundsOfSize(rounds, lastCalls) >= cap) calls = Math.min(2 * lastCalls, remaining);
  return calls;
}

/**
 * Given the rounds measured so far, says whether to measure another round (and how many calls), or gives the verdict.
 * Throws InvalidArgumentError on malformed rounds or options.
 */
export function decide(rounds: readonly Round[], options: DecisionOptions): Decision {
  validate(rounds, options);
  const used = rounds.reduce((sum, round) => sum + round.calls, 0);
  if (rounds.length === 0) {
    return { verdict: 'continue', nextCalls: Math.min(options.firstCalls, options.maxCalls), reason: 'no round measured yet' };
  }
  const resolution = { ...defaultResolution(), ...options.resolution };
  const held = options.levelHeld ?? defaultLevelHeld('glibc');
  const mmapApart = options.mmapApart ?? defaultMmapApart('glibc');
  const judged = options.metrics.map((metric) => {
    const series = new MetricRounds(rounds, metric, options.noise[metric] as number);
    const judgement = judge(series, options.tolerance[metric] ?? 0, resolution[metric] as number, levelSeries(series, options.metrics, held, mmapApart));
    return { metric, series, judgement };
  });
  const budgetSpent = used >= options.maxCalls;
  // A leak: confirmed evidence; or, once the budget is spent, evidence whose confirmation it left no room for.
  const leaks = judged.flatMap(({ metric, judgement }) =>
    judgement.state === 'leak' || (judgement.state === 'pending' && budgetSpent) ? [{ metric, judgement }] : [],
  );
  if (leaks.length > 0) {
    const { metric, judgement: worst } = leaks.reduce((a, b) => (b.judgement.excess > a.judgement.excess ? b : a));
    const confirmed = worst.state === 'leak';
    const unconfirmed =
      `; the budget ended before the growth was followed over ${LEVEL_OFF_SPAN}× its calls, so growth that levels off ` +
      `beyond ${exactBytes(worst.sustainedBytes)} (a cache that size) is not ruled out: if it is one, set a tolerance ` +
      'above it or give a trimCallback that empties it; a longer budget (retries, maxMs) confirms the leak';
    return {
      verdict: 'leak',
      metric,
      confirmed,
      inSteps: worst.inSteps,
      bytesPerCall: worst.bytesPerCall,
      lowerBytesPerCall: worst.lowerBytesPerCall,
      upperBytesPerCall: worst.upperBytesPerCall,
      leakedBytes: worst.leakedBytes,
      sustainedBytes: worst.sustainedBytes,
      sustainedCalls: worst.sustainedCalls,
      reason: worst.reason + (confirmed ? '' : unconfirmed),
    };
  }
  const open = judged.filter(({ judgement }) => judgement.state !== 'clean');
  if (open.length > 0 && !budgetSpent) {
    const wants = open.map(({ series, judgement, metric }) => wantedCalls(series, judgement, resolution[metric] as number, options.firstCalls));
    return {
      verdict: 'continue',
      nextCalls: nextCalls(wants, rounds, options.maxCalls - used, options.firstCalls),
      reason: open.map(({ judgement }) => judgement.reason).join('; '),
    };
  }
  const bytesPerCall: Partial<Record<MetricName, number>> = {};
  const upperBytesPerCall: Partial<Record<MetricName, number>> = {};
  for (const { metric, judgement } of judged) {
    bytesPerCall[metric] = judgement.bytesPerCall;
    upperBytesPerCall[metric] = judgement.upperBytesPerCall;
  }
  // Budget spent with some metric still open, and no evidence: clean, naming the metrics left open and the bound each
  // reached (the harness turns that into InconclusiveError).
  const undecided = open.map(({ metric }) => metric);
  const reason =
    undecided.length === 0
      ? `no leak: ${judged.map(({ judgement }) => judgement.reason).join('; ')}`
      : `budget of ${formatNumber(options.maxCalls)} calls spent without evidence of a leak; not ruled out: ` +
        open.map(({ judgement }) => judgement.reason).join('; ');
  return { verdict: 'clean', bytesPerCall, upperBytesPerCall, undecided, reason };
}

/**
 * The clean verdict of `rounds` and a last round whose growth is known only from above (`upper`: read after one
 * collection, which frees all the calls left but what later collections would, so a leak's memory is in it whole), or
 * null; null too when a metric rose beyond its floor. Sound because a clean verdict stays clean at any lower growth of
 * the last round down to its floor's fall (a bound only tightens, and less growth holds no level): `decide()` must keep
 * that. Lower than that, a settled read would have bounded nothing; a read after one collection passes such a fall only
 * if that collection alone did not show it.
 */
export function cleanOnUpperBound(rounds: readonly Round[], upper: Round, options: DecisionOptions): Decision | null {
  if (risesBeyondFloor(upper.growth, options)) return null;
  const decision = decide([...rounds, upper], options);
  return decision.verdict === 'clean' && decision.undecided.length === 0 ? decision : null;
}

/**
 * Whether a judged metric in `growth` (those it holds) rose beyond its floor. After one collection such a rise may be
 * what the next collections free (V8's objects can stand far higher after one collection than after two): only a
 * settled read tells, and a report's last round must not show it as growth.
 */
export function risesBeyondFloor(growth: Partial<Record<MetricName, number>>, options: DecisionOptions): boolean {
  return options.metrics.some((metric) => metric in growth && (growth[metric] as number) > (options.noise[metric] as number));
}
