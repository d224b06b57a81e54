import { InvalidArgumentError } from './errors';

/**
 * The leak decision rule: pure (no native code, no I/O, no timers).
 *
 * The harness measures rounds of calls and asks `decide()` after each one for a verdict or the next round's size
 * (firstCalls first; a size is repeated to confirm growth, doubled or enlarged to bound a leak).
 * A real leak grows in proportion to the calls made; noise (background threads, allocator caches) and
 * one-off growth (lazy start-up, caches filling, high-water marks) do not. See docs/decision.md.
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
   * A metric is clean once its last round (or last two) bounds the leak below this figure.
   */
  resolution?: Partial<Record<MetricName, number>>;
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
      /** Rate over the rounds that gave the evidence. */
      bytesPerCall: number;
      /** The rate those rounds allow, given the noise floor: lowerBytesPerCall ≤ true rate ≤ upperBytesPerCall. */
      lowerBytesPerCall: number;
      upperBytesPerCall: number;
      /** Growth the leak explains over all rounds (round 1 only up to the rate; rounds that fell below the floor left out). */
      leakedBytes: number;
      reason: string;
    };

/**
 * Noise floor of one settled round, per metric, in a quiet process
 * (GLIBC_TUNABLES=glibc.malloc.tcache_count=0, node --single-threaded) or a plain one.
 *
 * Measured 2026-11-23 (Node 20.20, glibc 2.36, x86_64, 2 cores) through settledSample (lib/measure.ts): the 27 clean
 * Node-core functions of bench/detection.ts, eight processes per mode, 50 warm-up calls, then rounds of 25–400 calls.
 * |growth| of the 2,592 quiet and 2,400 plain rounds after round 1:
 *
 *   metric    quiet p90 / p95 / p99 / max           plain p90 / p95 / p99 / max
 *   heap      16 B / 256 B / 4.3 KB / 204 KB         3.6 KB / 13 KB / 591 KB / 1.1 MB
 *   v8heap    3.3 KB / 4.9 KB / 9.4 KB / 33 KB       3.5 KB / 5.2 KB / 13 KB / 30 KB
 *   vms       0 / 0 / 1.2 MB / 4.6 MB                57 KB / 139 KB / 2.2 MB / 135 MB
 *   mmap, external: 0 throughout
 *
 * A quiet C heap is exact: most rounds move by 0 or ±16 B; the rest are one-off steps of 1.4–1.9 KB (and multiples),
 * 4–25 KB the first time a round is longer than any before (high-water marks), and falls: 1 % below −256 B, the
 * deepest −3.3 KB in a process's first round, and −204 KB once (memory held before the round, handed back). In a
 * plain process V8's and libuv's threads keep their own allocator caches: ±1–4 KB every round whatever its length,
 * and memory caught in flight by one read (+100 to +1,100 KB) comes back as the same fall in the next round.
 *
 * The floor must cover what a round can fall, since a fall hides a leak, and most rises. Quiet heap 512 B; quiet
 * v8heap 16 KiB (earlier readings inside checkLeak reached 17 KB at p95); plain heap 8 KiB. Larger rises cost calls,
 * not false leaks: a leak takes three agreeing rounds beyond the floor, a round that falls below −floor bounds nothing,
 * and a round right after a rise bounds only pooled with it. rss, uss and vms floors hold their earlier measurement
 * (quiet rss p95 537 KB, vms p95 639 KB; plain rss p95 1 MB, vms p95 2.3 MB); plain v8heap keeps 64 KiB from readings
 * inside checkLeak (33 KB at p95).
 */
export function defaultNoise(quiet: boolean): Partial<Record<MetricName, number>> {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  return quiet
    ? { heap: 512, mmap: 128 * KiB, rss: 512 * KiB, uss: 512 * KiB, vms: 1 * MiB, v8heap: 16 * KiB, external: 8 * KiB }
    : { heap: 8 * KiB, mmap: 128 * KiB, rss: 1 * MiB, uss: 1 * MiB, vms: 2 * MiB, v8heap: 64 * KiB, external: 16 * KiB };
}

/** Smallest leak (bytes per call) a clean verdict rules out, per metric. */
export function defaultResolution(): Partial<Record<MetricName, number>> {
  // heap: below 3.2 B/call (one 32 B chunk every 10th call), the smallest leak nodeleak promises to catch.
  // mmap counts only blocks of 128 KiB and up; vms moves by pages (a raw mmap leak is ≥ 4 KiB a call); rss/uss by pages
  // of touched memory; external by Buffer pool slabs (8 KiB); v8heap by a few KB a round (its quiet floor over 512 calls).
  return { heap: 2, mmap: 1024, rss: 1024, uss: 1024, vms: 4096, v8heap: 64, external: 32 };
}

interface MetricJudgement {
  state: 'leak' | 'clean' | 'open';
  bytesPerCall: number;
  lowerBytesPerCall: number;
  upperBytesPerCall: number;
  leakedBytes: number;
  /** leakedBytes relative to what tolerance + noise allow; orders leaking metrics. */
  excess: number;
  /** Calls the next round needs for this metric to reach a verdict (open metrics only). */
  wantCalls: number;
  /** The metric is gathering evidence of a leak and wants the last round's size repeated. */
  repeat: boolean;
  /**
   * The metric grew within its floor, but faster than its resolution: a suspected leak, whose showing round is
   * measured before the other metrics' (longer) bounding rounds.
   */
  suspect: boolean;
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

/** Two rounds' rates agree within this factor, once each is widened by the noise floor. */
const RATE_AGREEMENT = 1.5;

/** Consecutive rounds after round 1 that must grow at agreeing rates before a leak is called. */
const CONFIRMING_ROUNDS = 3;

/** Smallest multiple of firstCalls by a power of two that is ≥ calls. */
function roundSize(calls: number, firstCalls: number): number {
  let size = firstCalls;
  while (size < calls) size = size * 2;
  return size;
}

function judgeMetric(
  rounds: readonly Round[],
  metric: MetricName,
  noise: number,
  tolerance: number,
  resolution: number,
  firstCalls: number,
): MetricJudgement {
  const growth = (index: number): number => rounds[index].growth[metric] as number;
  const calls = (index: number): number => rounds[index].calls;
  const lower = (index: number): number => (growth(index) - noise) / calls(index);
  const upper = (index: number): number => (growth(index) + noise) / calls(index);
  const last = rounds.length - 1;
  // Round 1 may hold one-off growth (thread pools, caches started lazily): estimate from the later rounds when there are any.
  const estimate = slope(rounds.length > 1 ? rounds.slice(1) : rounds, metric);
  const beyondNoise = (index: number): boolean => growth(index) > noise;
  // A round that fell further than the floor allows: the floor did not hold for it.
  const floorHeld = (index: number): boolean => growth(index) >= -noise;
  const ratesAgree = (a: number, b: number): boolean =>
    upper(a) * RATE_AGREEMENT >= lower(b) && upper(b) * RATE_AGREEMENT >= lower(a);
  // A round larger than every earlier one can raise high-water marks (hash tables sized by the objects alive at once,
  // V8 pages); a round that repeats an earlier size cannot, so only it may complete the evidence for a leak.
  const lastIsNewSize = rounds.slice(0, last).every((round) => round.calls < calls(last));
  // Evidence: the latest rounds after round 1 (round 1 takes the warm-up's leftovers), each beyond the noise floor,
  // each at a rate that agrees with every other one (a decay from round to round is a cache filling, not a leak).
  const agreesWithRun = (index: number, run: number): boolean => {
    for (let other = index + 1; other <= index + run; other++) if (!ratesAgree(index, other)) return false;
    return true;
  };
  let run = 0;
  while (run < CONFIRMING_ROUNDS && last - run >= 1 && beyondNoise(last - run) && agreesWithRun(last - run, run)) {
    run = run + 1;
  }
  if (run === CONFIRMING_ROUNDS && !lastIsNewSize) {
    const first = last - run + 1;
    let runGrowth = 0;
    let runCalls = 0;
    for (let index = first; index <= last; index++) {
      runGrowth = runGrowth + growth(index);
      runCalls = runCalls + calls(index);
    }
    const rate = runGrowth / runCalls;
    const runLower = (runGrowth - run * noise) / runCalls;
    // Growth the leak explains: every round after the first, and of round 1 only what the rate accounts for. A round
    // that fell below the floor handed back memory held before it (a cache emptied), which says nothing of the leak.
    let leaked = floorHeld(0) ? Math.min(growth(0), rate * calls(0) + noise) : 0;
    for (let index = 1; index <= last; index++) if (floorHeld(index)) leaked = leaked + growth(index);
    if (runLower >= resolution / 2 && leaked > tolerance + noise) {
      const seen = rounds
        .slice(first)
        .map((round) => `${Math.round(round.growth[metric] as number)} B in ${round.calls} calls`)
        .join(', ');
      return {
        state: 'leak',
        bytesPerCall: rate,
        lowerBytesPerCall: runLower,
        upperBytesPerCall: (runGrowth + run * noise) / runCalls,
        leakedBytes: leaked,
        excess: leaked / (tolerance + noise + 1),
        wantCalls: 0,
        repeat: false,
        suspect: false,
        reason:
          `${metric} grew in every round at one rate: ${seen} (noise floor ${noise} B): ${formatRate(rate)}, ` +
          `${Math.round(leaked)} B in all, beyond the tolerance of ${tolerance} B`,
      };
    }
  }
  // Bounds on the leak: the last round alone, or pooled with the round before it. A round that fell
  // further than the floor allows shows the floor did not hold for it (memory handed back by a trim, a thread's stack
  // unmapped): such a fall could hide a leak, so that round bounds nothing.
  // A round right after one that rose beyond the floor may fall by what that round caught in flight, so only the
  // pair bounds it: alone it could hide a leak of that size.
  const boundsAlone = (index: number): boolean => floorHeld(index) && (index === 0 || !beyondNoise(index - 1));
  const bounds: Array<{ bound: number; span: string }> = [];
  if (boundsAlone(last)) {
    bounds.push({ bound: upper(last), span: `${Math.round(growth(last))} B in ${calls(last)} calls` });
  }
  if (last >= 1 && floorHeld(last) && floorHeld(last - 1)) {
    const pairGrowth = growth(last - 1) + growth(last);
    const pairCalls = calls(last - 1) + calls(last);
    bounds.push({ bound: (pairGrowth + 2 * noise) / pairCalls, span: `${Math.round(pairGrowth)} B in the last ${pairCalls} calls` });
  }
  const { bound, span } = bounds.reduce((a, b) => (b.bound < a.bound ? b : a), {
    bound: Infinity,
    span: `${Math.round(growth(last))} B in ${calls(last)} calls, below the floor of −${noise} B`,
  });
  const floorHeldLast = floorHeld(last);
  if (bound <= resolution) {
    return {
      state: 'clean',
      bytesPerCall: estimate,
      lowerBytesPerCall: -Infinity,
      upperBytesPerCall: bound,
      leakedBytes: 0,
      excess: 0,
      wantCalls: 0,
      repeat: false,
      suspect: false,
      reason: `${metric}: ${span} bound a leak to ≤ ${formatRate(bound)}`,
    };
  }
  // Open. Growth beyond the floor, short of evidence: repeat the size (a round that disagrees with the one before is
  // confirmed or refuted by the next); enough rounds but too little growth to clear the resolution or the tolerance:
  // double. A fall below the floor, or a round that would bound alone but follows a rise: measure the size again.
  // Growth within the floor: a round long enough to bound.
  let wantCalls: number;
  let suspect = false;
  const repeat = beyondNoise(last) && (run < CONFIRMING_ROUNDS || lastIsNewSize);
  if (beyondNoise(last)) wantCalls = repeat ? calls(last) : 2 * calls(last);
  else if (!floorHeldLast || (!boundsAlone(last) && upper(last) <= resolution)) wantCalls = calls(last);
  else {
    // The size at which the floor bounds the leak below the resolution, or — when the metric grew — the size at which
    // growth at this rate would stand twice above the floor, whichever comes first.
    const toBound = (Math.max(growth(last), 0) + noise) / resolution;
    const toShow = growth(last) > 0 ? (2 * noise * calls(last)) / growth(last) : Infinity;
    suspect = growth(last) / calls(last) > resolution;
    wantCalls = Math.max(2 * calls(last), roundSize(Math.min(toBound, toShow), firstCalls));
  }
  return {
    state: 'open',
    bytesPerCall: estimate,
    lowerBytesPerCall: -Infinity,
    upperBytesPerCall: bound,
    leakedBytes: 0,
    excess: 0,
    wantCalls,
    repeat,
    suspect,
    reason: `${metric}: ${span} bound a leak only to ≤ ${formatRate(bound)} (resolution ${formatRate(resolution)})`,
  };
}

/**
 * Calls for the next round, within the budget (`remaining` calls).
 * A metric gathering evidence gets exactly the size it repeats (a larger round would be a new size, which cannot
 * finish the evidence), or what is left when less is. Any other round leaves room for the rounds that would confirm
 * growth it shows: itself and CONFIRMING_ROUNDS − 1 repeats of its size. When even a repeat of the last size leaves no
 * such room, the last size is repeated (pooling tightens the bounds) until the budget is spent.
 */
function nextRoundCalls(wantCalls: number, repeat: boolean, lastCalls: number, remaining: number, firstCalls: number): number {
  if (repeat) return Math.min(wantCalls, remaining);
  const room = Math.floor(remaining / CONFIRMING_ROUNDS);
  if (wantCalls <= room) return wantCalls;
  if (room > lastCalls) return Math.max(lastCalls, Math.floor(room / firstCalls) * firstCalls);
  return Math.min(lastCalls, remaining);
}

/** How many rounds at the end of `rounds` made exactly `calls` calls. */
function trailingRoundsOfSize(rounds: readonly Round[], calls: number): number {
  let count = 0;
  while (count < rounds.length && rounds[rounds.length - 1 - count].calls === calls) count = count + 1;
  return count;
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
        judgeMetric(
          rounds,
          metric,
          options.noise[metric] as number,
          options.tolerance[metric] ?? 0,
          resolution[metric] as number,
          options.firstCalls,
        ),
      ] as const,
  );

  const leaks = judgements.filter(([, judgement]) => judgement.state === 'leak');
  if (leaks.length > 0) {
    const [metric, worst] = leaks.reduce((a, b) => (b[1].excess > a[1].excess ? b : a));
    return {
      verdict: 'leak',
      metric,
      bytesPerCall: worst.bytesPerCall,
      lowerBytesPerCall: worst.lowerBytesPerCall,
      upperBytesPerCall: worst.upperBytesPerCall,
      leakedBytes: worst.leakedBytes,
      reason: worst.reason,
    };
  }

  const open = judgements.filter(([, judgement]) => judgement.state === 'open');
  if (open.length > 0 && used < options.maxCalls) {
    // Evidence of a leak first: a metric gathering it needs the same size again, and a round of that size still
    // tightens the other metrics' bounds. Then a suspected leak: the shortest round that would show it beyond its
    // floor, before another metric's long bounding round spends the budget. Then the longest round a bound needs.
    const gathering = open.filter(([, judgement]) => judgement.repeat);
    const suspects = open.filter(([, judgement]) => judgement.suspect);
    const wants = (group: typeof open): number[] => group.map(([, judgement]) => judgement.wantCalls);
    const wantCalls =
      gathering.length > 0
        ? Math.max(...wants(gathering))
        : suspects.length > 0
          ? Math.min(...wants(suspects))
          : Math.max(...wants(open));
    const lastCalls = rounds[rounds.length - 1].calls;
    const remaining = options.maxCalls - used;
    let nextCalls = nextRoundCalls(wantCalls, gathering.length > 0, lastCalls, remaining, options.firstCalls);
    if (nextCalls <= lastCalls && trailingRoundsOfSize(rounds, lastCalls) > CONFIRMING_ROUNDS) {
      // A size measured CONFIRMING_ROUNDS + 1 times without a verdict gives none at that size (alternating noise, a
      // cache emptied now and then beside a leak): rounds twice as long shrink the floor's and any bounded growth's
      // share of each round, and at most CONFIRMING_ROUNDS + 1 rounds per size keep the schedule logarithmic in the
      // budget. What is left, when a doubled round does not fit, is spent in one last round.
      nextCalls = Math.min(2 * lastCalls, remaining);
    }
    return { verdict: 'continue', nextCalls, reason: open.map(([, judgement]) => judgement.reason).join('; ') };
  }

  const bytesPerCall: Partial<Record<MetricName, number>> = {};
  const upperBytesPerCall: Partial<Record<MetricName, number>> = {};
  for (const [metric, judgement] of judgements) {
    bytesPerCall[metric] = judgement.bytesPerCall;
    upperBytesPerCall[metric] = judgement.upperBytesPerCall;
  }
  // Budget spent with some metric still open: clean. A leak verdict fails the user's test, so it needs evidence —
  // two rounds beyond the noise floor at agreeing rates, the second repeating an earlier size, and growth beyond the
  // tolerance — and the budget did not produce it. The verdict names the metrics left open and the bound each reached.
  const undecided = open.map(([metric]) => metric);
  const reason =
    undecided.length === 0
      ? `no leak: ${judgements.map(([, judgement]) => judgement.reason).join('; ')}`
      : `budget of ${options.maxCalls} calls spent without evidence of a leak; not ruled out: ` +
        open.map(([, judgement]) => judgement.reason).join('; ');
  return { verdict: 'clean', bytesPerCall, upperBytesPerCall, undecided, reason };
}
