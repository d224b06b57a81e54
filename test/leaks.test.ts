// Runs the paired leak suites (test/leaks/*.leaks.ts) as child processes, once through the
// quiet CLI (dist/cli.js) and once through plain mocha, and checks each test's outcome:
// every leak fails with its error class, every clean twin passes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { reportFileName } from '../lib/report-dir';
import { expectedOutcomes, type Outcome } from './leaks/expected';

const root = path.join(__dirname, '..');
const suitesDir = path.join(__dirname, 'leaks');
const mochaBin = require.resolve('mocha/bin/mocha.js');
const cliBin = path.join(root, 'dist', 'cli.js');

interface JsonTest {
  fullTitle: string;
  file: string;
  err: { message?: string; stack?: string; name?: string };
}
interface JsonReport {
  tests: JsonTest[];
  passes: JsonTest[];
  failures: JsonTest[];
}
interface SuiteRun {
  code: number | null;
  stderr: string;
  report: JsonReport;
}

/** The error class a failed test reports: its own `name`, else the first word of its stack. */
function errorClass(err: JsonTest['err']): string {
  if (err.name) return err.name;
  const match = /^(\w+)/.exec(err.stack ?? '');
  return match ? match[1] : '(no error)';
}

function run(command: string[], reportFile: string, checkReports: string): Promise<SuiteRun> {
  return new Promise((resolve, reject) => {
    // The child must start without this process's settings leaking into it (this spec may itself run quiet).
    const env: NodeJS.ProcessEnv = { ...process.env, NODELEAK_REPORT_DIR: checkReports };
    delete env.NODE_OPTIONS;
    delete env.GLIBC_TUNABLES;
    const child = spawn(process.execPath, command, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let report: JsonReport;
      try {
        report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as JsonReport;
      } catch (err) {
        reject(new Error(`no JSON report from ${command.join(' ')} (exit ${code}): ${(err as Error).message}\n${stderr}`));
        return;
      }
      resolve({ code, stderr, report });
    });
  });
}

/** What a test's check measured (written by NODELEAK_REPORT_DIR), for a verdict that went the wrong way. */
function checkReport(tmp: string, title: string): string {
  // MemoryLeakTestCase labels a check `Class.method`; mocha titles the test `Class method`.
  const file = path.join(tmp, 'checks', `${reportFileName(title.replace(' ', '.'))}.json`);
  if (!fs.existsSync(file)) return `no report at ${file}`;
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { reason?: string; rounds?: { calls: number; growth: Record<string, number> }[] };
  const rounds = (report.rounds ?? []).map((round) => `${round.calls} calls: ${JSON.stringify(round.growth)}`).join('; ');
  return `its check: ${report.reason}; rounds: ${rounds}`;
}

const runners: Record<string, { command: (args: string[]) => string[]; process: string }> = {
  'the quiet CLI': { command: (args) => [cliBin, ...args], process: 'quiet process' },
  'plain mocha': { command: (args) => [mochaBin, ...args], process: 'plain process' },
};

const suiteFiles = Object.keys(expectedOutcomes);
const leakCount = suiteFiles.flatMap((file) => Object.values(expectedOutcomes[file])).filter((o) => o !== 'pass').length;

for (const [runnerName, runner] of Object.entries(runners)) {
  describe(`leak suites through ${runnerName}`, function () {
    this.timeout(240_000);
    let result: SuiteRun;
    let tmp: string;

    before(async function () {
      if (process.platform === 'win32') this.skip(); // test/fixtures/leaks is POSIX C (pthreads, mmap, fds): no Windows build
      if (runnerName === 'the quiet CLI' && !fs.existsSync(cliBin)) {
        throw new Error(`${cliBin} is missing: run "npm run build:ts" first`);
      }
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-leaks-'));
      const reportFile = path.join(tmp, 'report.json');
      const args = [
        '--config', path.join(suitesDir, 'mocharc.json'),
        '--reporter', 'json', '--reporter-option', `output=${reportFile}`,
        ...suiteFiles.map((file) => path.join(suitesDir, file)),
      ];
      result = await run(runner.command(args), reportFile, path.join(tmp, 'checks'));
    });

    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('runs every test of the suites, and no other', () => {
      const expected = suiteFiles.flatMap((file) => Object.keys(expectedOutcomes[file])).sort();
      expect(result.report.tests.map((t) => t.fullTitle).sort()).to.deep.equal(expected);
    });

    it(`measures in a ${runner.process}`, () => {
      const memoryLeaks = result.report.failures.filter((t) => errorClass(t.err) === 'MemoryLeakError');
      expect(memoryLeaks.length).to.be.greaterThan(0);
      for (const t of memoryLeaks) expect(t.err.message, t.fullTitle).to.include(runner.process);
    });

    it('exits non-zero, one failure per leak', () => {
      expect(result.code).to.not.equal(0);
      expect(result.report.failures.length, result.stderr).to.equal(leakCount);
    });

    for (const file of suiteFiles) {
      for (const [title, outcome] of Object.entries(expectedOutcomes[file]) as [string, Outcome][]) {
        it(`${title}: ${outcome === 'pass' ? 'passes' : `fails with ${outcome}`}`, () => {
          const failure = result.report.failures.find((t) => t.fullTitle === title);
          if (outcome === 'pass') {
            expect(failure, failure && `${errorClass(failure.err)}: ${failure.err.message}`).to.equal(undefined);
            expect(result.report.passes.map((t) => t.fullTitle)).to.include(title);
          } else {
            expect(failure, `${title} passed but should have failed with ${outcome}; ${checkReport(tmp, title)}`).to.not.equal(undefined);
            expect(errorClass(failure!.err), failure!.err.stack).to.equal(outcome);
          }
        });
      }
    }
  });
}
