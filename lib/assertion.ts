// The one assertion behind chai's leakMemory and the vitest/jest toLeakMemory matchers: run the check, and say
// whether the function leaked. Errors that are neither verdict (bad options, InconclusiveError, the function's own
// error) are thrown: they are not an answer either way.
import type { ErrorClass, LeakOptions } from './check-leak';
import { checkLeak, checkLeakThrows } from './check-leak';
import { stoppedAfterItsTest } from './in-flight';
import { LeakError } from './leak-errors';
import type { LeakReport } from './report';

/** checkLeak()'s options, and `throws: ErrorClass` for a function every call of which must throw that class. */
export type AssertionOptions = LeakOptions & { throws?: ErrorClass };

/** Starts the check an assertion stands for. */
export function runCheck(fn: unknown, options: AssertionOptions | undefined): Promise<LeakReport> {
  if (options && typeof options === 'object' && 'throws' in options) {
    const { throws, ...leakOptions } = options;
    return checkLeakThrows(throws as ErrorClass, fn as () => unknown, leakOptions);
  }
  return checkLeak(fn as () => unknown, options);
}

/** What a matcher returns to vitest's and jest's expect: `pass` is "it leaked". */
export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/**
 * toLeakMemory: passes when the function leaks; `.not.toLeakMemory()` passes when it was measured and is clean. The
 * check starts in this call, not in an async function: one refused as it starts (UnscopedCheckError) throws from the
 * matcher itself, which fails the test even where the test does not await the matcher.
 */
export function toLeakMemory(received: unknown, options?: AssertionOptions): Promise<MatcherResult> {
  return matcherResult(runCheck(received, options));
}

async function matcherResult(check: Promise<LeakReport>): Promise<MatcherResult> {
  try {
    const report = await check;
    return { pass: false, message: () => `expected the function to leak, but it did not (${report.reason})` };
  } catch (err) {
    // Its test has ended and failed for this check already. A rejection now would reach no test: runners report it
    // as unhandled, on whichever test runs next (vitest) or as a second failure (jest). No verdict is given either.
    if (stoppedAfterItsTest(err)) return new Promise<never>(() => {});
    if (!(err instanceof LeakError)) throw err;
    return { pass: true, message: () => `expected the function not to leak, but it did: ${err.name}: ${err.message}` };
  }
}
