import { setTimeout as sleep } from 'node:timers/promises';
import { Checkers, CreatedHandles, findUnclosed, snapshotResources } from './checkers';
import type { ResourceSnapshot } from './checkers';
import type { Decision, MetricName, Round } from './decision';
import { METRIC_NAMES, decide, defaultNoise } from './decision';
import { InvalidArgumentError } from './errors';
import { MemoryLeakError, UnexpectedBehaviourError } from './leak-errors';
import { DEFAULT_JUDGED, availableMetrics, settle, settledSample } from './measure';
import { quietness, warnIfNotQuiet } from './quiet';
import type { LeakReport, RoundReport } from './report';
import { formatClean } from './report';

export type Tolerance = number | Partial<Record<MetricName, number>>;

export interface LeakOptions {
  /** Calls in the first measured round; decide() sizes the later ones. Default 300. */
  times?: number;
  /** Calls made before anything is measured (lazy start-up, caches). Default 50. */
  warmupTimes?: number;
  /** Sets the call budget: times × (2^(retries+1+extra) − 1), extra being 2 in a quiet process and 5 in a plain one. Default 4. */
  retries?: number;
  /** Growth accepted as bounded (caches), bytes: one figure for every metric, or per metric. Default 0. */
  tolerance?: Tolerance;
  /** Called before every measurement, after garbage collection: empty your caches here. */
  trimCallback?: () => void | Promise<void>;
  /** Which checks to run. Default Checkers.all(). */
  checkers?: Checkers;
  /** 0: silent; 1: warn once when the process is not quiet (default); 2: also print every clean report. */
  verbosity?: 0 | 1 | 2;
  /** Metrics to judge. Default: heap, mmap, vms, v8heap and external (rss and uss are measured and shown). */
  metrics?: readonly MetricName[];
  /** Label for printed reports. Default: the function's name. */
  name?: string;
  /**
   * Wall-time budget of the whole check, ms: a round that would end past it is not started, and the verdict is given
   * on the rounds measured. Default: none (MemoryLeakTestCase: 80 % of its mocha timeout).
   */
  maxMs?: number;
}

export type ErrorClass = abstract new (...args: never[]) => unknown;

interface Settings {
  times: number;
  warmupTimes: number;
  retries: number;
  tolerance: Partial<Record<MetricName, number>>;
  trimCallback?: () => void | Promise<void>;
  checkers: Checkers;
  verbosity: 0 | 1 | 2;
  metrics?: MetricName[];
  name?: string;
  maxMs?: number;
}

export const DEFAULTS = { times: 300, warmupTimes: 50, retries: 4, verbosity: 1 } as const;

/**
 * Doublings of the call budget on top of `retries`. decide() repeats round sizes (three agreeing rounds after round 1,
 * the last repeating an earlier size) and keeps room for them, so its schedule spends the budget more slowly than
 * doubling rounds would. Quiet 2: with the defaults 38,100 calls, where one 32 B chunk every 10th call took 2,151 calls
 * and a clean function 351 in the median (bench:detection, warm-up included). Plain 5: 306,900 calls, where the floor
 * is sixteen times higher and that leak took 33,951 in the median, 62,751 at most in 20 trials (replaying recorded
 * plain-process noise through decide() gave up to ~150,000 when rounds are caught in noise).
 */
const QUIET_EXTRA_DOUBLINGS = 2;
const PLAIN_EXTRA_DOUBLINGS = 5;
/** How long a resource may take to close after the call returned (requests in flight, workers exiting), ms. */
const RESOURCE_GRACE_MS = 250;
const RESOURCE_POLL_MS = 10;
const MAX_RETRIES = 16;

const OPTION_NAMES = ['times', 'warmupTimes', 'retries', 'tolerance', 'trimCallback', 'checkers', 'verbosity', 'metrics', 'name', 'maxMs'];

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return String(value);
}

function count(where: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`${where}: ${name} must be an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

function metricName(where: string, what: string, name: unknown): MetricName {
  if (!METRIC_NAMES.includes(name as MetricName)) {
    throw new InvalidArgumentError(`${where}: ${what} names unknown metric ${describe(name)} (known: ${METRIC_NAMES.join(', ')})`);
  }
  return name as MetricName;
}

function bytes(where: string, what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${where}: ${what} must be a number of bytes ≥ 0, got ${describe(value)}`);
  }
  return value;
}

function toleranceTable(where: string, tolerance: unknown): Partial<Record<MetricName, number>> {
  if (tolerance === undefined) return {};
  if (typeof tolerance === 'number') {
    const all = bytes(where, 'tolerance', tolerance);
    return Object.fromEntries(METRIC_NAMES.map((metric) => [metric, all]));
  }
  if (tolerance === null || typeof tolerance !== 'object' || Array.isArray(tolerance)) {
    throw new InvalidArgumentError(`${where}: tolerance must be bytes or an object of bytes per metric, got ${describe(tolerance)}`);
  }
  const table: Partial<Record<MetricName, number>> = {};
  for (const [name, value] of Object.entries(tolerance)) {
    table[metricName(where, 'tolerance', name)] = bytes(where, `tolerance.${name}`, value);
  }
  return table;
}

/** Checks every option and fills in the defaults. Throws InvalidArgumentError naming the bad one. */
export function resolveOptions(where: string, options: unknown): Settings {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError(`${where}: options must be an object, got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new InvalidArgumentError(`${where}: unknown option ${describe(key)} (known: ${OPTION_NAMES.join(', ')})`);
    }
  }
  const { trimCallback, checkers, verbosity, metrics, name, maxMs } = given;
  if (maxMs !== undefined && (typeof maxMs !== 'number' || !(maxMs > 0) || !Number.isFinite(maxMs))) {
    throw new InvalidArgumentError(`${where}: maxMs must be a number of ms > 0, got ${describe(maxMs)}`);
  }
  if (trimCallback !== undefined && typeof trimCallback !== 'function') {
    throw new InvalidArgumentError(`${where}: trimCallback must be a function, got ${describe(trimCallback)}`);
  }
  if (checkers !== undefined && !(checkers instanceof Checkers)) {
    throw new InvalidArgumentError(`${where}: checkers must be a Checkers (e.g. Checkers.all().exclude('threads')), got ${describe(checkers)}`);
  }
  if (verbosity !== undefined && verbosity !== 0 && verbosity !== 1 && verbosity !== 2) {
    throw new InvalidArgumentError(`${where}: verbosity must be 0, 1 or 2, got ${describe(verbosity)}`);
  }
  if (name !== undefined && typeof name !== 'string') {
    throw new InvalidArgumentError(`${where}: name must be a string, got ${describe(name)}`);
  }
  let metricList: MetricName[] | undefined;
  if (metrics !== undefined) {
    if (!Array.isArray(metrics) || metrics.length === 0) {
      throw new InvalidArgumentError(`${where}: metrics must be a non-empty array of metric names, got ${describe(metrics)}`);
    }
    metricList = [...new Set(metrics.map((metric) => metricName(where, 'metrics', metric)))];
  }
  return {
    times: count(where, 'times', given.times === undefined ? DEFAULTS.times : given.times, 1),
    warmupTimes: count(where, 'warmupTimes', given.warmupTimes === undefined ? DEFAULTS.warmupTimes : given.warmupTimes, 0),
    retries: count(where, 'retries', given.retries === undefined ? DEFAULTS.retries : given.retries, 0, MAX_RETRIES),
    tolerance: toleranceTable(where, given.tolerance),
    trimCallback: trimCallback as Settings['trimCallback'],
    checkers: (checkers as Checkers | undefined) ?? Checkers.all(),
    verbosity: (verbosity as 0 | 1 | 2 | undefined) ?? DEFAULTS.verbosity,
    metrics: metricList,
    name: name as string | undefined,
    maxMs: maxMs as number | undefined,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

type Invoke = () => unknown;

/** Calls `invoke` n times, one after the other, awaiting each promise it returns. Sync calls stay sync. */
async function callTimes(invoke: Invoke, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const result = invoke();
    if (isThenable(result)) await result;
  }
}

/** One call after warm-up; anything it leaves open (after a short grace for requests in flight) is an error. */
async function checkResources(invoke: Invoke, checkers: Checkers): Promise<void> {
  await settle();
  const before = snapshotResources(checkers);
  const created = checkers.has('libuv') ? new CreatedHandles() : null;
  try {
    await callTimes(invoke, 1);
    await settle(); // still recording: what the call started may open handles a turn later (listen() after a lookup)
    created?.stopRecording(); // from here the harness's own timers poll
    const after = (): ResourceSnapshot => ({ ...snapshotResources(checkers), createdHandles: created?.alive() });
    const deadline = Date.now() + RESOURCE_GRACE_MS;
    let unclosed = findUnclosed(before, after());
    while (unclosed && Date.now() < deadline) {
      await sleep(RESOURCE_POLL_MS);
      unclosed = findUnclosed(before, after());
    }
    if (unclosed) throw unclosed;
  } finally {
    created?.dispose();
  }
}

function growthBetween(metrics: readonly MetricName[], before: Partial<Record<MetricName, number>>, after: Partial<Record<MetricName, number>>): Partial<Record<MetricName, number>> {
  const growth: Partial<Record<MetricName, number>> = {};
  for (const metric of metrics) growth[metric] = (after[metric] as number) - (before[metric] as number);
  return growth;
}

/** Calls in rounds of the sizes decide() asks for until it gives a verdict. */
async function checkMemory(invoke: Invoke, settings: Settings, quiet: boolean, started: number): Promise<LeakReport> {
  const measured = availableMetrics();
  const judged = settings.metrics ?? measured.filter((metric) => DEFAULT_JUDGED.includes(metric));
  const unmeasurable = judged.filter((metric) => !measured.includes(metric));
  if (unmeasurable.length > 0) {
    throw new InvalidArgumentError(
      `metrics: ${unmeasurable.join(', ')} cannot be measured in this process (measurable: ${measured.join(', ')})`,
    );
  }
  const metrics = measured;
  const allNoise = defaultNoise(quiet);
  const noise: Partial<Record<MetricName, number>> = {};
  for (const metric of judged) noise[metric] = allNoise[metric];
  const extraDoublings = quiet ? QUIET_EXTRA_DOUBLINGS : PLAIN_EXTRA_DOUBLINGS;
  const decisionOptions = {
    metrics: judged,
    tolerance: settings.tolerance,
    noise,
    firstCalls: settings.times,
    maxCalls: settings.times * (2 ** (settings.retries + 1 + extraDoublings) - 1),
  };
  const rounds: Round[] = [];
  const reports: RoundReport[] = [];
  let decision: Decision = decide(rounds, decisionOptions);
  let before = await settledSample(metrics, settings.trimCallback);
  let timeCut = '';
  while (decision.verdict === 'continue') {
    if (settings.maxMs !== undefined && rounds.length > 0 && !timeCut) {
      const used = rounds.reduce((sum, round) => sum + round.calls, 0);
      const msPerCall = reports.reduce((sum, round) => sum + round.ms, 0) / used;
      if (performance.now() - started + decision.nextCalls * msPerCall > settings.maxMs) {
        // Out of time: the budget becomes the calls made, so decide() must give its verdict now.
        timeCut = ` (time budget of ${settings.maxMs} ms reached after ${used} calls)`;
        decisionOptions.maxCalls = used;
        decision = decide(rounds, decisionOptions);
        continue;
      }
    }
    const roundStarted = performance.now();
    await callTimes(invoke, decision.nextCalls);
    const after = await settledSample(metrics, settings.trimCallback);
    const growth = growthBetween(metrics, before, after);
    rounds.push({ calls: decision.nextCalls, growth });
    reports.push({ round: rounds.length, calls: decision.nextCalls, growth, ms: performance.now() - roundStarted });
    before = after; // the settled end of one round is the start of the next
    decision = decide(rounds, decisionOptions);
  }
  const base = {
    calls: rounds.reduce((sum, round) => sum + round.calls, 0),
    warmupCalls: settings.warmupTimes,
    rounds: reports,
    metrics: [...metrics],
    judged: [...judged],
    quiet,
    ms: performance.now() - started,
    reason: decision.reason + timeCut,
  };
  if (decision.verdict === 'leak') {
    throw new MemoryLeakError({
      ...base,
      verdict: 'leak',
      metric: decision.metric,
      bytesPerCall: decision.bytesPerCall,
      leakedBytes: decision.leakedBytes,
    });
  }
  return {
    ...base,
    verdict: 'clean',
    bytesPerCall: decision.bytesPerCall,
    upperBytesPerCall: decision.upperBytesPerCall,
    undecided: decision.undecided,
  };
}

/** The check in progress in this thread: checks measure the whole process, so two at once would blame each other. */
let running: string | null = null;

async function run(where: string, label: string, invoke: Invoke, options: LeakOptions | undefined): Promise<LeakReport> {
  const settings = resolveOptions(where, options);
  if (running !== null) {
    throw new InvalidArgumentError(
      `${where}: the check of ${running} is still running; await it before starting another (each one measures the whole process)`,
    );
  }
  running = settings.name ?? label;
  try {
    return await measure(label, invoke, settings);
  } finally {
    running = null;
  }
}

async function measure(label: string, invoke: Invoke, settings: Settings): Promise<LeakReport> {
  const started = performance.now();
  const { quiet } = quietness();
  warnIfNotQuiet(settings.verbosity);
  await callTimes(invoke, settings.warmupTimes);
  const resourceCheckers = settings.checkers.names.filter((name) => name !== 'memory');
  if (resourceCheckers.length > 0) await checkResources(invoke, settings.checkers);
  const report: LeakReport = settings.checkers.has('memory')
    ? await checkMemory(invoke, settings, quiet, started)
    : {
        verdict: 'clean',
        calls: 0,
        warmupCalls: settings.warmupTimes,
        rounds: [],
        metrics: [],
        judged: [],
        quiet,
        ms: performance.now() - started,
        reason: 'memory not checked (checkers exclude it)',
        bytesPerCall: {},
        upperBytesPerCall: {},
        undecided: [],
      };
  if (settings.verbosity === 2) process.stderr.write(`${formatClean(report, settings.name ?? label)}\n`);
  return report;
}

function functionLabel(fn: unknown): string {
  return typeof fn === 'function' && fn.name ? fn.name : 'anonymous function';
}

/**
 * Calls `fn` many times and resolves with a report when it leaks neither memory nor resources; rejects with a
 * LeakError subclass when it does, with InvalidArgumentError on bad options, and with fn's own error when fn throws.
 */
export function checkLeak(fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
  return Promise.resolve().then(() => {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`checkLeak(): fn must be a function, got ${describe(fn)}`);
    return run('checkLeak()', functionLabel(fn), fn, options);
  });
}

function className(errorClass: ErrorClass): string {
  return errorClass.name || 'the expected class';
}

/** Like checkLeak(), but every call must throw (or reject with) an instance of `errorClass`. */
export function checkLeakThrows(errorClass: ErrorClass, fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
  return Promise.resolve().then(() => {
    if (typeof errorClass !== 'function') {
      throw new InvalidArgumentError(`checkLeakThrows(): errorClass must be a class, got ${describe(errorClass)}`);
    }
    if (typeof fn !== 'function') throw new InvalidArgumentError(`checkLeakThrows(): fn must be a function, got ${describe(fn)}`);
    const expected = className(errorClass);
    const check = (err: unknown): void => {
      if (err instanceof errorClass) return;
      const got = err instanceof Error ? `${err.name}: ${err.message}` : describe(err);
      throw new UnexpectedBehaviourError(expected, `expected the function to throw ${expected}, but it threw ${got}`, err);
    };
    const returned = (value: unknown): UnexpectedBehaviourError =>
      new UnexpectedBehaviourError(expected, `expected the function to throw ${expected}, but it returned ${describe(value)}`, value);
    const invoke = (): unknown => {
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
    return run('checkLeakThrows()', functionLabel(fn), invoke, options);
  });
}
