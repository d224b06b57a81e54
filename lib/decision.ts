import { InvalidArgumentError } from './errors';

/**
 * The leak decision rule: pure (no native code, no I/O, no timers).
 *
 * The harness measures rounds of calls and asks `decide()` after each one for a verdict or the next round's size
 * (firstCalls first; a size is repeated to confirm growth, doubled or enlarged to bound a leak).
 * A real leak grows in proportion to the calls made; noise (background threads, allocator caches) and
 * one-off growth (lazy start-up, caches filling, high-water marks) do not. See README "How the verdict is reached".
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
      /** Growth the leak explains over all rounds (round 1 only up to the rate). */
      leakedBytes: number;
      reason: string;
    };

/**
 * Noise floor of one settled round, per metric, in a quiet process
 * (GLIBC_TUNABLES=glibc.malloc.tcache_count=0, node --single-threaded) or a plain one.
 *
 * Measured 2026-11-23 (Node 20.20, glibc, x86_64, 2 cores): rounds of 1000 calls (500 for async functions) of twelve
 * Node-core functions (empty, JSON, Buffer, sha256, deflateSync, statSync, URL, TextEncoder, fs.promises.stat, gzip,
 * pbkdf2, setTimeout), settled by gc + setImmediate until two reads agree, then heapTrim. |growth| after round 1:
 *
 *   metric    quiet p90 / p95 / max        plain p90 / p95 / max
 *   heap      752 / 4 KB / 96 KB           5.3 KB / 8.2 KB / 60 KB
 *   mmap      0 / 0 / 0                    0 / 0 / 0
 *   rss       258 KB / 537 KB / 4 MB       602 KB / 1 MB / 5.4 MB
 *   uss       360 KB / 1.2 MB / 38 MB      573 KB / 950 KB / 5.4 MB
 *   vms       0 / 639 KB / 138 MB          807 KB / 2.3 MB / 134 MB
 *   v8heap    210 KB / 230 KB / 352 KB     212 KB / 227 KB / 323 KB   (superseded: see v8heap below)
 *   external  0 / 0 / 0 (8 KB in round 1)  0 / 0 / 16 KB
 *
 * The floor sits near p90–p95, and for heap also below the deepest fall measured (quiet −576 B, plain −11 KB), since a
 * fall can hide a leak. Rarer, larger rises are one-off (high-water marks such as sha256's +50 KB when a round is longer
 * than any before, thread arenas in vms): the rule wants three agreeing rounds before it calls a leak, and a round that
 * falls below −floor bounds nothing.
 * Plain heap assumes that settling waits for the figures to agree: with a fixed 3 × (gc + setImmediate), V8's
 * background compiler leaves up to 2.2 MB in flight at the read (p95 205 KB).
 * Re-measured the same day through the harness's settledSample (lib/measure.ts, one sample ends a round and starts the
 * next; rounds of 200–3200 calls, 14 functions with the fixture addon's clean twins): heap in rounds that repeat a
 * size, quiet p90 1.5 KB (async functions up to 7.6 KB), plain p90 4 KB; a sample caught with memory in flight shows
 * as a rise and the same fall in the next round (plain ±175–577 KB, quiet −172 KB once), which the rule absorbs
 * (no agreeing run; a fall bounds nothing).
 * v8heap re-measured 2026-11-23 20:40 UTC through settledSample after the harness began collecting last before the
 * read and left code spaces out (the ±250 KB above was a fresh old-space allocation buffer counted as used): ten
 * Node-core functions (empty, JSON, Buffer, sha256, deflateSync, statSync, URL, TextEncoder, fs.promises.stat,
 * setTimeout), rounds of 1000 calls (500 async), |growth| after round 1, 70 rounds each:
 *   quiet p50 1.2 KB, p90 9.4 KB, p95 18 KB, max 231 KB (setTimeout: +231 KB then −226 KB the next round);
 *   plain p50 3.2 KB, p90 135 KB, p95 161 KB, max 228 KB — every rise above 16 KB fell back by as much within two
 *   rounds (JSON +161 KB, −161 KB, +161 KB: an allocation buffer counted in one read and not the next).
 * Inside checkLeak (same day, 14 clean functions, rounds of 800 calls) the old-space figure still jumped between
 * full collections, ±135–195 KB in half the rounds (+185, −167, +175, −162 KB), which can also hide a JS leak's
 * growth in one round; read as the least of three reads one collection apart, it stayed within 17 KB quiet and
 * 33 KB plain (p95). Floors: quiet 32 KiB, plain 64 KiB — they assume that least-of-three reading; spikes that
 * revert never make three agreeing rounds, so they cost calls, not false leaks.
 */
export function defaultNoise(quiet: boolean): Partial<Record<MetricName, number>> {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  return quiet
    ? { heap: 1 * KiB, mmap: 128 * KiB, rss: 512 * KiB, uss: 512 * KiB, vms: 1 * MiB, v8heap: 32 * KiB, external: 8 * KiB }
    : { heap: 12 * KiB, mmap: 128 * KiB, rss: 1 * MiB, uss: 1 * MiB, vms: 2 * MiB, v8heap: 64 * KiB, external: 16 * KiB };
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
    // Growth the leak explains: every round after the first, and of round 1 only what the rate accounts for.
    let leaked = Math.min(growth(0), rate * calls(0) + noise);
    for (let index = 1; index <= last; index++) leaked = leaked + growth(index);
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
  // Bounds on the leak: the last round alone, or pooled with the round before it (after round 1). A round that fell
  // further than the floor allows shows the floor did not hold for it (memory handed back by a trim, a thread's stack
  // unmapped): such a fall could hide a leak, so that round bounds nothing.
  const floorHeld = (index: number): boolean => growth(index) >= -noise;
  const bounds: Array<{ bound: number; span: string }> = [];
  if (floorHeld(last)) {
    bounds.push({ bound: upper(last), span: `${Math.round(growth(last))} B in ${calls(last)} calls` });
  }
  if (last >= 2 && floorHeld(last) && floorHeld(last - 1)) {
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
  // double. A fall below the floor: measure the size again. Growth within the floor: a round long enough to bound.
  let wantCalls: number;
  let suspect = false;
  const repeat = beyondNoise(last) && (run < CONFIRMING_ROUNDS || lastIsNewSize);
  if (beyondNoise(last)) wantCalls = repeat ? calls(last) : 2 * calls(last);
  else if (!floorHeldLast) wantCalls = calls(last);
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
    return {
      verdict: 'continue',
      nextCalls: nextRoundCalls(wantCalls, gathering.length > 0, lastCalls, options.maxCalls - used, options.firstCalls),
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
