import type { LeakOptions } from '../../lib';

/**
 * Options for a short check run in the mocha process itself. maxMs: such a check ends before its spec's timeout, so a
 * slow one fails alone rather than keep running into the next specs (which would then refuse with
 * ConcurrentCheckError).
 */
export const FAST: LeakOptions = { times: 100, warmupTimes: 5, retries: 5, verbosity: 0, maxMs: 20_000 };
