#!/usr/bin/env node
// nodeleak: runs the user's mocha in a quiet process. V8's threading flags only take effect on the command line
// (NODE_OPTIONS refuses --single-threaded) and glibc reads GLIBC_TUNABLES only at start-up, so a child is needed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JEMALLOC_TCACHE_OFF, ONE_ARENA, QUIET_NODE_FLAGS, TCACHE_OFF, quietEnvironment } from './quiet';
import { doctor } from './doctor';
import type { Launch } from './run';
import { quietLaunch } from './run';
import { ProfilerUnavailableError, findJemalloc, verifyProfiler, whereEnvironment } from './where';


const HELP = `Usage: nodeleak [--where] [mocha arguments...]
       nodeleak [--where] run -- <command> [arguments...]

Runs mocha in a quiet process, so nodeleak's leak tests are fast and exact:
  node ${QUIET_NODE_FLAGS.join(' ')} <mocha> [mocha arguments...]
with GLIBC_TUNABLES=${ONE_ARENA}:${TCACHE_OFF} and MALLOC_CONF=${JEMALLOC_TCACHE_OFF}
added to the environment (your other settings in them are kept, arena_max too),
and ESBUILD_WORKER_THREADS=0 unless you set it.

--single-threaded stops V8's background compiler and GC threads, which allocate
at random moments; tcache_count=0 stops glibc's per-thread cache from holding
freed memory, and tcache:false jemalloc's, when jemalloc is preloaded;
arena_max=1 keeps each thread's first malloc from adding an arena of its own.
ESBUILD_WORKER_THREADS=0 keeps esbuild (which tsx compiles TypeScript with)
from leaving an idle worker thread in the process, whose frees would count
as the function's. Worker threads and the libuv thread pool still work.

Every argument goes to mocha unchanged, and mocha reads your .mocharc as usual
(spec, require/import of TypeScript loaders such as tsx, timeouts...).
nodeleak adds its root hooks (--require nodeleak/mocha): a test fails when it does
not await a check it started, and its checks stop before its timeout.
mocha is resolved from the current directory (install it: npm install -D mocha).
Node flags that mocha itself turns into a child process (--node-option, --inspect...)
start that child without the quiet flags; the leak tests then warn and measure longer.

Examples:
  npx nodeleak
  npx nodeleak 'test/leaks/**/*.test.ts'
  npx nodeleak --grep Addon --reporter dot

run -- <command>: starts any other runner or script quietly (vitest, jest,
node --test, tsx): a Node script gets the flags on its command line, every
process gets GLIBC_TUNABLES, and a \`node\` first on PATH adds the flags for
children started by that name. Vitest forks take their flags from the config:
spread quietForks() from nodeleak/vitest into \`test\`. node --test also gets
--import nodeleak/node-test, the hooks that fail a test which does not await
a check it started.

--where (first argument): also preload the system's jemalloc with its heap
profiler ready; a check that finds a C-heap leak then profiles a few more
rounds and its MemoryLeakError names the allocation sites (Linux; set
NODELEAK_JEMALLOC to choose the library).

Options of nodeleak itself (only as the sole argument):
  -h, --help     this text
  --version      nodeleak's version
  doctor         what a passing check here proves: platform, probe binary,
                 allocator, quiet processes, this project's runners, and
                 the C heap's noise measured live, quiet and plain
`;

/** Path of mocha's executable script, resolved from `cwd` the way `npx mocha` would find it. */
export function resolveMocha(cwd: string): string | null {
  let packageJson: string;
  try {
    packageJson = require.resolve('mocha/package.json', { paths: [cwd] });
  } catch {
    return null;
  }
  const manifest = JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.mocha;
  return path.join(path.dirname(packageJson), bin ?? 'bin/mocha.js');
}

/**
 * The user's mocha arguments with nodeleak's root hooks required last (after any TypeScript loader the user
 * requires), before a `--` that ends the options.
 */
function withRootHooks(args: readonly string[]): string[] {
  const hooks = ['--require', require.resolve('./mocha')];
  const end = args.indexOf('--');
  return end === -1 ? [...args, ...hooks] : [...args.slice(0, end), ...hooks, ...args.slice(end)];
}

function version(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Runs the child, passing signals on, and ends this process the way the child ended: its exit code, or the signal
 * that killed it (on Windows, where a process cannot die of a signal it sends itself, 128 + the signal's number).
 */
function runChild(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cleanup: () => void = () => {}): void {
  const child = spawn(file, args, { stdio: 'inherit', env });
  const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const forward = (signal: NodeJS.Signals): void => {
    // Ctrl-C in a terminal reaches the whole foreground group, the child included: passing it on would send it twice.
    if ((signal === 'SIGINT' || signal === 'SIGQUIT') && process.stdin.isTTY) return;
    child.kill(signal);
  };
  for (const signal of forwarded) process.on(signal, forward);
  child.on('error', (err) => {
    process.stderr.write(`nodeleak: could not start ${file}: ${err.message}\n`);
    process.exitCode = 1;
    cleanup();
  });
  child.on('exit', (code, signal) => {
    for (const name of forwarded) process.off(name, forward);
    cleanup();
    if (signal) {
      process.exitCode = 128 + (os.constants.signals[signal] ?? 0);
      if (process.platform !== 'win32') process.kill(process.pid, signal); // die the same way, so the shell sees it
      return;
    }
    process.exitCode = code ?? 1;
  });
}

function fail(message: string): void {
  process.stderr.write(`nodeleak: ${message}\n`);
  process.exitCode = 1;
}

/** Runs mocha (or, with `run`, any command) in a quiet child; exits with its exit code, or dies of its signal. */
export function main(argv: readonly string[]): void {
  let args = argv;
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (args.length === 1 && args[0] === '--version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (args[0] === 'doctor') {
    // Not passed on to mocha, which would read the words as test files.
    if (args.length > 1) fail(`doctor takes no arguments, got ${args.slice(1).join(' ')}`);
    else process.stdout.write(`${doctor()}\n`);
    return;
  }
  let environment: NodeJS.ProcessEnv = { ...process.env, ...quietEnvironment(process.env) };
  if (args[0] === '--where') {
    args = args.slice(1);
    try {
      const library = findJemalloc();
      verifyProfiler(library);
      environment = whereEnvironment(library, environment);
    } catch (err) {
      if (!(err instanceof ProfilerUnavailableError)) throw err;
      fail(err.message);
      return;
    }
  }
  if (args[0] === 'run') {
    let launch: Launch;
    try {
      launch = quietLaunch(args[1] === '--' ? args.slice(2) : args.slice(1), process.cwd(), environment);
    } catch (err) {
      fail((err as Error).message.replace(/^nodeleak run: /, 'run: '));
      return;
    }
    if (launch.warning) process.stderr.write(`${launch.warning}\n`);
    const { shimDir } = launch;
    runChild(launch.file, launch.args, launch.env as NodeJS.ProcessEnv, () => {
      if (shimDir) fs.rmSync(shimDir, { recursive: true, force: true });
    });
    return;
  }
  const mocha = resolveMocha(process.cwd());
  if (!mocha) {
    fail(`mocha is not installed here (${process.cwd()}); install it with: npm install -D mocha (or run another runner: npx nodeleak run -- <command>)`);
    return;
  }
  runChild(process.execPath, [...QUIET_NODE_FLAGS, mocha, ...withRootHooks(args)], environment);
}

if (require.main === module) main(process.argv.slice(2));
