// `npx nodeleak doctor`: what a passing check here would have proved. The platform, which probe binary loads and
// from where, the allocator it reads, whether the processes nodeleak starts are quiet, the runners of this project
// and whether they start quiet processes, and the C heap's noise measured live in a quiet and a plain process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defaultNoise, widenedNoise } from './decision';
import { inEnginesRange } from './engines';
import { formatNumber, median } from './numbers';
import { bindingPath } from './binding';
import { heapInfo, processInfo } from './probe';
import { platformTuple } from './platform';
import { QUIET_NODE_FLAGS, isQuietProcess, quietEnvironment } from './quiet';

interface Noise {
  /** |growth| of each round with nothing called, bytes. */
  moves: number[];
  /** Whether the child reported itself quiet. */
  quiet: boolean;
}

/**
 * The C heap's moves in rounds with nothing called, in a child started with these flags and env: what a plain
 * check's first call measures to set its floors (noOpRoundMoves() in calibrate.ts).
 */
function measureNoise(quiet: boolean): Noise | string {
  const calibrate = require.resolve('./calibrate');
  const loader = calibrate.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const script = `
    const { noOpRoundMoves } = require(${JSON.stringify(calibrate)});
    const { isQuietProcess } = require(${JSON.stringify(require.resolve('./quiet'))});
    noOpRoundMoves(['heap']).then(({ moves }) => process.stdout.write(JSON.stringify({ moves: moves.heap, quiet: isQuietProcess() })));`;
  const env: Record<string, string | undefined> = { ...process.env };
  if (quiet) Object.assign(env, quietEnvironment(process.env));
  else delete env.GLIBC_TUNABLES;
  try {
    const out = execFileSync(process.execPath, [...(quiet ? QUIET_NODE_FLAGS : []), ...loader, '-e', script], { env, encoding: 'utf8', timeout: 60_000 });
    return JSON.parse(out) as Noise;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** Ends the version of a runner whose engines exclude this Node; the advice is given for rows that hold it. */
const WILL_NOT_RUN = ': it will not run here)';

/**
 * The version of package `name` installed for `cwd`, with what its `engines.node` says of this Node where that is
 * not this one: a runner that cannot run here fails before any test, whatever nodeleak does.
 */
function packageVersion(name: string, cwd: string): string | null {
  let manifest: { version: string; engines?: { node?: unknown } };
  try {
    manifest = JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [cwd] }), 'utf8')) as typeof manifest;
  } catch {
    return null;
  }
  const range = manifest.engines?.node;
  if (typeof range !== 'string' || inEnginesRange(process.version, range) !== false) return manifest.version;
  return `${manifest.version} (needs Node ${range}, and this is ${process.version}${WILL_NOT_RUN}`;
}

function scripts(cwd: string): Record<string, string> {
  try {
    return (JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  } catch {
    return {};
  }
}

/** One line per runner installed here: its version, and whether the way this project starts it is quiet. */
function runners(cwd: string): string[] {
  const lines: string[] = [];
  const all = scripts(cwd);
  const scriptsRunning = (pattern: RegExp): string[] => Object.entries(all).filter(([, command]) => pattern.test(command)).map(([name]) => name);
  const mocha = packageVersion('mocha', cwd);
  if (mocha) {
    const quiet = scriptsRunning(/\bnodeleak(?!\s+run)\b/);
    lines.push(`mocha ${mocha}: ${quiet.length > 0 ? `quiet through npx nodeleak in script(s) ${quiet.join(', ')}` : 'run it as `npx nodeleak <mocha arguments>` (no package.json script does)'}`);
  }
  const vitest = packageVersion('vitest', cwd);
  if (vitest) {
    const configs = fs.readdirSync(cwd).filter((file) => /^(vitest|vite)\.config\.(c|m)?(j|t)s$/.test(file));
    const helper = configs.filter((file) => fs.readFileSync(path.join(cwd, file), 'utf8').includes('quietForks'));
    lines.push(
      `vitest ${vitest}: ${helper.length > 0 ? `quiet forks (quietForks() in ${helper.join(', ')})` : "forks not quiet: spread quietForks() from 'nodeleak/vitest' into the config's test"}`,
    );
  }
  const jest = packageVersion('jest', cwd);
  if (jest) {
    const quiet = scriptsRunning(/nodeleak\s+run\s+(--\s+)?jest\b/);
    lines.push(`jest ${jest}: ${quiet.length > 0 ? `quiet through nodeleak run in script(s) ${quiet.join(', ')}` : 'run it as `npx nodeleak run -- jest`'}`);
  }
  const nodeTest = scriptsRunning(/\bnode\b[^&|;]*--test\b/);
  if (nodeTest.length > 0) {
    const quiet = scriptsRunning(/nodeleak\s+run\s+(--\s+)?node\b[^&|;]*--test\b/);
    lines.push(`node:test in script(s) ${nodeTest.join(', ')}: ${quiet.length > 0 ? 'quiet through nodeleak run' : 'run it as `npx nodeleak run -- node --test …`'}`);
  }
  return lines.length > 0 ? lines : ['none found (mocha, vitest, jest, or node --test in package.json scripts)'];
}

function bytes(value: number): string {
  return `${formatNumber(Math.round(value))} B`;
}

/** The report, as lines of `label  value`. */
export function doctor(cwd: string = process.cwd()): string {
  const rows: [string, string][] = [];
  rows.push(['platform', `${platformTuple()}, Node ${process.version}`]);
  const binary = bindingPath();
  rows.push([
    'probe',
    binary ? `${binary} (${binary.split(path.sep).includes('prebuilds') ? 'prebuilt binary' : 'local build'})` : 'none loads here: npm rebuild nodeleak',
  ]);
  let allocator: string;
  try {
    const heap = heapInfo();
    allocator = `${heap.allocator} (heapInfo() reads ${bytes(heap.heapUsed)} in use)`;
  } catch (err) {
    allocator = `cannot be read: ${(err as Error).message}`;
  }
  rows.push(['allocator', allocator]);
  let processFigures: string;
  try {
    const proc = processInfo();
    const files = proc.fds !== undefined ? `${proc.fds} fds` : `${proc.handles ?? 0} handles`;
    processFigures = `rss ${bytes(proc.rss)}, vms ${bytes(proc.vms)}${proc.uss !== undefined ? `, uss ${bytes(proc.uss)}` : ''}, ${files}, ${proc.threads} threads`;
  } catch (err) {
    processFigures = `cannot be read: ${(err as Error).message}`;
  }
  rows.push(['process', processFigures]);
  rows.push(['this process', isQuietProcess() ? 'quiet' : 'plain (doctor itself needs no quiet process)']);
  for (const line of runners(cwd)) rows.push(['runner', line]);
  const quiet = measureNoise(true);
  const plain = measureNoise(false);
  // The C heap floor a check in such a process uses: fixed in a quiet one, widened to the moves in a plain one.
  const noise = (value: Noise | string, floor: number): string =>
    typeof value === 'string'
      ? `not measured: ${value}`
      : `${bytes(median(value.moves))} a round with nothing called (median of ${value.moves.length} rounds, max ${bytes(Math.max(...value.moves))}); checks here use a floor of ${bytes(floor)}`;
  const quietFloor = defaultNoise(true).heap as number;
  const plainFixed = defaultNoise(false);
  const plainFloor = (typeof plain === 'string' ? plainFixed : widenedNoise(plainFixed, { heap: Math.max(...plain.moves) })).heap as number;
  rows.push([
    'quiet process',
    typeof quiet === 'string' ? 'could not start one' : quiet.quiet ? 'yes: a process nodeleak starts is quiet here' : 'no: the quiet settings do not take here',
  ]);
  rows.push(['noise, quiet', noise(quiet, quietFloor)]);
  rows.push(['noise, plain', noise(plain, plainFloor)]);
  const advice: string[] = [];
  if (!binary) advice.push('install a C/C++ toolchain and python3, then npm rebuild nodeleak');
  if (allocator.startsWith('cannot')) advice.push("checks that judge the C heap refuse here: name metrics without heap and mmap, or use glibc/jemalloc/tcmalloc");
  if (processFigures.startsWith('cannot')) {
    advice.push("checks that judge vms or uss, or that run the fds, threads, handles or heaps checkers, refuse here: name metrics without vms and uss, and leave those checkers out (Checkers.all().exclude(...))");
  }
  if (rows.some(([label, value]) => label === 'runner' && value.includes(WILL_NOT_RUN))) {
    advice.push("a runner here does not run on this Node: use a Node its engines name, or a version of the runner that runs on this one");
  }
  if (typeof quiet !== 'string' && typeof plain !== 'string' && median(plain.moves) > 4 * Math.max(median(quiet.moves), 16)) {
    advice.push('run leak tests in quiet processes (npx nodeleak, nodeleak run, quietForks()): plain-process noise costs calls');
  }
  rows.push(['advice', advice.length > 0 ? advice.join('; ') : 'none: checks here are measured as exactly as nodeleak can']);
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['nodeleak doctor', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n');
}
