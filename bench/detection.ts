// Detection benchmark: how often checkLeak() catches small native leaks, how often it blames
// clean Node-core functions, and how many calls and milliseconds a verdict takes, in a quiet
// process (the nodeleak CLI's set-up) and in a plain `node` process.
//
//   npm run bench:detection                      # 20 trials, both modes
//   npm run bench:detection -- --trials 5        # quicker
//   npm run bench:detection -- --modes quiet --cases leak32,fs.statSync
//   npm run bench:detection -- --warm            # clean checks of a trial share one process
//
// Every check runs in a fresh child process, as users run one test file: one child per leak
// case and per clean function (with --warm, one child checks every clean function of a trial,
// in a shuffled order, which hides what a fresh process's first checks go through).
// The clean functions of cleanCases are the ones the floors were calibrated on; heldOutCases
// were not used for that, and are reported apart. hardCases are leaks and bounded growth the
// rule is known to find hard (issue 9): a leak on a rare path, a cache that fills and empties,
// and a pool that fills and then stays.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import querystring from 'node:querystring';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import util from 'node:util';
import zlib from 'node:zlib';
import { JEMALLOC, TCMALLOC } from '../test/helpers/libraries';
import { resizableBuffer } from '../test/helpers/resizable';

type Fn = () => unknown;

// ---- the cases -----------------------------------------------------------------------------

interface LeakFixture {
  mallocLeak(bytes: number): void;
  every10thLeak(): void;
  leakEvery(n: number, bytes: number): void;
  cacheFill(bytes: number, limit: number): void;
  poolFill(bytes: number, limit: number): void;
  vectorLeak(bytes: number): void;
}
function fixture(): LeakFixture {
  // Loaded only in the children that need it (building it once, if its sources changed).
  const { loadFixture } = require('../test/helpers/fixtures') as typeof import('../test/helpers/fixtures');
  return loadFixture<LeakFixture>('leaks');
}

const leakCases: Record<string, { label: string; make: () => Fn }> = {
  leak32: { label: '32 B/call (malloc(16), never freed)', make: () => { const f = fixture(); return () => f.mallocLeak(16); } },
  leak3: { label: '3.2 B/call (32 B every 10th call)', make: () => { const f = fixture(); return () => f.every10thLeak(); } },
  leak1k: { label: '1 KiB/call (malloc(1024), never freed)', make: () => { const f = fixture(); return () => f.mallocLeak(1024); } },
  jsObject: { label: 'V8 heap: a small object kept a call (~40 B/call)', make: () => { const kept: object[] = []; return () => kept.push({ n: kept.length }); } },
  jsMap: { label: 'V8 heap: a Map entry a call (its table grows in doubling steps)', make: () => { const map = new Map<number, boolean>(); return () => map.set(map.size, true); } },
  vector8: { label: 'C heap: 8 B a call in an array that doubles when full', make: () => { const f = fixture(); return () => f.vectorLeak(8); } },
  resizable1k: { label: 'pages: a resizable ArrayBuffer grown by 1 KiB a call', make: () => { const buffer = resizableBuffer(1 << 30); const bytes = new Uint8Array(buffer); return () => { const end = buffer.byteLength; buffer.resize(end + 1024); bytes.fill(1, end); }; } },
};

/** Cases the rule finds hard, with the verdict a user would want. */
const hardCases: Record<string, { label: string; expect: 'leak' | 'clean'; make: () => Fn }> = {
  rare8k: { label: 'rare path: 8 KiB every 500th call (16 B/call)', expect: 'leak', make: () => { const f = fixture(); return () => f.leakEvery(500, 8192); } },
  cache4m: { label: 'bounded: a cache of 170 B a call, emptied at 4 MiB', expect: 'clean', make: () => { const f = fixture(); return () => f.cacheFill(170, 4 << 20); } },
  pool2m: { label: 'levels off: a pool of 170 B a call, full at 2 MiB', expect: 'clean', make: () => { const f = fixture(); return () => f.poolFill(170, 2 << 20); } },
  pool5m: { label: 'levels off: a pool of 170 B a call, full at 5 MiB', expect: 'clean', make: () => { const f = fixture(); return () => f.poolFill(170, 5 << 20); } },
};

const gzip = util.promisify(zlib.gzip);
const pbkdf2 = util.promisify(crypto.pbkdf2);
const randomBytesAsync = util.promisify(crypto.randomBytes);
const sample = { name: 'nodeleak', tags: ['a', 'b', 'c'], nested: { n: 42, ok: true, list: [1, 2, 3] } };
const sampleJson = JSON.stringify(sample);
const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
const textBytes = Buffer.from(text);
const numbers = Array.from({ length: 200 }, (_, i) => (i * 7919) % 1009);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const cleanCases: Record<string, Fn> = {
  'fs.statSync': () => fs.statSync(__filename),
  'fs.readFileSync': () => fs.readFileSync(__filename),
  'fs.promises.stat': () => fs.promises.stat(__filename),
  'fs.promises.readFile': () => fs.promises.readFile(__filename),
  'crypto sha256': () => crypto.createHash('sha256').update(text).digest('hex'),
  'crypto.randomBytes': () => crypto.randomBytes(32),
  'crypto.randomBytes async': () => randomBytesAsync(32),
  'crypto.pbkdf2 async': () => pbkdf2('secret', 'salt', 10, 32, 'sha256'),
  'zlib.deflateSync': () => zlib.deflateSync(textBytes),
  'zlib.gzip async': () => gzip(textBytes),
  'Buffer.from': () => Buffer.from(text),
  'Buffer.alloc': () => Buffer.alloc(1024),
  'JSON.parse/stringify': () => JSON.parse(JSON.stringify(JSON.parse(sampleJson))),
  'new URL': () => new URL('https://user@host.test:8080/a/b?c=d#e').searchParams.get('c'),
  'TextEncoder/Decoder': () => decoder.decode(encoder.encode(text)),
  'setTimeout 0 awaited': () => sleep(0),
  'setImmediate awaited': () => immediate(),
  'path.join': () => path.join('/usr', 'lib', '..', 'share', 'doc'),
  'util.format': () => util.format('%s=%d %j', 'x', 42, sample),
  'util.inspect': () => util.inspect(sample, { depth: 4 }),
  'querystring': () => querystring.parse(querystring.stringify({ a: '1', b: ['x', 'y'], c: 'z w' })),
  'Array sort': () => numbers.slice().sort((a, b) => a - b),
  'RegExp exec': () => /(\w+)@(\w+)\.(\w+)/.exec('mail someone@host.test today'),
  'structuredClone': () => structuredClone(sample),
  'String split/join': () => text.split(' ').reverse().join(' '),
  'Map set/get': () => { const m = new Map<string, number>(); for (let i = 0; i < 20; i++) m.set(`k${i}`, i); return m.get('k7'); },
  'Date toISOString': () => new Date(1_700_000_000_000).toISOString(),
};

/** Clean functions not used to calibrate the floors: reported apart. */
const heldOutCases: Record<string, Fn> = {
  'crypto md5 base64': () => crypto.createHash('md5').update(textBytes).digest('base64'),
  'crypto.createHmac': () => crypto.createHmac('sha1', 'key').update(text).digest(),
  'zlib.inflateSync': () => zlib.inflateSync(zlib.deflateSync(textBytes)),
  'Buffer.concat': () => Buffer.concat([textBytes, textBytes]),
  'fs.existsSync': () => fs.existsSync(__filename),
  'os.hostname': () => os.hostname(),
  'Intl.NumberFormat': () => new Intl.NumberFormat('en-US').format(1234567.891),
  'JSON big array': () => JSON.parse(JSON.stringify(numbers)),
  'Set of strings': () => new Set(text.split(' ')).size,
  'Promise.all of 10': () => Promise.all(Array.from({ length: 10 }, (_, i) => Promise.resolve(i))),
};

// ---- child: run one check and print one JSON line per case ----------------------------------

interface Outcome {
  case: string;
  verdict: 'clean' | 'leak' | 'error';
  /** The budget ran out before a leak could be ruled out: InconclusiveError (or, with allowInconclusive, report.undecided). */
  undecided?: boolean;
  errorClass?: string;
  message?: string;
  calls: number | null;
  ms: number;
  /** Measured rounds, and those that moved the C heap by more than SWING_BYTES either way. */
  rounds?: number;
  swings?: number;
  /** Each measured round's calls and C heap growth, to show why a verdict went the way it did. */
  heapRounds?: [calls: number, heap: number | null][];
  /** The C heap's floor the check used (wider than the fixed one when the no-op's rounds measured in the process moved more). */
  heapFloor?: number;
}

/** A round's C heap move that no floor covers: memory caught in flight, or a high-water step. */
const SWING_BYTES = 64 * 1024;

function roundCounts(report: { rounds: { calls: number; growth: { heap?: number } }[]; noise: { heap?: number } }): { rounds: number; swings: number; heapRounds: [number, number | null][]; heapFloor?: number } {
  return {
    heapFloor: report.noise.heap,
    rounds: report.rounds.length,
    swings: report.rounds.filter((round) => Math.abs(round.growth.heap ?? 0) > SWING_BYTES).length,
    heapRounds: report.rounds.map((round) => [round.calls, round.growth.heap ?? null]),
  };
}

async function child(names: string[]): Promise<void> {
  const { checkLeak, InconclusiveError, LeakError, MemoryLeakError } = require('../lib') as typeof import('../lib');
  for (const name of names) {
    const fn = name in leakCases ? leakCases[name].make() : name in hardCases ? hardCases[name].make() : (cleanCases[name] ?? heldOutCases[name]);
    const started = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      const report = await checkLeak(fn, { verbosity: 0 });
      outcome = { case: name, verdict: 'clean', undecided: report.undecided.length > 0, calls: callsMade(report), ms: elapsedMs(started), ...roundCounts(report) };
    } catch (err) {
      const ms = elapsedMs(started);
      if (err instanceof LeakError) {
        outcome = err instanceof MemoryLeakError
          ? { case: name, verdict: 'leak', errorClass: err.name, calls: callsMade(err.report), ms, heapRounds: roundCounts(err.report).heapRounds }
          : { case: name, verdict: 'leak', errorClass: err.name, calls: null, ms };
      } else if (err instanceof InconclusiveError) {
        outcome = { case: name, verdict: 'clean', undecided: true, errorClass: err.name, calls: callsMade(err.report), ms, ...roundCounts(err.report) };
      } else {
        outcome = { case: name, verdict: 'error', errorClass: (err as Error)?.name, message: String((err as Error)?.stack ?? err), calls: null, ms };
      }
    }
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  }
}

/** Every call checkLeak() made: warm-up, the one call the resource checks watch (on by default), the measured rounds. */
function callsMade(report: { warmupCalls: number; calls: number }): number {
  return report.warmupCalls + 1 + report.calls;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

// ---- parent: spawn trials, tabulate ---------------------------------------------------------

/**
 * quiet and plain as above; jemalloc and tcmalloc: quiet, with that allocator preloaded (the floors were set on glibc);
 * plain-jemalloc and plain-tcmalloc: plain, with it preloaded (every thread's cache on, as a user's LD_PRELOAD leaves it);
 * quiet16 and plain16: with the threads of a 16-core machine (V8's platform pool, unless --single-threaded, and
 * libuv's pool), a stand-in for many cores on a machine that has two: more threads and allocator arenas, not more
 * parallelism.
 */
type Mode = 'quiet' | 'plain' | 'jemalloc' | 'tcmalloc' | 'plain-jemalloc' | 'plain-tcmalloc' | 'quiet16' | 'plain16';
const MODES: readonly Mode[] = ['quiet', 'plain', 'jemalloc', 'tcmalloc', 'plain-jemalloc', 'plain-tcmalloc', 'quiet16', 'plain16'];
const SIXTEEN_CORES = { execArgv: ['--v8-pool-size=16'], env: { UV_THREADPOOL_SIZE: '16' } };
const PRELOADS: Partial<Record<Mode, string>> = {
  jemalloc: JEMALLOC.library,
  tcmalloc: TCMALLOC.library,
  'plain-jemalloc': JEMALLOC.library,
  'plain-tcmalloc': TCMALLOC.library,
};

interface Options {
  trials: number;
  modes: Mode[];
  cases: string[];
  jobs: number;
  /** One child per clean trial of every function (instead of one per function). */
  warm: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    trials: 20,
    modes: ['quiet', 'plain'],
    cases: [...Object.keys(leakCases), ...Object.keys(hardCases), ...Object.keys(cleanCases), ...Object.keys(heldOutCases)],
    jobs: 1,
    json: false,
    warm: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--trials') options.trials = positiveInt(arg, value());
    else if (arg === '--jobs') options.jobs = positiveInt(arg, value());
    else if (arg === '--modes') options.modes = value().split(',').map((m) => m.trim()).map((m) => ((MODES as readonly string[]).includes(m) ? (m as Mode) : usage(`unknown mode ${m}`)));
    else if (arg === '--cases') {
      options.cases = value().split(',').map((c) => c.trim());
      for (const c of options.cases) if (!(c in leakCases) && !(c in hardCases) && !(c in cleanCases) && !(c in heldOutCases)) usage(`unknown case ${c}`);
    } else if (arg === '--json') options.json = true;
    else if (arg === '--warm') options.warm = true;
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown option ${arg}`);
  }
  return options;
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer, got ${text}`);
  return n;
}

function usage(problem?: string): never {
  const out = problem ? process.stderr : process.stdout;
  if (problem) out.write(`${problem}\n`);
  out.write(
    'usage: npm run bench:detection -- [--trials N] [--modes quiet,plain,jemalloc,tcmalloc,plain-jemalloc,plain-tcmalloc,quiet16,plain16] [--cases a,b,...] [--jobs N] [--warm] [--json]\n' +
      `leak cases: ${Object.keys(leakCases).join(', ')}\nhard cases: ${Object.keys(hardCases).join(', ')}\n` +
      `clean cases: ${Object.keys(cleanCases).join(', ')}\nheld-out clean cases: ${Object.keys(heldOutCases).join(', ')}\n`,
  );
  process.exit(problem ? 2 : 0);
}

/** The command line and environment of a child in the given mode. */
function childCommand(mode: Mode, names: string[]): { args: string[]; env: NodeJS.ProcessEnv } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.GLIBC_TUNABLES;
  const script = ['--require', require.resolve('tsx/cjs'), __filename, '--child', ...names];
  const preload = PRELOADS[mode];
  if (preload && !fs.existsSync(preload)) usage(`mode ${mode} needs ${preload}`);
  if (mode === 'plain') return { args: script, env };
  if (mode === 'plain-jemalloc' || mode === 'plain-tcmalloc') return { args: script, env: { ...env, LD_PRELOAD: preload } };
  if (mode === 'plain16') return { args: [...SIXTEEN_CORES.execArgv, ...script], env: { ...env, ...SIXTEEN_CORES.env } };
  const quiet = quietSetUp();
  if (mode === 'quiet16') return { args: [...quiet.execArgv, ...script], env: { ...env, ...quiet.env, ...SIXTEEN_CORES.env } };
  return { args: [...quiet.execArgv, ...script], env: { ...env, ...quiet.env, ...(preload ? { LD_PRELOAD: preload } : {}) } };
}

function quietSetUp(): { execArgv: string[]; env: NodeJS.ProcessEnv } {
  // The same set-up the nodeleak CLI gives mocha.
  const { QUIET_NODE_FLAGS, quietEnvironment } = require('../lib/quiet') as typeof import('../lib/quiet');
  return { execArgv: [...QUIET_NODE_FLAGS], env: quietEnvironment({}) };
}

function runChild(mode: Mode, names: string[]): Promise<Outcome[]> {
  const { args, env } = childCommand(mode, names);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const outcomes = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Outcome);
      if (code !== 0 || outcomes.length !== names.length) {
        reject(new Error(`${mode} child for ${names.join(', ')} exited ${code} with ${outcomes.length}/${names.length} results\n${stderr}`));
      } else resolve(outcomes);
    });
  });
}

function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

/** `; rounds (calls: C heap growth): 4,800: +816,000 B, …` */
function roundsText(outcome: Outcome): string {
  if (!outcome.heapRounds?.length) return '';
  const rounds = outcome.heapRounds.map(([calls, heap]) => `${fmt(calls)}: ${heap === null ? '—' : `${heap > 0 ? '+' : ''}${fmt(heap)} B`}`);
  return `; rounds (calls: C heap growth): ${rounds.join(', ')}`;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const leaks = options.cases.filter((c) => c in leakCases);
  const hards = options.cases.filter((c) => c in hardCases);
  const cleans = options.cases.filter((c) => c in cleanCases);
  const heldOut = options.cases.filter((c) => c in heldOutCases);
  const started = Date.now();
  const all: Record<Mode, Outcome[]> = { quiet: [], plain: [], jemalloc: [], tcmalloc: [], 'plain-jemalloc': [], 'plain-tcmalloc': [], quiet16: [], plain16: [] };

  for (const mode of options.modes) {
    const tasks: (() => Promise<Outcome[]>)[] = [];
    for (let t = 0; t < options.trials; t++) {
      for (const one of [...leaks, ...hards]) tasks.push(() => runChild(mode, [one]));
      if (options.warm) {
        if (cleans.length + heldOut.length) tasks.push(() => runChild(mode, shuffled([...cleans, ...heldOut])));
      } else {
        for (const one of shuffled([...cleans, ...heldOut])) tasks.push(() => runChild(mode, [one]));
      }
    }
    let done = 0;
    const results = await pool(
      tasks.map((task) => async () => {
        const r = await task();
        if (process.stderr.isTTY) process.stderr.write(`\r${mode}: ${++done}/${tasks.length} children`);
        return r;
      }),
      options.jobs,
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    all[mode] = results.flat();
  }

  if (options.json) {
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    return;
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`nodeleak detection benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  console.log(`${cpu}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}, Node ${process.version}; ${options.trials} trials per case`);
  const quiet = quietSetUp();
  const quietEnv = Object.entries(quiet.env).map(([name, value]) => `${name}=${value}`).join(' ');
  console.log(`quiet = ${quietEnv} node ${quiet.execArgv.join(' ')} (as the nodeleak CLI runs mocha); plain = node`);

  for (const mode of options.modes) {
    const outcomes = all[mode];
    console.log(`\n## ${mode} process\n`);
    const rows = [['case', 'trials', 'leak verdicts', 'inconclusive', 'errors', 'median calls', 'max calls', 'median ms']];
    const summarise = (label: string, names: string[]) => {
      const of = outcomes.filter((o) => names.includes(o.case));
      const calls = of.map((o) => o.calls).filter((c): c is number => c !== null);
      rows.push([
        label,
        String(of.length),
        `${of.filter((o) => o.verdict === 'leak').length}/${of.length}`,
        String(of.filter((o) => o.undecided).length),
        String(of.filter((o) => o.verdict === 'error').length),
        fmt(median(calls)),
        fmt(calls.length ? Math.max(...calls) : NaN),
        fmt(median(of.map((o) => o.ms))),
      ]);
    };
    for (const leak of leaks) summarise(`leak ${leakCases[leak].label}`, [leak]);
    for (const clean of cleans) summarise(`clean ${clean}`, [clean]);
    if (cleans.length > 1) summarise(`clean, all ${cleans.length} functions`, cleans);
    console.log(table(rows));
    if (heldOut.length) {
      rows.splice(1);
      for (const clean of heldOut) summarise(`held-out ${clean}`, [clean]);
      if (heldOut.length > 1) summarise(`held-out, all ${heldOut.length} functions`, heldOut);
      console.log(`\nheld out (clean functions not used to set the floors):\n${table(rows)}`);
    }
    if (hards.length) {
      rows.splice(1);
      for (const hard of hards) summarise(`${hardCases[hard].label}, want ${hardCases[hard].expect}`, [hard]);
      console.log(`\nhard cases (issue 9):\n${table(rows)}`);
    }
    const judgedClean = outcomes.filter((o) => (o.case in cleanCases || o.case in heldOutCases) && o.rounds !== undefined);
    const rounds = judgedClean.reduce((sum, o) => sum + (o.rounds ?? 0), 0);
    const swings = judgedClean.reduce((sum, o) => sum + (o.swings ?? 0), 0);
    if (judgedClean.length) console.log(`\nclean and held-out checks: ${fmt(rounds)} rounds, ${fmt(swings)} of them moved the C heap by more than ${SWING_BYTES / 1024} KiB`);
    const errors = outcomes.filter((o) => o.verdict === 'error');
    for (const e of errors.slice(0, 5)) console.log(`\nerror in ${e.case}: ${e.message}`);
    const fps = outcomes.filter((o) => (o.case in cleanCases || o.case in heldOutCases) && o.verdict === 'leak');
    for (const fp of fps.slice(0, 10)) console.log(`false positive: ${fp.case} (${fp.errorClass}) after ${fmt(fp.calls ?? NaN)} calls${roundsText(fp)}`);
    const missed = outcomes.filter((o) => (o.case in leakCases && o.verdict !== 'leak') || (o.case in hardCases && (o.verdict !== hardCases[o.case].expect || o.undecided)));
    for (const miss of missed.slice(0, 10)) console.log(`not as wanted: ${miss.case} ${miss.verdict}${miss.errorClass ? ` (${miss.errorClass})` : ''} after ${fmt(miss.calls ?? NaN)} calls${roundsText(miss)}`);
  }
  console.log('\ncalls = warm-up + one call for the resource checks + measured calls until the verdict;');
  console.log('inconclusive = InconclusiveError: the budget ran out before a leak could be ruled out (a miss for a leak,');
  console.log('not a pass for a clean function). psleak, as quoted in issue 3: 6,511 calls to call a leak,');
  console.log('511 to pass a clean function.');
  console.log(`wall time ${fmt((Date.now() - started) / 1000, 1)} s`);
}

if (process.argv[2] === '--child') {
  child(process.argv.slice(3)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
