import { heapInfo } from './probe';
import { detectRunner } from './runner';

/** The command that runs mocha in a quiet process. */
export const QUIET_COMMAND = 'npx nodeleak <your mocha arguments>';

/** What makes this process quiet, for the runner that started it (read from the variables each runner sets). */
export function quietAdvice(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv): string {
  switch (detectRunner(env, argv)) {
    case 'vitest':
      return "spread quietForks() from 'nodeleak/vitest' into your vitest config's `test`, and run vitest through `npx nodeleak run -- vitest`";
    case 'jest':
      return 'run `npx nodeleak run -- jest <your arguments>`';
    case 'node-test':
      return 'run `npx nodeleak run -- node --test <your arguments>`';
    case 'mocha':
      return `run \`${QUIET_COMMAND}\``;
    case null:
      return 'run `npx nodeleak run -- <your command>`';
  }
}

/** The environment setting that turns glibc's per-thread cache off (read only at process start). */
export const TCACHE_OFF = 'glibc.malloc.tcache_count=0';

/**
 * Node flags of a quiet process: no V8 background threads; gc() exposed as well (the harness works without it); V8's
 * young generation held at its smallest. V8 otherwise grows it as a process allocates, and each size it reaches lets
 * more dead objects with native parts (a zlib stream, a Hash) wait for collection at once; the C heap they hold at
 * that peak (V8's handle blocks, Node's per-object records) is kept, so it would grow in rounds long after warm-up.
 * V8's baseline compiler off: it compiles each function once it has run a while, the harness's own code between reads
 * included, so in any round, and V8 keeps C heap for each piece of machine code it makes and for each page its code
 * space adds. Machine code then comes only from the optimizing compilers, for code that runs hot: the function under
 * test in its first rounds.
 */
export const QUIET_NODE_FLAGS = ['--single-threaded', '--expose-gc', '--max-semi-space-size=1', '--no-sparkplug'] as const;

/**
 * A list of settings (pairs split by `between`, name from value by `within`) with `setting` in place of any of the same
 * name, appended last; the other settings kept in order.
 */
export function replaceSetting(list: string | undefined, between: string, within: string, setting: string): string {
  const name = setting.split(within)[0];
  const kept = (list ?? '').split(between).filter((pair) => pair.trim() !== '' && pair.split(within)[0].trim() !== name);
  return [...kept, setting].join(between);
}

/**
 * The setting that keeps every thread on glibc's main arena. A thread's first malloc or free otherwise makes an arena of
 * its own, ~2.9 KB of C heap kept for the life of the process, made inside glibc (no malloc() call shows it). Under
 * Node 20, V8's platform threads, there under --single-threaded too, make theirs on their first task, which the
 * process's first full collections hand them one at a time; any other thread (libuv's pool) on its first allocation.
 * With one arena a thread adds only its cache's table, 640 B.
 */
export const ONE_ARENA = 'glibc.malloc.arena_max=1';

/** GLIBC_TUNABLES with tcache_count set to 0 and, unless the user set arena_max, one arena; other tunables kept. */
export function quietTunables(existing: string | undefined): string {
  const arenas = lastSetting(existing, ':', '=', 'glibc.malloc.arena_max') === undefined ? replaceSetting(existing, ':', '=', ONE_ARENA) : existing;
  return replaceSetting(arenas, ':', '=', TCACHE_OFF);
}

/**
 * The MALLOC_CONF setting that turns jemalloc's per-thread cache off (read only at process start), for a process
 * jemalloc is preloaded into: its figures count the blocks a thread's cache holds as allocated, and each cache hands
 * them back in bursts of tens of KB. glibc ignores MALLOC_CONF, and an addon's own jemalloc, linked with a prefix,
 * reads a variable of its own.
 */
export const JEMALLOC_TCACHE_OFF = 'tcache:false';

/** MALLOC_CONF with jemalloc's tcache off, other settings kept. */
export function quietMallocConf(existing: string | undefined): string {
  return replaceSetting(existing, ',', ':', JEMALLOC_TCACHE_OFF);
}

/**
 * The variables a quiet process starts with, the user's other settings in them kept: the allocators' thread caches
 * off, and esbuild's synchronous API (tsx and other TypeScript loaders compile through it) without its worker thread.
 * That worker stays alive, idle, for the life of the process, and its isolate frees C heap on its own schedule (its
 * collections after it goes idle) while a check measures; with 0, esbuild runs its compiler as a child process for
 * each synchronous call instead. A value the user set is kept.
 */
export function quietEnvironment(env: Record<string, string | undefined>): { GLIBC_TUNABLES: string; MALLOC_CONF: string; ESBUILD_WORKER_THREADS: string } {
  return {
    GLIBC_TUNABLES: quietTunables(env.GLIBC_TUNABLES),
    MALLOC_CONF: quietMallocConf(env.MALLOC_CONF),
    ESBUILD_WORKER_THREADS: env.ESBUILD_WORKER_THREADS ?? '0',
  };
}

export interface Quietness {
  /** Both sources of noise are off: leak checks can trust small growth. */
  quiet: boolean;
  /** V8 runs without background compiler and GC threads (`--single-threaded` on the command line). */
  singleThreaded: boolean;
  /** The C heap allocator's thread cache is off (glibc's or jemalloc's); null when it has none that its figures count. */
  tcacheOff: boolean | null;
  /** The setting that turns that cache off, and why, for the advice; null when there is none. */
  tcacheSetting: string | null;
}

function flagName(arg: string): string {
  return arg.split('=')[0].replace(/_/g, '-');
}

/** `--single-threaded`, or the two flags it implies that matter for noise. */
function isSingleThreaded(execArgv: readonly string[]): boolean {
  const flags = new Set(execArgv.map(flagName));
  if (flags.has('--single-threaded')) return true;
  return flags.has('--single-threaded-gc') && flags.has('--no-concurrent-recompilation');
}

/** The value of the last `name` in a list of settings (pairs split by `between`, name from value by `within`), if any. */
function lastSetting(list: string | undefined, between: string, within: string, name: string): string | undefined {
  const pair = (list ?? '')
    .split(between)
    .map((setting) => setting.trim().split(within))
    .filter(([key]) => key === name)
    .pop();
  return pair?.[1]?.trim();
}

/** Whether GLIBC_TUNABLES (colon-separated name=value pairs) sets tcache_count to 0. */
export function tunablesTurnTcacheOff(tunables: string | undefined): boolean {
  const value = lastSetting(tunables, ':', '=', 'glibc.malloc.tcache_count');
  return value !== undefined && Number(value) === 0;
}

/** Whether MALLOC_CONF (comma-separated name:value pairs) sets tcache to false. */
export function mallocConfTurnsTcacheOff(conf: string | undefined): boolean {
  return lastSetting(conf, ',', ':', 'tcache') === 'false';
}

/** The allocator's thread cache whose blocks its figures count as in use, and the setting that turns it off. */
function threadCache(): { off: boolean; setting: string } | null {
  if (process.platform !== 'linux') return null;
  let allocator: string;
  try {
    allocator = heapInfo().allocator;
  } catch {
    return null; // no probe: no C-heap metric for a thread cache to disturb
  }
  if (allocator === 'glibc') {
    return { off: tunablesTurnTcacheOff(process.env.GLIBC_TUNABLES), setting: `GLIBC_TUNABLES=${TCACHE_OFF} (glibc's thread cache hides frees)` };
  }
  if (allocator === 'jemalloc') {
    return { off: mallocConfTurnsTcacheOff(process.env.MALLOC_CONF), setting: `MALLOC_CONF=${JEMALLOC_TCACHE_OFF} (jemalloc's thread cache hides frees)` };
  }
  return null; // tcmalloc counts its thread caches' blocks as free
}

let cached: Quietness | undefined;

/** Is this process quiet? Flags cannot change at run time, so the answer is computed once. */
export function quietness(): Quietness {
  if (cached) return cached;
  const singleThreaded = isSingleThreaded(process.execArgv);
  const cache = threadCache();
  const tcacheOff = cache ? cache.off : null;
  cached = { quiet: singleThreaded && tcacheOff !== false, singleThreaded, tcacheOff, tcacheSetting: cache ? cache.setting : null };
  return cached;
}

let warned = false;

/** Says once per process, on stderr, that checks run longer here and which command avoids that. */
export function warnIfNotQuiet(verbosity: number): void {
  const state = quietness();
  if (state.quiet || warned || verbosity === 0) return;
  warned = true;
  const missing = [
    ...(state.singleThreaded ? [] : ['node --single-threaded (V8 background threads allocate at random moments)']),
    ...(state.tcacheOff === false && state.tcacheSetting ? [state.tcacheSetting] : []),
  ];
  process.stderr.write(
    `nodeleak: this process is not quiet (missing ${missing.join(' and ')}), so leak checks measure longer ` +
      `to stay exact. For fast, exact checks, ${quietAdvice()}.\n`,
  );
}

/** Whether this process runs without V8's background threads and its allocator's thread cache (see `npx nodeleak --help`). */
export function isQuietProcess(): boolean {
  return quietness().quiet;
}
