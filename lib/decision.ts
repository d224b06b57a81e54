import { InvalidArgumentError } from './errors';

/**
 * The leak decision rule: pure (no native code, no I/O, no timers).
 *
 * The harness measures rounds of growing size (firstCalls, 2×, 4×, …) and asks `decide()` after each one.
 * A real leak grows in proportion to the calls made; noise (background threads, allocator caches) and
 * one-off growth (lazy start-up, caches filling) do not. See README "How the verdict is reached".
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
  /** Size of the first measured round (the user's `times`). */
  firstCalls: number;
  /** Budget of measured calls before a verdict must be given. */
  maxCalls: number;
  /**
   * Smallest leak, bytes per call, that must not pass as clean, per metric. Missing: defaultResolution().
   * A metric is clean once its last round bounds the leak below this figure.
   */
  resolution?: Partial<Record<MetricName, number>>;
}

export type Decision =
  | { verdict: 'continue'; nextCalls: number; reason: string }
  | {
      verdict: 'clean';
      /** Least-squares estimate per judged metric (may be ≤ 0). */
      bytesPerCall: Partial<Record<MetricName, number>>;
      /** Upper bound on the leak per judged metric, from the last round and its noise floor. */
      upperBytesPerCall: Partial<Record<MetricName, number>>;
      /** Metrics the budget ran out on before their bound fell below the resolution (empty when none). */
      undecided: MetricName[];
      reason: string;
    }
  | { verdict: 'leak'; metric: MetricName; bytesPerCall: number; leakedBytes: number; reason: string };

/**
 * Noise floor of one settled round, per metric, in a quiet process
 * (GLIBC_TUNABLES=glibc.malloc.tcache_count=0, node --single-threaded) or a plain one.
 */
export function defaultNoise(quiet: boolean): Partial<Record<MetricName, number>> {
  // Provisional: ../shared/NOTES.md §1 (1000-call rounds of Node-core functions; quiet async functions ±2 KB
  // after round 1, plain up to ~1 MB). Re-measured figures replace these.
  return quiet
    ? { heap: 2048, mmap: 0, uss: 64 * 1024, rss: 64 * 1024, vms: 256 * 1024, v8heap: 16 * 1024, external: 1024 }
    : { heap: 1024 * 1024, mmap: 1024 * 1024, uss: 1024 * 1024, rss: 1024 * 1024, vms: 8 * 1024 * 1024, v8heap: 256 * 1024, external: 64 * 1024 };
}

/** Smallest leak (bytes per call) a clean verdict rules out, per metric. */
export function defaultResolution(): Partial<Record<MetricName, number>> {
  // heap/external/v8heap: below the 3.2 B/call of one 32 B chunk every 10th call, the smallest leak the tests
  // require to be caught. rss/uss/vms move by whole pages, so they only bound leaks of a fraction of a page per call.
  return { heap: 2, mmap: 2, external: 2, v8heap: 2, uss: 64, rss: 64, vms: 256 };
}

interface MetricJudgement {
  state: 'leak' | 'clean' | 'open';
  bytesPerCall: number;
  upperBytesPerCall: number;
  leakedBytes: number;
  /** leakedBytes relative to what tolerance + noise allow; orders leaking metrics. */
  excess: number;
  reason: string;
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

function formatRate(bytesPerCall: number): string {
  return `${Number(bytesPerCall.toPrecision(3))} B/call`;
}

function judgeMetric(rounds: readonly Round[], metric: MetricName, noise: number, tolerance: number, resolution: number): MetricJudgement {
  const growth = (index: number): number => rounds[index].growth[metric] as number;
  const last = rounds.length - 1;
  const lastCalls = rounds[last].calls;
  // Round 1 may hold one-off growth (thread pools, caches started lazily): estimate from the later rounds when there are any.
  const estimate = slope(rounds.length > 1 ? rounds.slice(1) : rounds, metric);
  const upper = (growth(last) + noise) / lastCalls;

  if (last >= 1) {
    const previous = last - 1;
    const bothBeyondNoise = growth(previous) > noise && growth(last) > noise;
    // One-sided: a round-1 bump makes the earlier rate too high; a leak never makes the later rate much lower.
    const previousLower = (growth(previous) - noise) / rounds[previous].calls;
    const consistent = upper >= previousLower / 2;
    if (bothBeyondNoise && consistent) {
      const rate = slope([rounds[previous], rounds[last]], metric);
      // Growth the leak explains: every round after the first, and of round 1 only what the rate accounts for.
      let leaked = Math.min(growth(0), rate * rounds[0].calls + noise);
      for (let index = 1; index <= last; index++) leaked = leaked + growth(index);
      if (leaked > tolerance + noise) {
        return {
          state: 'leak',
          bytesPerCall: rate,
          upperBytesPerCall: upper,
          leakedBytes: leaked,
          excess: leaked / (tolerance + noise + 1),
          reason:
            `${metric} grew ${Math.round(growth(previous))} B in ${rounds[previous].calls} calls and ` +
            `${Math.round(growth(last))} B in ${lastCalls} calls (noise floor ${noise} B): ${formatRate(rate)}, ` +
            `${Math.round(leaked)} B in all, beyond the tolerance of ${tolerance} B`,
        };
      }
    }
  }
  if (upper <= resolution) {
    return {
      state: 'clean',
      bytesPerCall: estimate,
      upperBytesPerCall: upper,
      leakedBytes: 0,
      excess: 0,
      reason: `${metric}: ${Math.round(growth(last))} B in ${lastCalls} calls bounds any leak to ≤ ${formatRate(upper)}`,
    };
  }
  return {
    state: 'open',
    bytesPerCall: estimate,
    upperBytesPerCall: upper,
    leakedBytes: 0,
    excess: 0,
    reason: `${metric}: ${Math.round(growth(last))} B in ${lastCalls} calls bounds a leak only to ≤ ${formatRate(upper)} (resolution ${formatRate(resolution)})`,
  };
}

/** Calls for the next round: double the last one, folding a leftover smaller than a round into it. */
function nextRoundCalls(rounds: readonly Round[], options: DecisionOptions, used: number): number {
  const remaining = options.maxCalls - used;
  const doubled = 2 * rounds[rounds.length - 1].calls;
  return doubled >= remaining || remaining - doubled < doubled ? remaining : doubled;
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
  const judgements = options.metrics.map(
    (metric) =>
      [
        metric,
        judgeMetric(rounds, metric, options.noise[metric] as number, options.tolerance[metric] ?? 0, resolution[metric] as number),
      ] as const,
  );

  const leaks = judgements.filter(([, judgement]) => judgement.state === 'leak');
  if (leaks.length > 0) {
    const [metric, worst] = leaks.reduce((a, b) => (b[1].excess > a[1].excess ? b : a));
    return { verdict: 'leak', metric, bytesPerCall: worst.bytesPerCall, leakedBytes: worst.leakedBytes, reason: worst.reason };
  }

  const open = judgements.filter(([, judgement]) => judgement.state === 'open');
  if (open.length > 0 && used < options.maxCalls) {
    return {
      verdict: 'continue',
      nextCalls: nextRoundCalls(rounds, options, used),
      reason: open.map(([, judgement]) => judgement.reason).join('; '),
    };
  }

  const bytesPerCall: Partial<Record<MetricName, number>> = {};
  const upperBytesPerCall: Partial<Record<MetricName, number>> = {};
  for (const [metric, judgement] of judgements) {
    bytesPerCall[metric] = judgement.bytesPerCall;
    upperBytesPerCall[metric] = judgement.upperBytesPerCall;
  }
  // Budget spent with some metric still open: clean. A leak verdict fails the user's test, so it needs evidence —
  // two consecutive rounds beyond the noise floor at consistent rates and growth beyond the tolerance — and the
  // budget did not produce it. The verdict names the metrics left open and the bound each one reached.
  const undecided = open.map(([metric]) => metric);
  const reason =
    undecided.length === 0
      ? `no leak: ${judgements.map(([, judgement]) => judgement.reason).join('; ')}`
      : `budget of ${options.maxCalls} calls spent without evidence of a leak; not ruled out: ` +
        open.map(([, judgement]) => judgement.reason).join('; ');
  return { verdict: 'clean', bytesPerCall, upperBytesPerCall, undecided, reason };
}
