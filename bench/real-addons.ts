// Real-addon benchmark: checkLeak() on the everyday calls of published native addons (C, C++ and Rust, several of
// which build an allocator of their own in), one check per fresh process, in a quiet process and a plain one.
//
//   npm run bench:real-addons                                 # 5 trials of every case, both modes
//   npm run bench:real-addons -- --trials 3 --cases xxhash,levelPut --modes quiet
//
// The addons are pinned in bench/real-addons/package.json and installed there from the npm registry on the first run
// (better-sqlite3 compiles from source: a minute or two). objectWrap821 and objectWrap822 are a real leak of the past:
// the smallest ObjectWrap class (test/fixtures/object_wrap) built against node-addon-api 8.2.1, whose objects each
// leaked their napi_wrap() reference, and against 8.2.2, which fixed it. levelPut writes to LevelDB, whose write buffer
// grows with every put until it is flushed at 4 MiB: growth that holds its rate for ~4,000 calls. It is the README's
// known limit (a pool that fills past the span a leak verdict must hold over), shown on a real addon; levelPutTrimmed
// is the same call with the remedy the leak message names, a trimCallback that flushes it. crc32Leak is a published
// binary's leak: @node-rs/crc32 1.5.1, the version napi-rs/node-rs#655 reports, grows the C heap by 80 B for each
// crc32c(buffer) (1.6.0, case crc32, does not).
// lz4Leak is another published binary's leak: lz4-napi 2.2.0 keeps a napi_ref for each Buffer passed in
// (~82 B of C heap each, two a compress + uncompress); 2.8.0, the next release the registry serves, does not.
// snappyLeak and snappyRefLeak are two more: snappy 7.1.2 keeps a napi_ref for each Buffer passed in, as lz4-napi
// 2.2.0 does, and 7.2.0 also keeps every Buffer it returns (napi_create_external_buffer), ~515 B a call in all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ADDONS_DIR = path.join(__dirname, 'real-addons');
const addonRequire = createRequire(path.join(ADDONS_DIR, 'package.json'));

type Fn = () => unknown;
interface Case {
  label: string;
  want: 'clean' | 'leak' | 'leak (known limit)';
  make: () => Promise<{ fn: Fn; trimCallback?: () => Promise<void> }>;
}

const TEXT = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(20));

type Counter = new () => { add(): number };
/** The ObjectWrap class built against node-addon-api `version` (built once, by the test helper). */
function objectWrap(version: '8_2_1' | '8_2_2'): { Counter: Counter } {
  const { loadFixture } = require('../test/helpers/fixtures') as typeof import('../test/helpers/fixtures');
  return loadFixture<{ Counter: Counter }>('object_wrap', `object_wrap_${version}`);
}

interface Level {
  put(key: string, value: Buffer): Promise<void>;
  get(key: string): Promise<unknown>;
  compactRange(start: string, end: string): Promise<void>;
}

/** A new temporary folder, removed when the process exits. */
function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nodeleak-bench-${name}-`));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A LevelDB in a new temporary folder, with keys k0…k99 written. */
async function levelDb(): Promise<Level> {
  const { ClassicLevel } = addonRequire('classic-level');
  const db = new ClassicLevel(tempDir('level'));
  await db.open();
  for (let i = 0; i < 100; i++) await db.put(`k${i}`, TEXT);
  return db;
}

/** A put, then a get, of one of the 100 keys. */
function putThenGet(db: Level): Fn {
  let i = 0;
  return async () => {
    const key = `k${i++ % 100}`;
    await db.put(key, TEXT);
    await db.get(key);
  };
}

/** uncompressSync(compressSync(TEXT)) of the compression addon `name` (snappy and lz4-napi share the API). */
function compressRoundTrip(name: string): Case['make'] {
  return async () => {
    const { compressSync, uncompressSync } = addonRequire(name);
    return { fn: () => uncompressSync(compressSync(TEXT)) };
  };
}

const cases: Record<string, Case> = {
  xxhash: { label: '@node-rs/xxhash xxh64 of 900 B (Rust, mimalloc)', want: 'clean', make: async () => { const { xxh64 } = addonRequire('@node-rs/xxhash'); return { fn: () => xxh64(TEXT) }; } },
  argon2: { label: '@node-rs/argon2 hashSync, 256 KiB (Rust, mimalloc)', want: 'clean', make: async () => { const { hashSync } = addonRequire('@node-rs/argon2'); return { fn: () => hashSync('password', { memoryCost: 256, timeCost: 1 }) }; } },
  snappy: { label: 'snappy compress + uncompress 900 B (Rust, mimalloc)', want: 'clean', make: compressRoundTrip('snappy') },
  jieba: { label: '@node-rs/jieba cut (Rust, mimalloc)', want: 'clean', make: async () => { const { Jieba } = addonRequire('@node-rs/jieba'); const { dict } = addonRequire('@node-rs/jieba/dict'); const jieba = Jieba.withDict(dict); return { fn: () => jieba.cut('我们中出了一个叛徒', false) }; } },
  oxc: { label: 'oxc-parser parseSync of a line of JS (Rust, mimalloc)', want: 'clean', make: async () => { const { parseSync } = addonRequire('oxc-parser'); return { fn: () => parseSync('a.js', 'const a = 1 + 2; function f(x) { return x * a; }') }; } },
  lightningcss: { label: 'lightningcss transform of two rules (Rust)', want: 'clean', make: async () => { const { transform } = addonRequire('lightningcss'); const code = Buffer.from('.a { color: red; display: flex } .b:hover { margin: 0 auto }'); return { fn: () => transform({ filename: 'a.css', code, minify: true }) }; } },
  sharp: { label: 'sharp resize of a 16×16 PNG, awaited (C++, libvips)', want: 'clean', make: async () => {
    const sharp = addonRequire('sharp');
    sharp.cache(false);
    sharp.concurrency(1);
    const png: Buffer = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#f00' } }).png().toBuffer();
    return { fn: () => sharp(png).resize(8, 8).raw().toBuffer() };
  } },
  sqlite: { label: 'better-sqlite3 insert-or-replace + select, in memory (C)', want: 'clean', make: async () => {
    const Database = addonRequire('better-sqlite3');
    const db = new Database(':memory:');
    db.exec('create table t (k integer primary key, v blob)');
    const put = db.prepare('insert or replace into t values (?, ?)');
    const get = db.prepare('select v from t where k = ?');
    let i = 0;
    return { fn: () => { put.run(i % 100, TEXT); get.get(i++ % 100); } };
  } },
  levelGet: { label: 'classic-level get of one of 100 keys, awaited (C++, LevelDB)', want: 'clean', make: async () => {
    const db = await levelDb();
    let i = 0;
    return { fn: () => db.get(`k${i++ % 100}`) };
  } },
  levelPut: { label: 'classic-level put + get, awaited: write buffer flushed at 4 MiB', want: 'leak (known limit)', make: async () => ({ fn: putThenGet(await levelDb()) }) },
  levelPutTrimmed: { label: 'the same, trimCallback: db.compactRange() (flushes it)', want: 'clean', make: async () => {
    const db = await levelDb();
    return { fn: putThenGet(db), trimCallback: () => db.compactRange('k', 'l') };
  } },
  crc32: { label: '@node-rs/crc32 1.6.0 crc32c of 900 B (Rust)', want: 'clean', make: async () => { const { crc32c } = addonRequire('@node-rs/crc32'); return { fn: () => crc32c(TEXT) }; } },
  crc32Leak: { label: '@node-rs/crc32 1.5.1 crc32c of 900 B (leaked, fixed in 1.6.0)', want: 'leak', make: async () => {
    const { crc32c } = addonRequire('@node-rs/crc32-1.5.1');
    return { fn: () => crc32c(TEXT) };
  } },
  objectWrap821: { label: 'new Counter() of node-addon-api 8.2.1 ObjectWrap (leaked, fixed in 8.2.2)', want: 'leak', make: async () => {
    const { Counter } = objectWrap('8_2_1');
    return { fn: () => new Counter().add() };
  } },
  objectWrap822: { label: 'new Counter() of node-addon-api 8.2.2 ObjectWrap', want: 'clean', make: async () => {
    const { Counter } = objectWrap('8_2_2');
    return { fn: () => new Counter().add() };
  } },
  bufferutil: { label: 'bufferutil mask + unmask 900 B (C)', want: 'clean', make: async () => {
    const { mask, unmask } = addonRequire('bufferutil');
    const key = Buffer.from([1, 2, 3, 4]);
    const out = Buffer.alloc(TEXT.length);
    return { fn: () => { mask(TEXT, key, out, 0, TEXT.length); unmask(out, key); } };
  } },
  utf8: { label: 'utf-8-validate of 900 B (C)', want: 'clean', make: async () => { const validate = addonRequire('utf-8-validate'); return { fn: () => validate(TEXT) }; } },
  msgpackr: { label: 'msgpackr pack + unpack, msgpackr-extract loaded (C++)', want: 'clean', make: async () => {
    addonRequire('msgpackr-extract'); // the native half, which msgpackr would otherwise skip without a word
    const { pack, unpack } = addonRequire('msgpackr');
    const value = { a: 1, b: 'hello', c: [1, 2, 3], d: { e: true } };
    return { fn: () => unpack(pack(value)) };
  } },
  cbor: { label: 'cbor-x encode + decode, cbor-extract loaded (C++)', want: 'clean', make: async () => {
    addonRequire('cbor-extract');
    const { encode, decode } = addonRequire('cbor-x');
    const value = { a: 1, b: 'hello', c: [1, 2, 3] };
    return { fn: () => decode(encode(value)) };
  } },
  // Held out: added once the rule and its floors were set, and never used to tune them.
  lz4: { label: 'lz4-napi 2.10.0 compress + uncompress 900 B (Rust, mimalloc)', want: 'clean', make: compressRoundTrip('lz4-napi') },
  lz4Leak: { label: 'lz4-napi 2.2.0, the same (leaked; 2.8.0 does not)', want: 'leak', make: compressRoundTrip('lz4-napi-2.2.0') },
  snappyLeak: { label: 'snappy 7.2.0 compress + uncompress 900 B (leaked; 7.2.1 does not)', want: 'leak', make: compressRoundTrip('snappy-7.2.0') },
  snappyRefLeak: { label: 'snappy 7.1.2, the same (leaked; 7.0.5 does not)', want: 'leak', make: compressRoundTrip('snappy-7.1.2') },
  sodium: { label: 'sodium-native secretbox seal + open 900 B (C, libsodium)', want: 'clean', make: async () => {
    const sodium = addonRequire('sodium-native');
    const key = Buffer.alloc(sodium.crypto_secretbox_KEYBYTES, 7);
    const nonce = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES, 1);
    return { fn: () => {
      const sealed = Buffer.alloc(TEXT.length + sodium.crypto_secretbox_MACBYTES);
      sodium.crypto_secretbox_easy(sealed, TEXT, nonce, key);
      sodium.crypto_secretbox_open_easy(Buffer.alloc(TEXT.length), sealed, nonce, key);
    } };
  } },
  treeSitter: { label: 'tree-sitter parse of a line of JS (C)', want: 'clean', make: async () => {
    const Parser = addonRequire('tree-sitter');
    const parser = new Parser();
    parser.setLanguage(addonRequire('tree-sitter-javascript'));
    return { fn: () => parser.parse('const a = 1 + 2; function f(x) { return x * a; }').rootNode.childCount };
  } },
  lmdbGet: { label: 'lmdb get of one of 100 keys (C, LMDB)', want: 'clean', make: async () => {
    const { open } = addonRequire('lmdb');
    const db = open({ path: tempDir('lmdb') });
    for (let i = 0; i < 100; i++) await db.put(`k${i}`, TEXT.toString('latin1', 0, 100));
    let i = 0;
    return { fn: () => db.get(`k${i++ % 100}`) };
  } },
  bcrypt: { label: 'bcrypt hashSync, cost 4 (C++)', want: 'clean', make: async () => {
    const { hashSync } = addonRequire('bcrypt');
    return { fn: () => hashSync('password', 4) };
  } },
};

interface Outcome {
  case: string;
  /** 'unconfirmed': a leak verdict given when the budget ended before the growth was followed over its span. */
  verdict: 'clean' | 'leak' | 'unconfirmed' | 'inconclusive' | 'error';
  /** Every call checkLeak() made (warm-up and the resource checks' call included); null where the error has no report. */
  calls: number | null;
  ms: number;
  /** Allocators of the addon's own the check found, with the metric it judged for them. */
  own: string[];
  message?: string;
}

async function child(name: string, maxMs: number): Promise<void> {
  const { checkLeak, InconclusiveError, MemoryLeakError } = require('../lib') as typeof import('../lib');
  const { fn, trimCallback } = await cases[name].make();
  const started = process.hrtime.bigint();
  const ms = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  type Report = Pick<import('../lib').LeakReportBase, 'warmupCalls' | 'calls' | 'ownAllocators'>;
  const calls = (report: Report): number => report.warmupCalls + 1 + report.calls;
  const own = (report: Report): string[] => (report.ownAllocators ?? []).map((found) => `${found.name} (${found.judged ?? 'not judged'})`);
  let outcome: Outcome;
  try {
    const report = await checkLeak(fn, { verbosity: 0, maxMs, ...(trimCallback ? { trimCallback } : {}) });
    outcome = { case: name, verdict: 'clean', calls: calls(report), ms: ms(), own: own(report) };
  } catch (err) {
    if (err instanceof MemoryLeakError) {
      const verdict = err.report.confirmed ? 'leak' : 'unconfirmed';
      outcome = { case: name, verdict, calls: calls(err.report), ms: ms(), own: own(err.report), message: err.message.split('\n')[0] };
    }
    else if (err instanceof InconclusiveError) outcome = { case: name, verdict: 'inconclusive', calls: calls(err.report), ms: ms(), own: own(err.report) };
    else outcome = { case: name, verdict: 'error', calls: null, ms: ms(), own: [], message: String((err as Error)?.stack ?? err) };
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

// ---- parent ---------------------------------------------------------------------------------

type Mode = 'quiet' | 'plain';

function usage(problem?: string): never {
  (problem ? process.stderr : process.stdout).write(
    `${problem ? `${problem}\n` : ''}usage: npm run bench:real-addons -- [--trials N] [--modes quiet,plain] [--cases a,b,...] [--max-ms MS]\n` +
      `cases: ${Object.keys(cases).join(', ')}\n`,
  );
  process.exit(problem ? 2 : 0);
}

function parseOptions(argv: string[]): { trials: number; modes: Mode[]; cases: string[]; maxMs: number } {
  const options = { trials: 5, modes: ['quiet', 'plain'] as Mode[], cases: Object.keys(cases), maxMs: 60_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1] ?? usage(`${arg} needs a value`);
    i++;
    if (arg === '--trials' || arg === '--max-ms') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) usage(`${arg} must be a positive integer, got ${value}`);
      if (arg === '--trials') options.trials = n;
      else options.maxMs = n;
    } else if (arg === '--modes') {
      options.modes = value.split(',').map((mode) => mode.trim()).map((mode) => (mode === 'quiet' || mode === 'plain' ? mode : usage(`unknown mode ${mode}`)));
    } else if (arg === '--cases') {
      options.cases = value.split(',').map((name) => name.trim());
      for (const name of options.cases) if (!(name in cases)) usage(`unknown case ${name}`);
    } else usage(`unknown option ${arg}`);
  }
  return options;
}

/** Installs the pinned addons unless npm's record of the last install is newer than the lock file. */
function installAddons(): void {
  const installedAt = fs.statSync(path.join(ADDONS_DIR, 'node_modules', '.package-lock.json'), { throwIfNoEntry: false })?.mtimeMs;
  if (installedAt !== undefined && installedAt >= fs.statSync(path.join(ADDONS_DIR, 'package-lock.json')).mtimeMs) return;
  process.stderr.write('installing the addons in bench/real-addons…\n');
  if (spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ADDONS_DIR, stdio: 'inherit' }).status === 0) return;
  // npm 11 refuses (EUSAGE, "Missing: …@ from lock file") a lock whose optional platform packages the registry does
  // not serve, such as cbor-extract's prebuilds; install then keeps the lock's versions and builds those from source.
  process.stderr.write('npm ci refused the lock file; installing its versions with npm install instead…\n');
  const installed = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: ADDONS_DIR, stdio: 'inherit' });
  if (installed.status !== 0) throw new Error(`npm install in ${ADDONS_DIR} failed (exit ${installed.status})`);
}

/** One check in a fresh child, set up as the mode says (quiet: as the nodeleak CLI starts mocha). */
function runChild(mode: Mode, name: string, maxMs: number): Promise<Outcome> {
  const { runJsonScript } = require('../test/helpers/child') as typeof import('../test/helpers/child');
  const { QUIET_NODE_FLAGS, quietEnvironment } = require('../lib/quiet') as typeof import('../lib/quiet');
  const quiet = mode === 'quiet';
  return runJsonScript<Outcome>(__filename, {
    nodeFlags: quiet ? [...QUIET_NODE_FLAGS] : [],
    env: { NODE_OPTIONS: undefined, GLIBC_TUNABLES: undefined, ...(quiet ? quietEnvironment({}) : {}) },
    args: ['--child', name, String(maxMs)],
    // The check ends within maxMs; the rest is the addon's set-up.
    timeoutMs: 2 * maxMs + 60_000,
  });
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  installAddons();
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).stdout.trim();
  const started = Date.now();
  const outcomes: Record<Mode, Outcome[]> = { quiet: [], plain: [] };
  for (let trial = 1; trial <= options.trials; trial++) {
    for (const name of options.cases) {
      for (const mode of options.modes) {
        const outcome = await runChild(mode, name, options.maxMs);
        outcomes[mode].push(outcome);
        if (outcome.verdict === 'error') process.stderr.write(`${mode} ${name}: ${outcome.message}\n`);
      }
    }
    process.stderr.write(`trial ${trial}/${options.trials} done\n`);
  }
  const out: string[] = [];
  out.push(`nodeleak on published addons — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}`);
  out.push(`${os.cpus()[0]?.model}, ${os.cpus().length} cores, ${process.platform} ${os.release()}, Node ${process.version}; ${options.trials} trials per case, one check per fresh process, maxMs ${options.maxMs}`);
  for (const mode of options.modes) {
    out.push('', `## ${mode} process`, '');
    const rows = [['case', 'want', 'clean', 'leak', 'unconfirmed leak', 'inconclusive', 'error', 'median calls', 'median ms', 'own allocator (judged)']];
    for (const name of options.cases) {
      const mine = outcomes[mode].filter((o) => o.case === name);
      const count = (verdict: Outcome['verdict']): string => `${mine.filter((o) => o.verdict === verdict).length}`;
      rows.push([
        cases[name].label,
        cases[name].want,
        count('clean'),
        count('leak'),
        count('unconfirmed'),
        count('inconclusive'),
        count('error'),
        fmt(median(mine.flatMap((o) => (o.calls === null ? [] : [o.calls])))),
        fmt(median(mine.map((o) => o.ms))),
        [...new Set(mine.flatMap((o) => o.own))].join(', ') || '—',
      ]);
    }
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    for (const row of rows) out.push(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
    for (const outcome of outcomes[mode]) {
      const wanted = cases[outcome.case].want;
      const leak = outcome.verdict === 'leak' || outcome.verdict === 'unconfirmed';
      if (leak && wanted === 'clean') out.push(`not as wanted: ${outcome.case}: ${outcome.verdict === 'unconfirmed' ? '(unconfirmed) ' : ''}${outcome.message}`);
      if (outcome.verdict !== 'leak' && wanted === 'leak') out.push(`not as wanted: ${outcome.case}: ${outcome.verdict} after ${fmt(outcome.calls ?? NaN)} calls`);
    }
  }
  out.push('', 'calls = warm-up + one call for the resource checks + measured calls until the verdict;');
  out.push('unconfirmed leak = MemoryLeakError with report.confirmed false: maxMs ended before the growth was followed over');
  out.push('its span, so growth that levels off later was not ruled out (a failure, as the README says);');
  out.push('inconclusive = InconclusiveError: maxMs ran out before a leak could be ruled out (a failure, never a pass).');
  out.push(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => {
    process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  });
}
