// What a check shows besides its verdict: the one-line summary (NODELEAK_SUMMARY=1), a progress line on a terminal,
// and the report folder (NODELEAK_REPORT_DIR): JSON and an SVG plot per check.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryLeakError, checkLeak } from '../lib';
import { formatNumber } from '../lib/numbers';
import { Progress } from '../lib/progress';
import { reportFileName } from '../lib/report-dir';
import { QUIET_GLIBC_TUNABLES, QUIET_NODE_FLAGS, lastJson, runCode } from './helpers/child';
import { rejection } from './helpers/verdicts';
import { FAST } from './helpers/fast';


/** Runs `body` with process.env[name] = value, and captures what is written to stderr. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    return { value: await body(), stderr: written.join('') };
  } finally {
    process.stderr.write = write;
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('what a check shows besides its verdict', function () {
  this.timeout(60_000);

  it('NODELEAK_SUMMARY=1: one line per passing check, with the bound on each judged metric', async () => {
    const { value: report, stderr } = await withEnv({ NODELEAK_SUMMARY: '1' }, () => checkLeak(() => JSON.parse('[1]'), { ...FAST, verbosity: 1, name: 'parse' }));
    const lines = stderr.split('\n').filter((line) => line.startsWith('nodeleak: parse: '));
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^nodeleak: parse: no leak in ${report.calls.toLocaleString('en-US')} calls, \\d+ ms, (quiet|plain) process; heap ≤ [\\d.,]+ B/call, mmap ≤ .*, v8heap ≤ [\\d.,]+ B/call, external ≤ [\\d.,]+ B/call, (uss|rss) ≤ [\\d.,]+ B/call$`));
  });

  it('a progress line on a terminal after two seconds, erased at the end; none off a terminal', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (text: string) => written.push(text) };
    const fresh = new Progress('slowOne', performance.now(), tty);
    fresh.round(1, 300);
    expect(written).to.deep.equal([]); // not two seconds yet
    const long = new Progress('slowOne', performance.now() - 3000, tty);
    long.round(5, 12_300);
    long.done();
    expect(written[0].startsWith('\r\x1b[2K')).to.equal(true);
    expect(written[0].slice(5)).to.match(/^nodeleak: slowOne: measuring, round 5, 12,300 calls, 3\.\d s$/);
    expect(written[1]).to.equal('\r\x1b[2K');
    const piped: string[] = [];
    const offTerminal = new Progress('slowOne', performance.now() - 3000, { isTTY: false, write: (text: string) => piped.push(text) });
    offTerminal.round(5, 12_300);
    offTerminal.done();
    expect(piped).to.deep.equal([]);
  });

  it('a check that writes nothing leaves process.stderr unopened (Node makes it, and loads its modules, on first use)', async () => {
    // The built package, without tsx, whose own pipe to its parent opens stderr when it closes.
    const dist = path.resolve(__dirname, '..', 'dist');
    const code = `
      const made = Object.getOwnPropertyDescriptor(process, 'stderr');
      let openedBy = null;
      Object.defineProperty(process, 'stderr', { configurable: true, enumerable: made.enumerable, get() {
        openedBy = openedBy || new Error('process.stderr opened').stack;
        return made.get.call(process);
      } });
      const { checkLeak } = require(${JSON.stringify(dist)});
      checkLeak(() => {}).then((report) => {
        require('node:fs').writeSync(1, JSON.stringify({ verdict: report.verdict, openedBy }) + '\\n');
      });`;
    const child = await runCode(code, { tsx: false, nodeFlags: QUIET_NODE_FLAGS, env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES } });
    expect(child.code, child.stderr).to.equal(0);
    const { verdict, openedBy } = lastJson(child) as { verdict: string; openedBy: string | null };
    expect(verdict).to.equal('clean');
    expect(openedBy, openedBy ?? '').to.equal(null);
  });

  it('writes numbers as en-US toLocaleString does (grouped, at most 3 or the given fraction digits, ∞)', () => {
    const values = [0, 12, 1234, 12_800, 1_234_567, 3.2, 0.393, 0.0004, 0.12345, 7.9995, 1_000_000.5, -3.5, -2451, Infinity, -Infinity, Number.NaN];
    for (const value of values) expect(formatNumber(value), String(value)).to.equal(value.toLocaleString('en-US'));
    for (const value of [102.45, 99_999.96, 2_250.5, -1_499.94]) {
      expect(formatNumber(value, 1), String(value)).to.equal(value.toLocaleString('en-US', { maximumFractionDigits: 1 }));
    }
  });

  it('a progress line and a leak message leave the C heap where it was (no Intl: ICU loads ~1 MB of data on first use)', async () => {
    // A fresh process, whose ICU is not loaded yet; the line is written between two rounds, so what it allocates would
    // count as the next round's growth. Quiet, so no background compile's zone memory moves the C heap meanwhile.
    const lib = path.resolve(__dirname, '..', 'lib');
    const code = `
      const { heapInfo } = require(${JSON.stringify(path.join(lib, 'probe.ts'))});
      const { Progress } = require(${JSON.stringify(path.join(lib, 'progress.ts'))});
      const { formatRounds, formatBytes } = require(${JSON.stringify(path.join(lib, 'report.ts'))});
      const written = [];
      const progress = new Progress('slowOne', performance.now() - 3000, { isTTY: true, write: (text) => written.push(text) });
      const round = { round: 1, calls: 12300, growth: { heap: 39360 }, ms: 1 };
      gc(); gc();
      const before = heapInfo().heapUsed;
      progress.round(5, 12300);
      written.push(formatRounds({ rounds: [round], metrics: ['heap'] }, 'heap'), formatBytes(123456789));
      gc(); gc();
      console.log(JSON.stringify({ grew: heapInfo().heapUsed - before, written }));`;
    const child = await runCode(code, { nodeFlags: QUIET_NODE_FLAGS, env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES } });
    expect(child.code, child.stderr).to.equal(0);
    const { grew, written } = lastJson(child) as { grew: number; written: string[] };
    expect(written[0]).to.match(/measuring, round 5, 12,300 calls/);
    expect(written[1]).to.match(/12,300 +\+39,360 B +3\.2$/m);
    expect(written[2]).to.equal('+117.7 MiB');
    expect(grew).to.be.below(64 * 1024);
  });

  it('a report folder that cannot be written leaves the verdict as it is, and says so', async () => {
    const dir = path.join(os.tmpdir(), `nodeleak-file-${process.pid}`);
    fs.writeFileSync(dir, 'a file, not a folder');
    try {
      const { value: report, stderr } = await withEnv({ NODELEAK_REPORT_DIR: dir }, () => checkLeak(() => JSON.parse('[1]'), { ...FAST, name: 'unwritten' }));
      expect(report.verdict).to.equal('clean');
      expect(stderr).to.include(`nodeleak: unwritten: could not write its report to NODELEAK_REPORT_DIR=${dir}: `);
    } finally {
      fs.rmSync(dir, { force: true });
    }
  });

  it('a report folder under /proc, where no folder can be made, is an error, not a hang', async function () {
    if (process.platform !== 'linux') this.skip();
    const code = `
      const { writeReport } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'report-dir.ts'))});
      const report = { rounds: [], metrics: [], judged: [], calls: 0, quiet: false };
      try { writeReport('/proc/nodeleak-nope/reports', 'check', 'clean', report, null); console.log(JSON.stringify({ written: true })); }
      catch (err) { console.log(JSON.stringify({ code: err.code })); }`;
    const child = await runCode(code, { timeoutMs: 10_000 });
    expect(child.signal, 'the child was killed at its timeout').to.equal(null);
    expect(lastJson(child)).to.deep.equal({ code: 'ENOENT' });
  });

  it('NODELEAK_REPORT_DIR: each check writes its report as JSON and an SVG plot, named after it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-reports-'));
    try {
      const kept: number[][] = [];
      await withEnv({ NODELEAK_REPORT_DIR: dir }, async () => {
        await checkLeak(() => JSON.parse('[1]'), { ...FAST, name: 'Suite.testClean' });
        expect(await rejection(checkLeak(() => kept.push(new Array(128).fill(0)), { ...FAST, name: 'Suite.test leaks / much' }))).to.be.instanceOf(MemoryLeakError);
      });
      const leakName = reportFileName('Suite.test leaks / much');
      expect(leakName).to.equal('Suite.test_leaks_much');
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['Suite.testClean.json', 'Suite.testClean.svg', `${leakName}.json`, `${leakName}.svg`]);
      const clean = JSON.parse(fs.readFileSync(path.join(dir, 'Suite.testClean.json'), 'utf8')) as { verdict: string; rounds: unknown[]; judged: string[] };
      expect(clean.verdict).to.equal('clean');
      expect(clean.rounds.length).to.be.greaterThan(0);
      const leak = JSON.parse(fs.readFileSync(path.join(dir, `${leakName}.json`), 'utf8')) as { verdict: string; metric: string };
      expect(leak).to.include({ verdict: 'leak', metric: 'v8heap' });
      const svg = fs.readFileSync(path.join(dir, `${leakName}.svg`), 'utf8');
      expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg.match(/<g class="metric"/g)).to.have.length(clean.judged.length);
      expect(svg).to.match(/<g class="metric" data-metric="v8heap">[\s\S]*?<polyline fill="none" stroke="#c0392b"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
