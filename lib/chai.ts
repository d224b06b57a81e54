// nodeleak/chai: `chai.use(nodeleakChai)`, then `await expect(fn).to.not.leakMemory(options)`.
// A plugin is a function chai calls with itself, so this CommonJS module never loads chai: it works with chai 6
// (ESM only) imported or required (Node 20.19+ / 22.12+ can require ES modules), and with chai 4/5.
import type { AssertionOptions } from './assertion';
import { runCheck } from './assertion';
import { deriveCheck } from './in-flight';
import { LeakError } from './leak-errors';
import type { LeakReport } from './report';

interface ChaiAssertion {
  _obj: unknown;
}
interface ChaiUtils {
  flag(assertion: object, name: string, value?: unknown): unknown;
  addMethod(ctx: object, name: string, method: (this: ChaiAssertion, ...args: never[]) => unknown): void;
}
interface ChaiStatic {
  Assertion: { prototype: object; new (...args: never[]): object };
  AssertionError: new (message: string, props?: object) => Error;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion {
      /**
       * `await expect(fn).to.not.leakMemory(options)` resolves with checkLeak()'s report or rejects with its LeakError;
       * `await expect(fn).to.leakMemory()` resolves with the LeakError found, or rejects with an AssertionError.
       * `throws: ErrorClass` in the options makes every call have to throw that class (checkLeakThrows()).
       */
      leakMemory(options?: AssertionOptions): Promise<LeakReport | LeakError>;
    }
  }
}

/** The chai plugin. Register it once: `chai.use(nodeleakChai)` (or `use(nodeleakChai)` from 'chai'). */
function nodeleakChai(chai: ChaiStatic, utils: ChaiUtils): void {
  utils.addMethod(chai.Assertion.prototype, 'leakMemory', function leakMemory(options?: AssertionOptions) {
    const fn = this._obj;
    if (utils.flag(this, 'negate')) return runCheck(fn, options);
    // deriveCheck: the check counts as awaited only when the user awaits this assertion, not when the plugin does.
    return deriveCheck<LeakReport, LeakError>(
      runCheck(fn, options),
      (report) => {
        throw new chai.AssertionError(`expected the function to leak, but it did not (${report.reason})`, { actual: report });
      },
      (err: unknown) => {
        if (err instanceof LeakError) return err;
        throw err; // bad options, inconclusive, or the function itself failed: not an answer either way
      },
    );
  });
}

export = nodeleakChai;
