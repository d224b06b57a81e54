// Leak tests in every runner: vitest (nodeleak/vitest's matcher and config helper), jest (nodeleak/jest) and
// node:test, each started by `npx nodeleak run -- <command>`: a leaking and a clean check give the right verdicts in a
// quiet process, and the exit code says so. (mocha: test/harness-cli.test.ts and test/leaks.test.ts.)
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixtures = path.join(__dirname, 'runner-fixtures');

/** The environment of a user's shell: none of this process's quiet settings. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.NODE_OPTIONS;
  return env;
}

function nodeleak(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...plainEnv(), ...env }, timeout: 170_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface ReportedTest {
  title: string;
  status: string;
  failureMessages: string[];
}

/** The tests of a JSON report in jest's format, which vitest's json reporter writes too. */
function jsonTests(report: string): ReportedTest[] {
  return (JSON.parse(fs.readFileSync(report, 'utf8')) as { testResults: { assertionResults: ReportedTest[] }[] }).testResults.flatMap((file) => file.assertionResults);
}

/** Runs jest on its fixture folder through `nodeleak run`, with `config` there: its exit, and its tests. */
function runJest(config: string, report: string): { run: ReturnType<typeof nodeleak>; tests: ReportedTest[] } {
  const jestDir = path.join(fixtures, 'jest');
  const run = nodeleak(['run', '--', 'jest', '--rootDir', jestDir, '--config', path.join(jestDir, config), '--json', `--outputFile=${report}`]);
  return { run, tests: fs.existsSync(report) ? jsonTests(report) : [] };
}

function outcomes(tests: { title: string; status: string }[]): Record<string, string> {
  return Object.fromEntries(tests.map((test) => [test.title, test.status]));
}

const expected = {
  'runs in a quiet process': 'passed',
  'a leaking function fails not.toLeakMemory': 'failed',
  'a clean function passes not.toLeakMemory': 'passed',
  'toLeakMemory passes for a leaking function': 'passed',
};

describe('runners', function () {
  this.timeout(180_000);
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-runners-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('vitest through npx nodeleak run: nodeleak/vitest matchers, quiet forks, fake timers, exit code 1 for the leak', () => {
    const report = path.join(tmp, 'vitest.json');
    const run = nodeleak(['run', '--', 'vitest', 'run', '--root', path.join(fixtures, 'vitest'), '--reporter=json', '--reporter=default', `--outputFile.json=${report}`]);
    expect(run.status, run.stderr).to.equal(1);
    const tests = jsonTests(report);
    expect(outcomes(tests)).to.deep.equal({
      ...expected,
      'throws: a Node-core TypeError matches the TypeError of this realm': 'passed',
      'a check under vi.useFakeTimers() turns the real event loop': 'passed',
      'a check the test does not await fails the test': 'failed',
      'a check takes its time budget from the test timeout, so it ends before it': 'failed',
      'a check after those is not blamed for them': 'passed',
      'a test whose afterEach hook throws': 'failed',
      'the test after it has a scope of its own: a check it does not await fails it': 'failed',
      'a check beside a concurrent test is refused, saying why': 'passed',
      'a concurrent test without a check': 'passed',
      'without the hooks, a check the test does not await fails the test': 'failed',
      'without the hooks, the call that starts a check throws, naming the hooks': 'passed',
    });
    const failureOf = (title: string): string => tests.find((test) => test.title === title)?.failureMessages[0] ?? '';
    expect(failureOf('a check the test does not await fails the test')).to.match(
      /^UnawaitedCheckError: .*a check the test does not await fails the test: the check of leak \(started at .*leaks\.vitest\.ts:\d+:\d+\) was still running when the test ended; it was stopped\./,
    );
    // vitest skips the afterEach hooks after one that throws; the scope closed all the same.
    expect(failureOf('the test after it has a scope of its own: a check it does not await fails it')).to.match(/^UnawaitedCheckError: /);
    // A file without the hooks: vitest would end its fork before the verdict of a check the test did not await.
    expect(failureOf('without the hooks, a check the test does not await fails the test')).to.match(
      /^UnscopedCheckError: cannot check leak here: this vitest test runs without nodeleak's test hooks.*Load them: import 'nodeleak\/vitest'/,
    );
    // The stopped matcher's promise settles no more: vitest reported it as unhandled, on the test after it.
    expect(run.stdout + run.stderr).to.not.match(/unhandled (error|rejection)/i);
    expect(failureOf('a check takes its time budget from the test timeout, so it ends before it')).to.match(/^InconclusiveError: /);
    const failure = failureOf('a leaking function fails not.toLeakMemory');
    expect(failure).to.match(/^Error: expected the function not to leak, but it did: MemoryLeakError: v8heap leaks about [\d,.]+ B\/call \(\d+ rounds, [\d,]+ calls after 50 warm-up calls, quiet process\)/);
  });

  it('vitest with only quietForks() in its config: the forks are quiet without nodeleak run', () => {
    const report = path.join(tmp, 'vitest-alone.json');
    const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const result = spawnSync(process.execPath, [vitest, 'run', '--root', path.join(fixtures, 'vitest'), '-t', 'quiet process', '--reporter=json', `--outputFile=${report}`], { cwd: root, encoding: 'utf8', env: plainEnv() });
    expect(result.status, result.stderr).to.equal(0);
    const tests = jsonTests(report);
    expect(tests.filter((test) => test.status === 'passed').map((test) => test.title)).to.deep.equal(['runs in a quiet process']);
  });

  it('jest through npx nodeleak run: nodeleak/jest matchers, quiet workers, errors from its realm, fake timers, exit code 1', () => {
    const { run, tests } = runJest('jest.config.js', path.join(tmp, 'jest.json'));
    expect(run.status, run.stderr).to.equal(1);
    expect(outcomes(tests)).to.deep.equal({
      ...expected,
      "checkLeakThrows matches a Node-core TypeError against this realm's TypeError": 'passed',
      'a check under jest.useFakeTimers() turns the real event loop': 'passed',
      'a check the test does not await fails the test': 'failed',
      'a check takes its time budget from the test timeout, so it ends before it': 'failed',
      'a check whose maxMs outlasts the test timeout is stopped before it': 'failed',
      'a check after it is not blamed for it': 'passed',
      'a check in a test jest starts before its hooks is refused, saying so': 'passed',
    });
    const unawaited = tests.find((test) => test.title === 'a check the test does not await fails the test')?.failureMessages ?? [];
    // One failure: the stopped matcher's promise is not reported again as a second one.
    expect(unawaited).to.have.lengthOf(1);
    expect(unawaited[0]).to.match(/UnawaitedCheckError: a check the test does not await fails the test: the check of leak \(started at .*leaks\.jest\.js:\d+:\d+\) was still running when the test ended; it was stopped\./);
    // jest-circus's state gives the test's timeout: the check ends in a verdict before jest's timeout would.
    const budgeted = tests.find((test) => test.title === 'a check takes its time budget from the test timeout, so it ends before it')?.failureMessages ?? [];
    expect(budgeted.join('\n')).to.match(/^InconclusiveError: /).and.not.match(/Exceeded timeout/);
    const stopped = tests.find((test) => test.title === 'a check whose maxMs outlasts the test timeout is stopped before it')?.failureMessages ?? [];
    expect(stopped.join('\n')).to.match(/^CheckAbortedError: .* was about to reach its timeout of 1500 ms\. Give the test more time \(test\(\)'s third argument, or testTimeout in the config\)/).and.not.match(/Exceeded timeout/);
  });

  it('jest without nodeleak/jest: the call that starts a check throws UnscopedCheckError, awaited or not', () => {
    const { run, tests } = runJest('jest.unscoped.config.js', path.join(tmp, 'jest-unscoped.json'));
    expect(run.status, run.stderr).to.equal(1);
    expect(outcomes(tests)).to.deep.equal({
      'without the hooks, a check the test does not await fails the test': 'failed',
      'without the hooks, the call that starts a check throws, naming the hooks': 'passed',
      'a process the test starts inherits JEST_WORKER_ID, runs no jest test, and its checks run': 'passed',
    });
    expect(tests[0].failureMessages[0]).to.match(/^UnscopedCheckError: cannot check .* here: this jest test runs without nodeleak's test hooks.*Load them: setupFilesAfterEnv: \['nodeleak\/jest'\]/);
  });

  it('node:test through npx nodeleak run -- node --test: quiet test processes, exit code 1 for the leak', () => {
    // TAP named: since Node 23 the default reporter is 'spec' also when stdout is not a terminal.
    const run = nodeleak(['run', '--', 'node', '--test', '--test-reporter=tap', path.join(fixtures, 'node-test', 'leaks.node-test.js')]);
    expect(run.status, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/^ok \d+ - runs in a quiet process$/m);
    expect(run.stdout).to.match(/^not ok \d+ - a leaking function fails$/m);
    expect(run.stdout).to.match(/^ok \d+ - a clean function passes$/m);
    expect(run.stdout).to.match(/^ok \d+ - a leak, asserted$/m);
    expect(run.stdout).to.match(/^# pass 3$/m).and.match(/^# fail 1$/m);
  });

  it('node:test with nodeleak/node-test: a test that leaves its check running fails, and the next test is not blamed', () => {
    const scoped = nodeleak(['run', '--', 'node', '--test', '--test-reporter=tap', path.join(fixtures, 'node-test', 'scoped.node-test.js')]);
    expect(scoped.status, scoped.stderr).to.equal(1);
    expect(scoped.stdout).to.match(/^not ok \d+ - a check the test does not await fails the test$/m);
    expect(scoped.stdout).to.match(/name: 'UnawaitedCheckError'/);
    expect(scoped.stdout).to.match(/^ok \d+ - a check after it is not blamed for it$/m);
    // A subtest's checks are its own, and so is the failure of one it does not await; its parent fails with it.
    expect(scoped.stdout).to.match(/^ {4}ok \d+ - a subtest whose check is its own$/m);
    expect(scoped.stdout).to.match(/^ {4}not ok \d+ - a subtest that does not await its check$/m);
    expect(scoped.stdout).to.match(/^ {4}not ok \d+ - a subtest that does not await its check\n(?: {6}.*\n)*? {6}error: .*the check of leak \(started at .*scoped\.node-test\.js:\d+:\d+\) was still running when the test ended/m);
    // Tests run at once: a check beside another test is refused (the fixture asserts the error).
    expect(scoped.stdout).to.match(/^ {4}ok \d+ - a check beside another test is refused, saying why$/m);
    // A file without the import: `nodeleak run -- node --test` imports the hooks into every test process, and
    // only there (node:test's own process would report an empty run of its own).
    const imported = nodeleak(['run', '--', 'node', '--test', '--test-reporter=tap', path.join(fixtures, 'node-test', 'unscoped.node-test.js')]);
    expect(imported.status, imported.stderr).to.equal(1);
    expect(imported.stdout).to.match(/^not ok \d+ - a check the test does not await$/m);
    expect(imported.stdout).to.match(/name: 'UnawaitedCheckError'/);
    expect(imported.stdout).to.match(/^ok \d+ - a check after it$/m);
    expect(imported.stdout.match(/^# tests \d+$/gm)).to.deep.equal(['# tests 2']);
  });

  it('node:test without nodeleak/node-test: the call that starts a check throws UnscopedCheckError, awaited or not', () => {
    const file = path.join(fixtures, 'node-test', 'unscoped.node-test.js');
    const plain = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: root, encoding: 'utf8', env: plainEnv() });
    expect(plain.status, plain.stderr).to.equal(1);
    // Without the refusal, the unawaited check passed its test and failed the next one.
    expect(plain.stdout).to.match(/^not ok 1 - a check the test does not await$/m).and.match(/^not ok 2 - a check after it$/m);
    expect(plain.stdout.match(/name: 'UnscopedCheckError'/g)).to.have.lengthOf(2);
    expect(plain.stdout).to.include("Load them: import 'nodeleak/node-test' at the top of the test file, or run node --test --import nodeleak/node-test");
    // A process a test starts inherits NODE_TEST_CONTEXT, but runs no node:test test: its checks run.
    const spawned = spawnSync(process.execPath, ['--test', '--test-reporter=tap', path.join(fixtures, 'node-test', 'spawned.node-test.js')], { cwd: root, encoding: 'utf8', env: plainEnv() });
    expect(spawned.status, spawned.stdout + spawned.stderr).to.equal(0);
  });

  it("vitest's threads pool: checks in worker threads of one process never blame each other, they refuse and name pool: 'forks'", () => {
    const report = path.join(tmp, 'vitest-threads.json');
    const run = nodeleak(['run', '--', 'vitest', 'run', '--root', path.join(fixtures, 'vitest-threads'), '--reporter=json', `--outputFile=${report}`]);
    const tests = jsonTests(report);
    expect(tests).to.have.length(2);
    for (const test of tests.filter((result) => result.status === 'failed')) {
      expect(test.failureMessages[0]).to.match(/^ConcurrentCheckError: cannot check .*: the check of .* is still running, and it runs in another thread of this process\. .*pool: 'forks'/);
    }
    expect(tests.some((result) => result.status === 'passed'), run.stderr).to.equal(true);
    expect(run.stdout + run.stderr).to.include('other threads of this process may run JavaScript while it is measured (this check runs in a worker thread');
  });

  it('run: a command that is not a Node script is started with the environment and a warning; a missing one fails; neither leaves its `node` shim behind', () => {
    // The shim (a folder with a `node` that adds the flags) is made in the temporary folder, TMPDIR here.
    const shims = fs.mkdtempSync(path.join(tmp, 'shims-'));
    const shell = nodeleak(['run', '--', 'sh', '-c', 'echo "$GLIBC_TUNABLES"; echo "$MALLOC_CONF"; node -p "process.execArgv.join(\' \')"'], { TMPDIR: shims });
    expect(shell.status, shell.stderr).to.equal(0);
    const [tunables, mallocConf, execArgv] = shell.stdout.split('\n');
    expect(tunables).to.equal('glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0');
    expect(mallocConf).to.equal('tcache:false');
    expect(execArgv).to.match(/^--single-threaded --expose-gc --max-semi-space-size=1 --no-sparkplug /); // the `node` on PATH adds the flags
    expect(shell.stderr).to.match(/^nodeleak: sh is not a Node script, so the quiet flags \(--single-threaded --expose-gc --max-semi-space-size=1 --no-sparkplug\) cannot be put on its command line/);
    expect(fs.readdirSync(shims)).to.deep.equal([]);
    const missing = nodeleak(['run', '--', 'no-such-runner-here'], { TMPDIR: shims });
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.equal('nodeleak: run: no-such-runner-here was not found in node_modules/.bin or on PATH\n');
    expect(fs.readdirSync(shims)).to.deep.equal([]);
  });
});
