import type { ErrorClass } from './check-leak';
import { checkLeak, checkLeakThrows } from './check-leak';
import { Checkers } from './checkers';
import type { MetricName } from './decision';
import { InvalidArgumentError } from './errors';
import { abandonTestScope, runInTestScope } from './in-flight';
import type { ClassFieldName, LeakOptions, Tolerance } from './options';
import { CLASS_FIELD_NAMES, DEFAULTS, refuseGeneratorFunction } from './options';
import type { LeakReport } from './report';

type Hook = () => void | Promise<void>;

/** The parts of mocha's BDD interface register() uses; read from globalThis so mocha stays an optional peer. */
type MochaTestFn = (this: { timeout(): number }) => Promise<void>;
interface MochaTest {
  (title: string, fn: MochaTestFn): unknown;
  only(title: string, fn: MochaTestFn): unknown;
  skip(title: string, fn: MochaTestFn): unknown;
}
interface MochaInterface {
  describe(title: string, fn: (this: { timeout(ms: number): void; slow(ms: number): void }) => void): unknown;
  it: MochaTest;
  before(fn: Hook): unknown;
  after(fn: Hook): unknown;
  beforeEach(fn: Hook): unknown;
  afterEach(fn: Hook): unknown;
}

function mochaInterface(className: string): MochaInterface {
  const globals = globalThis as Partial<Record<keyof MochaInterface, unknown>>;
  const names: (keyof MochaInterface)[] = ['describe', 'it', 'before', 'after', 'beforeEach', 'afterEach'];
  const missing = names.filter((name) => typeof globals[name] !== 'function');
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `${className}.register() must run while mocha loads the test file (with its BDD interface): ${missing.join(', ')} not defined`,
    );
  }
  return globals as unknown as MochaInterface;
}

/** The statics register() reads from the subclass it is called on. */
interface TestCaseClass {
  new (): MemoryLeakTestCase;
  name: string;
  prototype: MemoryLeakTestCase;
  only: string[];
  skip: string[];
  auto: Record<string, () => unknown>;
  timeout: number;
  setUpClass?(): void | Promise<void>;
  tearDownClass?(): void | Promise<void>;
}

/** test* methods along the prototype chain below MemoryLeakTestCase, base class first, in declaration order. */
function testMethodNames(cls: TestCaseClass): string[] {
  const chain: object[] = [];
  for (let proto = cls.prototype; proto && proto !== MemoryLeakTestCase.prototype; proto = Object.getPrototypeOf(proto)) {
    chain.unshift(proto);
  }
  const names = new Set<string>();
  for (const proto of chain) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name.startsWith('test') && typeof descriptor?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** Own instance properties named test* that hold functions (`testX = async () => {…}`): refused, see register(). */
function testFields(cls: TestCaseClass): string[] {
  let instance: Record<string, unknown>;
  try {
    instance = new cls() as unknown as Record<string, unknown>;
  } catch {
    return []; // a constructor that needs what setUpClass prepares: its fields cannot be looked at before the tests run
  }
  return Object.keys(instance).filter((name) => name.startsWith('test') && typeof instance[name] === 'function');
}

function checkStatics(cls: TestCaseClass, tests: readonly string[]): void {
  const where = `${cls.name}.register()`;
  for (const list of ['only', 'skip'] as const) {
    const value: unknown = cls[list];
    if (!Array.isArray(value) || value.some((name) => typeof name !== 'string')) {
      throw new InvalidArgumentError(`${where}: static ${list} must be an array of test names`);
    }
    for (const name of value as string[]) {
      if (!tests.includes(name)) {
        throw new InvalidArgumentError(`${where}: static ${list} names '${name}', which is not a test (tests: ${tests.join(', ') || 'none'})`);
      }
    }
  }
  if (typeof cls.timeout !== 'number' || !Number.isInteger(cls.timeout) || cls.timeout < 0) {
    throw new InvalidArgumentError(`${where}: static timeout must be an integer number of ms ≥ 0, got ${String(cls.timeout)}`);
  }
}

function autoTests(cls: TestCaseClass, methods: readonly string[]): [string, () => unknown][] {
  const where = `${cls.name}.register()`;
  const auto: unknown = cls.auto;
  if (auto === null || typeof auto !== 'object' || Array.isArray(auto)) {
    throw new InvalidArgumentError(`${where}: static auto must be an object of functions, one test each`);
  }
  return Object.entries(auto).map(([name, fn]) => {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`${where}: static auto.${name} must be a function, got ${typeof fn}`);
    refuseGeneratorFunction(where, `static auto.${name}`, fn);
    if (methods.includes(name)) throw new InvalidArgumentError(`${where}: static auto.${name} has the name of a test method`);
    return [name, fn as () => unknown];
  });
}

/**
 * Refuses test methods and hooks written as generators (`async *testX()`): mocha would call one, get an iterator, and
 * pass the test with none of its body run.
 */
function refuseGeneratorMethods(cls: TestCaseClass, methods: readonly string[]): void {
  const where = `${cls.name}.register()`;
  const proto = cls.prototype as unknown as Record<string, unknown>;
  const statics = cls as unknown as Record<string, unknown>;
  const advice = (method: string): string => `a call of it runs none of its body; write it as \`${method}() {…}\``;
  for (const name of [...methods, 'setUp', 'tearDown', 'trimCallback']) {
    refuseGeneratorFunction(where, name, proto[name], advice(`async ${name}`));
  }
  for (const name of ['setUpClass', 'tearDownClass']) {
    refuseGeneratorFunction(where, `static ${name}`, statics[name], advice(`static async ${name}`));
  }
}

/** Classes register() has declared to mocha: a second register() would declare every test twice. */
const registered = new WeakSet<object>();

/**
 * A class of leak tests for mocha. Subclass it, set the fields, write `async testSomething()` methods that call
 * `this.execute(fn)`, then call `YourClass.register()`: one describe() named after the class, one it() per test*
 * method (a fresh instance each), setUp/tearDown as beforeEach/afterEach, setUpClass/tearDownClass as before/after.
 */
export abstract class MemoryLeakTestCase {
  /** Calls before anything is measured. */
  warmupTimes: number = DEFAULTS.warmupTimes;
  /** Calls in the first measured round; the decision rule sizes the later ones. */
  times: number = DEFAULTS.times;
  /** Sets a check's call budget (see LeakOptions.retries). */
  retries: number = DEFAULTS.retries;
  /** Growth accepted as bounded, bytes: one figure, or per metric. */
  tolerance: Tolerance = 0;
  /**
   * Called before every measurement: empty caches here. Declared as a method, not a field, so that a subclass may
   * write it as a method (an own field of the base class would hide the subclass's prototype method).
   */
  trimCallback?(): void | Promise<void>;
  /** Which checks execute() runs. */
  checkers: Checkers = Checkers.all();
  /** 0 silent, 1 warn once outside a quiet process, 2 print every clean report. */
  verbosity: 0 | 1 | 2 = DEFAULTS.verbosity;
  /** Metrics to judge (see LeakOptions.metrics); undefined: the defaults. */
  metrics: readonly MetricName[] | undefined = undefined;
  /** Wall-time budget of each check, ms; undefined: 80 % of the test's timeout. */
  maxMs: number | undefined = undefined;
  /** Accept an inconclusive check as a pass, with a warning (see LeakOptions.allowInconclusive). */
  allowInconclusive = false;

  /** Test names (test* methods or auto entries) to run with it.only. */
  static only: string[] = [];
  /** Test names to skip. */
  static skip: string[] = [];
  /** Tests generated from a table: one it() per entry, each `execute(fn)`. */
  static auto: Record<string, () => unknown> = {};
  /** Mocha timeout of each test, ms: a plain process measures for seconds. */
  static timeout = 120_000;

  setUp?(): void | Promise<void>;
  tearDown?(): void | Promise<void>;

  /** `Class.testName` of the test running on this instance, for printed reports. */
  #testTitle: string | undefined;
  static setUpClass?(): void | Promise<void>;
  static tearDownClass?(): void | Promise<void>;

  /** This instance's settings as checkLeak() options: every field named in CLASS_FIELD_NAMES, methods bound to it. */
  protected leakOptions(): LeakOptions {
    const options: Record<string, unknown> = {};
    const fields = this as unknown as Record<ClassFieldName, unknown>;
    for (const name of CLASS_FIELD_NAMES) {
      const value = fields[name];
      if (value !== undefined) options[name] = typeof value === 'function' ? (value as () => unknown).bind(this) : value;
    }
    if (this.#testTitle !== undefined) options.name = this.#testTitle;
    return options as LeakOptions;
  }

  /** Fails (rejects) when `fn` leaks memory or leaves a resource open; `options` override the fields for this call. */
  execute(fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
    return checkLeak(fn, { ...this.leakOptions(), ...options });
  }

  /** Like execute(), but every call of `fn` must throw (or reject with) an instance of `errorClass`. */
  executeThrows(errorClass: ErrorClass, fn: () => unknown, options?: LeakOptions): Promise<LeakReport> {
    return checkLeakThrows(errorClass, fn, { ...this.leakOptions(), ...options });
  }

  /**
   * Declares this class's tests to mocha. Call it once, at the top level of the test file. Tests are `test*` methods
   * and `static auto` entries; `testX = async () => {…}` fields are refused (register() constructs one instance to
   * look for them), as is a class with no tests.
   */
  static register(): void {
    const cls = this as unknown as TestCaseClass;
    if ((cls as unknown) === MemoryLeakTestCase) {
      throw new InvalidArgumentError('register() must be called on a subclass of MemoryLeakTestCase');
    }
    const where = `${cls.name}.register()`;
    if (registered.has(cls)) throw new InvalidArgumentError(`${where}: the class is registered already; call register() once`);
    const mocha = mochaInterface(cls.name);
    const methods = testMethodNames(cls);
    const fields = testFields(cls);
    if (fields.length > 0) {
      throw new InvalidArgumentError(
        `${where}: ${fields.join(', ')} ${fields.length === 1 ? 'is a field' : 'are fields'} holding a function; ` +
          'write each test as a method (`async testX() {…}`), which register() can list before any instance exists',
      );
    }
    refuseGeneratorMethods(cls, methods);
    const auto = autoTests(cls, methods);
    if (methods.length === 0 && auto.length === 0) {
      throw new InvalidArgumentError(`${where}: the class has no tests: add methods named test… or entries to static auto`);
    }
    checkStatics(cls, [...methods, ...auto.map(([name]) => name)]);
    registered.add(cls);
    const declare = (name: string): MochaTest['only'] =>
      cls.only.includes(name) ? mocha.it.only : cls.skip.includes(name) ? mocha.it.skip : mocha.it;

    mocha.describe(cls.name, function () {
      this.timeout(cls.timeout);
      this.slow(Math.min(cls.timeout, 10_000));
      let current: MemoryLeakTestCase | undefined;
      if (cls.setUpClass) mocha.before(() => cls.setUpClass?.call(cls));
      if (cls.tearDownClass) mocha.after(() => cls.tearDownClass?.call(cls));
      mocha.beforeEach(async () => {
        current = new cls();
        await current.setUp?.();
      });
      mocha.afterEach(async () => {
        const instance = current;
        current = undefined;
        await abandonTestScope(); // a test mocha timed out may still have a check calling: stop it before tearDown
        await instance?.tearDown?.();
      });
      // Each test runs in a test scope: its checks get their time budget from the timeout, are stopped before it
      // ends, and have stopped calling before tearDown runs; a check the test did not await fails it.
      const declareTest = (name: string, body: (instance: MemoryLeakTestCase) => unknown): void => {
        declare(name)(name, async function () {
          const instance = current as MemoryLeakTestCase;
          instance.#testTitle = `${cls.name}.${name}`;
          await runInTestScope(instance.#testTitle, () => this.timeout(), () => body(instance));
        });
      };
      for (const name of methods) {
        declareTest(name, (instance) => (instance as unknown as Record<string, () => unknown>)[name].call(instance));
      }
      for (const [name, fn] of auto) declareTest(name, (instance) => instance.execute(fn));
    });
  }
}

// Every option in CLASS_FIELD_NAMES is a member of MemoryLeakTestCase, of a type checkLeak() accepts for it: a name
// added to the list without its field (or a field of another type) fails to compile here.
const fieldsMatchOptions: { [K in ClassFieldName]?: LeakOptions[K] } = {} as Pick<MemoryLeakTestCase, ClassFieldName>;
void fieldsMatchOptions;
