// `npx nodeleak --where`: jemalloc's heap profiler, ready but inactive in the quiet process, and, when a check finds
// a C-heap leak, a few more rounds profiled to name the allocation sites whose live bytes grew with the calls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binding, bindingPath } from './binding';
import { NodeleakError } from './errors';
import type { HeapProfile } from './heap-profile';
import { growingStacks, parseHeapProfile } from './heap-profile';
import { platformTuple } from './platform';
import { replaceSetting } from './quiet';
import type { Frame } from './symbolize';

/** Set to 1 in the processes `--where` starts: checks that find a C-heap leak then profile it. */
export const WHERE_ENV = 'NODELEAK_WHERE';
/** Path of the jemalloc library to preload, instead of the one nodeleak finds. */
export const JEMALLOC_ENV = 'NODELEAK_JEMALLOC';

/**
 * Profiler settings: on but inactive until a check turns it on; every allocation sampled once it is. tcache:false
 * is the quiet process's tcache_count=0 for jemalloc: a thread's cache (the libuv pool's too) keeps freed blocks
 * counted as allocated, which reads as a leak of async work.
 */
const MALLOC_CONF = 'tcache:false,prof:true,prof_active:false,lg_prof_sample:0';

/**
 * Modules only `--where` uses, required on first use: node:child_process brings net, streams and more into V8's heap,
 * which every collection of every check marks.
 */
function childProcess(): typeof import('node:child_process') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:child_process');
}

function symbolizer(): typeof import('./symbolize') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./symbolize');
}

/** Environment variables; structural, so the published types need no @types/node. */
type Environment = Record<string, string | undefined>;

/** `--where` cannot run here: no jemalloc, a jemalloc without profiling, or a platform with no such profiler. */
export class ProfilerUnavailableError extends NodeleakError {
  constructor(message: string) {
    super('NODELEAK_NO_PROFILER', message);
  }
}

/** A place in the code that holds leaked bytes. */
export interface LeakSite {
  /** Live bytes this stack gained per call while profiled. */
  bytesPerCall: number;
  allocationsPerCall: number;
  /** The allocation's stack, innermost first (the allocator's own frames included). */
  frames: Frame[];
  /** Index in `frames` of the first frame in the user's code (not libc, libstdc++, jemalloc, node, or nodeleak). */
  first: number;
  /** Index in `frames` of the node function (N-API, V8, libuv) that frame called, when it called one: `first − 1`. */
  called?: number;
}

function osRelease(): { id: string; like: string[] } {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const field = (name: string): string => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
    return { id: field('ID'), like: field('ID_LIKE').split(/\s+/).filter(Boolean) };
  } catch {
    return { id: '', like: [] };
  }
}

/** The command that installs a jemalloc with profiling on this system. */
export function installHint(): string {
  const { id, like } = osRelease();
  const family = [id, ...like];
  if (family.some((name) => ['debian', 'ubuntu'].includes(name))) return 'sudo apt-get install libjemalloc2';
  if (family.some((name) => ['fedora', 'rhel', 'centos'].includes(name))) return 'sudo dnf install jemalloc';
  if (family.includes('alpine')) return 'apk add jemalloc';
  if (family.includes('arch')) return 'sudo pacman -S jemalloc';
  if (family.some((name) => ['suse', 'opensuse'].includes(name))) return 'sudo zypper install libjemalloc2';
  return "your distribution's jemalloc package (libjemalloc.so.2)";
}

const CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
];

/** jemalloc in the dynamic linker's cache (`ldconfig -p`), for this machine's word size. */
function fromLdconfig(): string | null {
  try {
    const listing = childProcess().execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const wanted = process.arch === 'arm64' ? 'AArch64' : 'x86-64';
    const line = listing.split('\n').find((entry) => entry.includes('libjemalloc.so.2') && entry.includes(wanted));
    return line?.split('=>')[1]?.trim() ?? null;
  } catch {
    return null;
  }
}

/** The jemalloc library to preload: NODELEAK_JEMALLOC, the usual paths, then ldconfig's cache. */
export function findJemalloc(env: Environment = process.env): string {
  if (process.platform !== 'linux') {
    const instead =
      process.platform === 'darwin'
        ? 'On macOS, run the test with MallocStackLogging=1 and use leaks(1) or malloc_history(1)'
        : process.platform === 'win32'
          ? 'On Windows, use UMDH (gflags /i node.exe +ust, then umdh snapshots around the test)'
          : 'No allocation profiler is supported here';
    throw new ProfilerUnavailableError(`--where needs Linux (jemalloc's heap profiler); this is ${platformTuple()}. ${instead}; see the README, "Finding the leak".`);
  }
  const override = env[JEMALLOC_ENV];
  if (override) {
    if (!fs.existsSync(override)) {
      throw new ProfilerUnavailableError(`${JEMALLOC_ENV}=${override}: no such file. Install jemalloc (${installHint()}) or point ${JEMALLOC_ENV} at libjemalloc.so.2.`);
    }
    return override;
  }
  const found = CANDIDATES.find((candidate) => fs.existsSync(candidate)) ?? fromLdconfig();
  if (!found) {
    throw new ProfilerUnavailableError(`--where needs jemalloc, which was not found. Install it with: ${installHint()} (or set ${JEMALLOC_ENV} to its path).`);
  }
  return found;
}

/** MALLOC_CONF with the profiler settings, other settings kept. */
function mallocConf(existing: string | undefined): string {
  return MALLOC_CONF.split(',').reduce((conf, setting) => replaceSetting(conf, ',', ':', setting), existing ?? '');
}

/** The environment of a `--where` process: jemalloc preloaded (first), its profiler ready, NODELEAK_WHERE=1. */
export function whereEnvironment(library: string, env: Environment): Environment {
  const preload = [library, ...(env.LD_PRELOAD ?? '').split(/[:\s]+/).filter((entry) => entry && entry !== library)].join(':');
  return { ...env, LD_PRELOAD: preload, MALLOC_CONF: mallocConf(env.MALLOC_CONF), [WHERE_ENV]: '1' };
}

/** Starts a node with that environment and asks the probe whether the profiler answers; throws when it does not. */
export function verifyProfiler(library: string): void {
  const probe = bindingPath();
  if (!probe) throw new ProfilerUnavailableError('--where needs the native probe, and none loads here (see BindingLoadError)');
  const answer = childProcess().execFileSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(probe)}).heapProfile('state', 0, '')))`], {
    env: whereEnvironment(library, process.env),
    encoding: 'utf8',
  });
  if (answer.trim() !== '1') {
    throw new ProfilerUnavailableError(
      `jemalloc at ${library} has no heap profiler (built without --enable-prof). Install a build with it (${installHint()}) ` +
        `or point ${JEMALLOC_ENV} at one.`,
    );
  }
}

/** Whether this process was started by `--where` with a working profiler. */
export function profilingRequested(): boolean {
  if (process.env[WHERE_ENV] !== '1') return false;
  try {
    return binding().heapProfile('state', 0, '') === 1;
  } catch {
    return false;
  }
}

/** The C and C++ runtimes, the loader and the allocator. */
const RUNTIME_OBJECT = /^(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|ld-musl[^/]*|libstdc\+\+|libgcc_s|libjemalloc)([.-]|$)/;
/** The libraries node may be linked against. */
const NODE_OBJECT = /^(libnode|libuv)([.-]|$)/;

/** Whether a frame is node's own: the executable, or the libnode and libuv it may be linked against. */
function isNodeFrame(frame: Frame, executable: string): boolean {
  return frame.object === executable || NODE_OBJECT.test(path.basename(frame.object ?? ''));
}

/** Whether a frame is outside the user's code: the C and C++ runtimes, the allocator, node (V8, libuv), nodeleak. */
function isSystemFrame(frame: Frame, executable: string, probe: string | null): boolean {
  if (!frame.object) return true;
  return RUNTIME_OBJECT.test(path.basename(frame.object)) || isNodeFrame(frame, executable) || frame.object === probe;
}

function dump(file: string): HeapProfile {
  binding().heapProfile('dump', 0, file);
  try {
    return parseHeapProfile(fs.readFileSync(file, 'utf8'));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/**
 * Profiles two more rounds (`round(n)` makes up to n calls, settles, and says how many it made) and returns the
 * sites that gained live bytes in both at rates that agree, of at least 2 % of the leak's rate, largest first.
 */
export async function leakSites(round: (calls: number) => Promise<number>, calls: number, leakBytesPerCall: number): Promise<LeakSite[]> {
  const probe = binding();
  const profiles: HeapProfile[] = [];
  const made: number[] = [];
  const base = path.join(os.tmpdir(), `nodeleak-${process.pid}-${Date.now()}`);
  probe.heapProfile('start', 0, '');
  try {
    for (let index = 0; index < 2; index++) {
      const n = await round(calls);
      if (n === 0) break;
      made.push(n);
      profiles.push(dump(`${base}-${index}.heap`));
    }
  } finally {
    probe.heapProfile('stop', 0, '');
  }
  if (profiles.length === 0) return [];
  const floor = Math.max(0.5, 0.02 * leakBytesPerCall);
  const growing = growingStacks(profiles, made).filter((stack) => stack.bytesPerCall >= floor).slice(0, 20);
  const mappings = profiles[profiles.length - 1].mappings;
  const frames = symbolizer().symbolize(growing.map((stack) => stack.addresses), mappings);
  const executable = fs.realpathSync(process.execPath);
  const own = bindingPath();
  return growing.map((stack, index) => {
    const stackFrames = frames[index];
    const user = stackFrames.findIndex((frame) => !isSystemFrame(frame, executable, own));
    const outsideAllocator = stackFrames.findIndex((frame) => !/libjemalloc|libc[.-]/.test(path.basename(frame.object ?? '')));
    const called = user > 0 && isNodeFrame(stackFrames[user - 1], executable) ? { called: user - 1 } : {};
    return {
      bytesPerCall: stack.bytesPerCall,
      allocationsPerCall: stack.allocationsPerCall,
      frames: stackFrames,
      first: user !== -1 ? user : Math.max(0, outsideAllocator),
      ...called,
    };
  });
}
