// The settings of a leak check: one list of names that checkLeak()'s options, MemoryLeakTestCase's fields and the
// TypeScript types all come from, and the validation that turns what a user wrote into Settings.
import { Checkers } from './checkers';
import type { MetricName } from './decision';
import { METRIC_NAMES } from './decision';
import { InvalidArgumentError } from './errors';

export type Tolerance = number | Partial<Record<MetricName, number>>;

/** What nodeleak uses of an AbortSignal; structural, so the published types need no @types/node. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface LeakOptions {
  /**
   * Calls in the first measured round, at least; decide() sizes the later ones. A fast function's first round holds
   * more (up to 8×): as many calls as take the time of the two collections that measure the round; and up to the
   * calls the floors need to bound a leak (4,800 in a plain process) while they take less than four times that.
   * Default 300.
   */
  times?: number;
  /** Calls made before anything is measured (lazy start-up, caches). Default 50. */
  warmupTimes?: number;
  /**
   * Sets the call budget: first round × (2^(retries+1+extra) − 1), the first round as time alone sizes it (`times` or
   * more), extra being 2 in a quiet process and 5 in a plain one, and one more for each doubling of a floor widened by
   * the process's noise or by the falls rounds showed. Default 4.
   */
  retries?: number;
  /** Growth accepted as bounded (caches), bytes: one figure for every metric, or per metric. Default 0. */
  tolerance?: Tolerance;
  /** Called before every measurement, after garbage collection: empty your caches here. */
  trimCallback?: () => void | Promise<void>;
  /** Which checks to run. Default Checkers.all(). */
  checkers?: Checkers;
  /** 0: silent; 1: warn once when the process is not quiet (default); 2: also print every clean report. */
  verbosity?: 0 | 1 | 2;
  /**
   * Metrics to judge. Default: heap, mmap, vms, v8heap and external, and uss (rss where uss cannot be read); the other
   * of rss and uss is measured and shown. A check that judges heap or mmap refuses to start where the C heap cannot be
   * read; leave them out to check without it.
   */
  metrics?: readonly MetricName[];
  /** Label for printed reports. Default: the function's name. */
  name?: string;
  /**
   * Wall-time budget of the whole check (warm-up, resource check and rounds), ms. Default: none; under mocha with
   * nodeleak's hooks (and in MemoryLeakTestCase), and in vitest and jest with theirs, 80 % of the test's timeout.
   */
  maxMs?: number;
  /** Stops the check between two calls; it then rejects with CheckAbortedError. */
  signal?: AbortSignalLike;
  /**
   * When the budget ends before every judged metric is bounded, resolve with the report (and print a warning unless
   * verbosity is 0) instead of rejecting with InconclusiveError. Default false.
   */
  allowInconclusive?: boolean;
}

/** Every option checkLeak() accepts, in the order the docs list them. */
export const OPTION_NAMES = [
  'times',
  'warmupTimes',
  'retries',
  'tolerance',
  'trimCallback',
  'checkers',
  'verbosity',
  'metrics',
  'name',
  'maxMs',
  'signal',
  'allowInconclusive',
] as const satisfies readonly (keyof LeakOptions)[];

export type OptionName = (typeof OPTION_NAMES)[number];

// OPTION_NAMES lists every key of LeakOptions: a key added to one and not the other fails to compile here.
type Missing = Exclude<keyof LeakOptions, OptionName>;
const everyOptionListed: [Missing] extends [never] ? true : Missing = true;
void everyOptionListed;

/** Options a MemoryLeakTestCase takes as fields; it sets `name` and `signal` itself, per test. */
export const CLASS_FIELD_NAMES = OPTION_NAMES.filter(
  (name): name is Exclude<OptionName, 'name' | 'signal'> => name !== 'name' && name !== 'signal',
);
export type ClassFieldName = (typeof CLASS_FIELD_NAMES)[number];

export const DEFAULTS = { times: 300, warmupTimes: 50, retries: 4, verbosity: 1 } as const;

const MAX_RETRIES = 16;

/** LeakOptions checked and with their defaults filled in. */
export interface Settings {
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
  signal?: AbortSignalLike;
  allowInconclusive: boolean;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return String(value);
}

/** Functions whose call runs none of their body, by Object.prototype.toString's tag, and what such a call returns. */
const DEFERRING_FUNCTIONS: Record<string, string> = {
  '[object GeneratorFunction]': 'a generator function',
  '[object AsyncGeneratorFunction]': 'an async generator function',
};
const DEFERRED_BODIES: Record<string, string> = {
  '[object Generator]': 'a generator object',
  '[object AsyncGenerator]': 'an async generator object',
};

const CONSUME_IT =
  'a generator runs none of its body until it is iterated, so none of it would be measured; iterate it inside the ' +
  'function: () => { for (const _ of gen()) {} }, or async () => { for await (const _ of gen()) {} }';

/** Refuses a generator function as `what` (fn, trimCallback, a test method): calling it would run none of it. */
export function refuseGeneratorFunction(where: string, what: string, value: unknown, advice = CONSUME_IT): void {
  if (typeof value !== 'function') return;
  const kind = DEFERRING_FUNCTIONS[Object.prototype.toString.call(value)];
  if (kind) throw new InvalidArgumentError(`${where}: ${what} is ${kind}: ${advice}`);
}

/**
 * Refuses what a call of `what` returned when it is a generator object (a function that returns gen()): the call ran
 * none of the generator's body.
 */
export function refuseGeneratorResult(where: string, what: string, result: unknown): void {
  if (result === null || typeof result !== 'object') return;
  const kind = DEFERRED_BODIES[Object.prototype.toString.call(result)];
  if (kind) throw new InvalidArgumentError(`${where}: ${what} returned ${kind}: ${CONSUME_IT}`);
}

function count(where: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`${where}: ${name} must be an integer ${range}, got ${describeValue(value)}`);
  }
  return value;
}

function metricName(where: string, what: string, name: unknown): MetricName {
  if (!METRIC_NAMES.includes(name as MetricName)) {
    throw new InvalidArgumentError(`${where}: ${what} names unknown metric ${describeValue(name)} (known: ${METRIC_NAMES.join(', ')})`);
  }
  return name as MetricName;
}

function bytes(where: string, what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${where}: ${what} must be a number of bytes ≥ 0, got ${describeValue(value)}`);
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
    throw new InvalidArgumentError(`${where}: tolerance must be bytes or an object of bytes per metric, got ${describeValue(tolerance)}`);
  }
  const table: Partial<Record<MetricName, number>> = {};
  for (const [name, value] of Object.entries(tolerance)) {
    table[metricName(where, 'tolerance', name)] = bytes(where, `tolerance.${name}`, value);
  }
  return table;
}

export function isAbortSignal(value: unknown): value is AbortSignalLike {
  const signal = value as Partial<AbortSignalLike> | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' &&
    typeof signal.removeEventListener === 'function'
  );
}

/** Checks every option and fills in the defaults. Throws InvalidArgumentError naming the bad one. */
export function resolveOptions(where: string, options: unknown): Settings {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError(`${where}: options must be an object, got ${describeValue(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`${where}: unknown option ${describeValue(key)} (known: ${OPTION_NAMES.join(', ')})`);
    }
  }
  const { trimCallback, checkers, verbosity, metrics, name, maxMs, signal, allowInconclusive } = given;
  if (maxMs !== undefined && (typeof maxMs !== 'number' || !(maxMs > 0) || !Number.isFinite(maxMs))) {
    throw new InvalidArgumentError(`${where}: maxMs must be a number of ms > 0, got ${describeValue(maxMs)}`);
  }
  if (trimCallback !== undefined && typeof trimCallback !== 'function') {
    throw new InvalidArgumentError(`${where}: trimCallback must be a function, got ${describeValue(trimCallback)}`);
  }
  refuseGeneratorFunction(where, 'trimCallback', trimCallback);
  if (checkers !== undefined && !(checkers instanceof Checkers)) {
    throw new InvalidArgumentError(`${where}: checkers must be a Checkers (e.g. Checkers.all().exclude('threads')), got ${describeValue(checkers)}`);
  }
  if (verbosity !== undefined && verbosity !== 0 && verbosity !== 1 && verbosity !== 2) {
    throw new InvalidArgumentError(`${where}: verbosity must be 0, 1 or 2, got ${describeValue(verbosity)}`);
  }
  if (name !== undefined && typeof name !== 'string') {
    throw new InvalidArgumentError(`${where}: name must be a string, got ${describeValue(name)}`);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new InvalidArgumentError(`${where}: signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  if (allowInconclusive !== undefined && typeof allowInconclusive !== 'boolean') {
    throw new InvalidArgumentError(`${where}: allowInconclusive must be true or false, got ${describeValue(allowInconclusive)}`);
  }
  let metricList: MetricName[] | undefined;
  if (metrics !== undefined) {
    if (!Array.isArray(metrics) || metrics.length === 0) {
      throw new InvalidArgumentError(`${where}: metrics must be a non-empty array of metric names, got ${describeValue(metrics)}`);
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
    signal: signal as AbortSignalLike | undefined,
    allowInconclusive: allowInconclusive === true,
  };
}
