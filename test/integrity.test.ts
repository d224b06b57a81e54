// "Green means measured, and no leak": every way a check could end without measuring what it claims is a loud
// failure, and a failure is the fault of the test that caused it.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import vm from 'node:vm';
import {
  CheckAbortedError,
  Checkers,
  InconclusiveError,
  LeakError,
  MemoryLeakError,
  OPTION_NAMES,
  UnawaitedCheckError,
  UnclosedLibuvResourceError,
  UnexpectedBehaviourError,
  UnscopedCheckError,
  UnsupportedPlatformError,
  checkLeak,
  checkLeakThrows,
} from '../lib';
import type { LeakOptions } from '../lib';
import { CLASS_FIELD_NAMES } from '../lib/options';
import { enterTestScope, inTestScope, leaveTestScope } from '../lib/in-flight';
import { platformTuple } from '../lib/platform';
import { QUIET_GLIBC_TUNABLES, QUIET_NODE_FLAGS, WITHOUT_PROC, lastJson, runCode, runScript } from './helpers/child';
import { buildFixture } from './helpers/fixtures';
import * as libraries from './helpers/libraries';
import { needFile, needNamespaces } from './helpers/requires';
import { resultOf, runSuite } from './helpers/suite';
import { rejection } from './helpers/verdicts';

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'integrity-fixtures');
const fixture = (file: string): string => path.join(fixtures, file);


/** Runs the CLI from source with mocha's JSON reporter on one fixture file; returns the parsed report and stderr. */
function cliJson(file: string): Promise<{ code: number | null; stderr: string; tests: { title: string; err: { name?: string; message?: string } }[] }> {
  const argv = ['--require', require.resolve('tsx/cjs'), path.join(root, 'lib', 'cli.ts'), '--no-config', '--require', 'tsx/cjs', '--reporter', 'json', '--timeout', '60000', file];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { tests: { title: string; err: { name?: string; message?: string } }[] };
        resolve({ code, stderr, tests: report.tests });
      } catch {
        reject(new Error(`no JSON from the CLI (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('green means measured, and no leak', function () {
  this.timeout(180_000);

  describe('1. a check nobody awaits fails the test that started it, not the next one', () => {
    it('MemoryLeakTestCase: execute() without await', async () => {
      const run = await runSuite(fixture('unawaited-class.ts'));
      const first = resultOf(run, 'testNotAwaited');
      expect(first.state).to.equal('failed');
      expect(first.error?.name).to.equal('UnawaitedCheckError');
      expect(first.error?.message).to.match(
        /^Unawaited\.testNotAwaited: the check of Unawaited\.testNotAwaited \(started at .*unawaited-class\.ts:11:\d+\) was still running when the test ended; it was stopped\. Await it/,
      );
      expect(resultOf(run, 'testAfterIt').state).to.equal('passed');
      expect(run.events).to.include('testAfterIt:clean');
    });

    for (const [how, runUnawaited] of [
      ['plain mocha with nodeleak/mocha loaded', () => runSuite(fixture('unawaited-mocha.ts'), { hooks: true })],
    ] as const) {
      it(`checkLeak and chai under ${how}`, async () => {
        const run = await runUnawaited();
        for (const title of ['checkLeak without await', 'chai without await', 'chai positive form without await', 'a check raced against a timer']) {
          const result = resultOf(run, title);
          expect(result.state, title).to.equal('failed');
          expect(result.error?.name, title).to.equal('UnawaitedCheckError');
          expect(result.error?.message, title).to.match(/\(started at .*unawaited-mocha\.ts:\d+:\d+\)/);
        }
        expect(resultOf(run, 'a clean check after them').state).to.equal('passed');
        expect(run.events).to.include('clean:clean:0');
        expect(resultOf(run, 'an awaited chai positive form').state).to.equal('passed');
        expect(run.events).to.include('positive:MemoryLeakError');
      });
    }

    // A test that takes `done` runs outside nodeleak/mocha's scope (this suite loads the hooks), as this one opens
    // scopes of its own.
    it("runner hooks: a test that begins beside another leaves that test's scope its own checks, and refuses later ones", function (done) {
      runnerHooksOverlap().then(() => done(), done);
    });

    async function runnerHooksOverlap(): Promise<void> {
      expect(inTestScope()).to.equal(false);
      const first = enterTestScope('first', () => 0);
      expect(inTestScope()).to.equal(true);
      const before = checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
      const second = enterTestScope('second, run at once', () => 0);
      expect(second).to.equal(null);
      expect(inTestScope()).to.equal(false);
      // Started now, it would count what the second test allocates, and nothing tells whose it is: refused.
      expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).to.throw(UnscopedCheckError, /starts while another test runs beside its own/);
      // The first test's own check runs on beside the second, and is not stopped by it.
      expect((await before).verdict).to.equal('clean');
      await leaveTestScope(first, undefined);
      // The second test still runs: a third that begins now runs beside it, and gets no scope either.
      const third = enterTestScope('third, beside the second', () => 0);
      expect(third).to.equal(null);
      expect(inTestScope()).to.equal(false);
      await leaveTestScope(second, undefined);
      await leaveTestScope(third, undefined);
      // Once every test has left, the next one has a scope of its own again.
      const alone = enterTestScope('alone', () => 0);
      expect(inTestScope()).to.equal(true);
      await leaveTestScope(alone, undefined);
      expect(inTestScope()).to.equal(false);
    }

    it("runner hooks: a subtest has a scope of its own inside its parent's, unless another runs beside it", function (done) {
      runnerHooksSubtests().then(() => done(), done);
    });

    async function runnerHooksSubtests(): Promise<void> {
      const parent = enterTestScope('parent', () => 0);
      const child = enterTestScope('parent > child', () => 0, 'parent');
      expect(child).to.not.equal(null);
      const unawaited = checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
      const childEnd = await leaveTestScope(child, undefined).then(() => 'passed', (err: Error) => err);
      expect(childEnd).to.be.instanceOf(UnawaitedCheckError).and.have.property('message').that.matches(/^parent > child: the check of /);
      expect(await unawaited.then(() => 'passed', (err: Error) => err.name)).to.equal('CheckAbortedError');
      // The parent's scope again: its checks are its own.
      expect(inTestScope()).to.equal(true);
      // A test whose parent is not the open test's, or two subtests at once, run beside it.
      expect(enterTestScope('elsewhere > test', () => 0, 'elsewhere')).to.equal(null);
      expect(inTestScope()).to.equal(false);
      await leaveTestScope(null, undefined);
      expect(await leaveTestScope(parent, undefined).then(() => 'passed')).to.equal('passed');
      const again = enterTestScope('again', () => 0);
      const one = enterTestScope('again > one', () => 0, 'again');
      expect(inTestScope()).to.equal(true);
      const two = enterTestScope('again > two', () => 0, 'again');
      expect(two).to.equal(null);
      expect(inTestScope()).to.equal(false);
      await leaveTestScope(one, undefined);
      // The second subtest still runs beside its parent: the parent's scope holds no later check.
      expect(inTestScope()).to.equal(false);
      await leaveTestScope(two, undefined);
      await leaveTestScope(again, undefined);
      expect(inTestScope()).to.equal(false);
      const next = enterTestScope('next', () => 0);
      expect(inTestScope()).to.equal(true);
      await leaveTestScope(next, undefined);
    }

    it('the same suite through the quiet CLI, which loads nodeleak/mocha itself', async () => {
      const { tests } = await cliJson(fixture('unawaited-mocha.ts'));
      const byTitle = new Map(tests.map((test) => [test.title, test.err]));
      for (const title of ['checkLeak without await', 'chai without await', 'chai positive form without await', 'a check raced against a timer']) {
        expect(byTitle.get(title)?.message, title).to.match(/the check of .* (was still running when the test ended|was not awaited|failed, but nothing awaited it)/);
      }
      expect(byTitle.get('a clean check after them')).to.deep.equal({});
      expect(byTitle.get('takes its budget from the test timeout')).to.deep.equal({});
    });

    it('any runner: a check failed unseen, or running at exit, makes the exit code non-zero with a message', async () => {
      const failed = await runScript(fixture('unawaited-exit.ts'), { args: ['failed'], timeoutMs: 120_000 });
      expect(failed.code, failed.stderr).to.equal(1);
      expect(failed.stderr).to.match(/^nodeleak: the check of anonymous function \(started at .*unawaited-exit\.ts:6:\d+\) failed, and nothing awaited it: v8heap leaks about/m);
      const running = await runScript(fixture('unawaited-exit.ts'), { args: ['running'] });
      expect(running.code, running.stderr).to.equal(1);
      expect(running.stderr).to.match(/the check of anonymous function \(started at .*\) was still running when the process exited/);
    });

    it('plain mocha without the hooks: the call that starts a check throws UnscopedCheckError, so the test fails', async () => {
      const mocha = require.resolve('mocha/bin/mocha.js');
      const lib = JSON.stringify(path.join(root, 'lib'));
      const script =
        `const { checkLeak } = require(${lib}); const kept = [];\n` +
        "it('starts a check without awaiting it', () => { checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 }); });\n" +
        "it('awaits a clean check', async () => { await checkLeak(() => JSON.parse('[1]'), { verbosity: 0 }); });\n";
      const file = path.join(fixtures, '.generated-unawaited.spec.js');
      require('node:fs').writeFileSync(file, script);
      try {
        const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [mocha, '--no-config', '--require', 'tsx/cjs', '--reporter', 'json', file], { cwd: root });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          child.on('close', (code) => resolve({ code, stdout, stderr }));
        });
        expect(outcome.code, outcome.stderr).to.equal(2);
        const report = JSON.parse(outcome.stdout) as { failures: { title: string; err: { message: string } }[]; passes: unknown[] };
        expect(report.passes).to.have.lengthOf(0);
        expect(report.failures.map((test) => test.title)).to.deep.equal(['starts a check without awaiting it', 'awaits a clean check']);
        for (const { err } of report.failures) {
          expect(err.message).to.match(/^cannot check .* here: this mocha test runs without nodeleak's test hooks.*--require nodeleak\/mocha/);
        }
        // With them, a check outside a test scope (a `before` hook, a test that takes `done`) runs, as before them.
        const hooked = `const { checkLeak } = require(${lib});\n` +
          "before(async () => { await checkLeak(() => JSON.parse('[1]'), { verbosity: 0 }); });\n" +
          "it('takes done', (done) => { checkLeak(() => JSON.parse('[2]'), { verbosity: 0 }).then(() => done(), done); });\n";
        require('node:fs').writeFileSync(file, hooked);
        const withHooks = spawnSync(process.execPath, [mocha, '--no-config', '--require', 'tsx/cjs', '--require', path.join(root, 'lib', 'mocha.ts'), file], { cwd: root, encoding: 'utf8' });
        expect(withHooks.status, withHooks.stdout + withHooks.stderr).to.equal(0);
        expect(withHooks.stdout).to.match(/1 passing/);
      } finally {
        require('node:fs').rmSync(file, { force: true });
      }
    });
  });

  describe('2. a check never outlives its test', () => {
    it('MemoryLeakTestCase stops its check before the timeout and before tearDown, fake timers or not, a call pending or not; the budget covers warm-up', async () => {
      const run = await runSuite(fixture('timeout-class.ts'));
      const stopped = resultOf(run, 'testStoppedBeforeTimeout');
      expect(stopped.state).to.equal('failed');
      expect(stopped.error?.name).to.equal('CheckAbortedError');
      expect(stopped.error?.message).to.match(/was stopped after [\d,]+ calls, before a verdict: Timeouts\.testStoppedBeforeTimeout was about to reach its timeout of 1500 ms/);
      const pending = resultOf(run, 'testCallNeverSettles');
      expect(pending.state).to.equal('failed');
      expect(pending.error?.name).to.equal('CheckAbortedError');
      expect(pending.error?.message).to.match(/before a verdict; call 4 had not settled, and was left pending: Timeouts\.testCallNeverSettles was about to reach its timeout of 1500 ms/);
      const faked = resultOf(run, 'testStoppedUnderFakeTimers');
      expect(faked.state).to.equal('failed');
      expect(faked.error?.name).to.equal('CheckAbortedError');
      expect(faked.error?.message).to.match(/Timeouts\.testStoppedUnderFakeTimers was about to reach its timeout of 1500 ms/);
      const byDefault = resultOf(run, 'testDefaultBudget');
      expect(byDefault.state).to.equal('failed');
      expect(byDefault.error?.name).to.equal('InconclusiveError');
      expect(byDefault.error?.full).to.match(/ended during warm-up, after [\d,]+ of 50 calls/);
      expect(resultOf(run, 'testNext').state).to.equal('passed');
      expect(run.events).to.include('testNext:0');
      expect(run.events).to.include('callsAfterTearDown:0');
    });

    it('signal stops a check between two calls; it rejects with CheckAbortedError and makes no call after', async () => {
      const controller = new AbortController();
      let calls = 0;
      const pending = checkLeak(
        async () => {
          calls++;
          await sleep(2);
        },
        { signal: controller.signal, verbosity: 0 },
      );
      setTimeout(() => controller.abort(new Error('enough')), 150);
      const err = await rejection(pending);
      expect(err).to.be.instanceOf(CheckAbortedError).and.not.instanceOf(LeakError);
      expect((err as CheckAbortedError).calls).to.equal(calls);
      expect((err as Error).message).to.match(/^the check of anonymous function was stopped after [\d,]+ calls, before a verdict: enough$/);
      const atStop = calls;
      await sleep(100);
      expect(calls).to.equal(atStop);
      let never = 0;
      const already = await rejection(checkLeak(() => never++, { signal: AbortSignal.abort(), verbosity: 0 }));
      expect(already).to.be.instanceOf(CheckAbortedError);
      expect(never).to.equal(0);
    });

    it('a call or a trimCallback that never settles holds neither the check nor the checks after it: the budget or the signal ends it', async () => {
      let calls = 0;
      const hangsOnCall10 = (): Promise<void> => (++calls === 10 ? new Promise<void>(() => {}) : Promise.resolve());
      const byBudget = await rejection(checkLeak(hangsOnCall10, { maxMs: 400, verbosity: 0 }));
      expect(byBudget).to.be.instanceOf(CheckAbortedError);
      expect((byBudget as CheckAbortedError).pending).to.equal('call 10');
      expect((byBudget as Error).message).to.equal(
        'the check of hangsOnCall10 was stopped after 9 calls, before a verdict; call 10 had not settled, and was left pending: its time ' +
          'budget of 400 ms ended, and what was pending then was awaited 400 ms more',
      );
      calls = 0;
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('enough')), 200);
      const bySignal = await rejection(checkLeak(hangsOnCall10, { signal: controller.signal, verbosity: 0 }));
      expect((bySignal as Error).message).to.equal(
        'the check of hangsOnCall10 was stopped after 9 calls, before a verdict; call 10 had not settled, and was left pending: enough',
      );
      const trimNeverSettles = await rejection(checkLeak(() => JSON.parse('[1]'), { maxMs: 400, verbosity: 0, trimCallback: () => new Promise<void>(() => {}) }));
      expect((trimNeverSettles as CheckAbortedError).pending).to.equal('trimCallback');
      expect((trimNeverSettles as Error).message).to.match(/; trimCallback had not settled, and was left pending: its time budget of 400 ms ended, and what was pending then was awaited 400 ms more$/);
      await checkLeak(() => JSON.parse('[1]'), { verbosity: 0 });
    });

    it('a script whose only pending work is such a call ends with the check stopped, not with the check cut off by the exit', async () => {
      const result = await runCode(`
        const { checkLeak } = require(${JSON.stringify(path.join(root, 'lib'))});
        let calls = 0;
        checkLeak(() => (++calls === 10 ? new Promise(() => {}) : Promise.resolve()), { maxMs: 300, verbosity: 0 })
          .catch((err) => console.log(JSON.stringify({ name: err.name, pending: err.pending })));
      `);
      expect(result.stderr).to.not.include('still running when the process exited');
      expect(lastJson(result)).to.deep.equal({ name: 'CheckAbortedError', pending: 'call 10' });
    });

    it('a budget longer than a timer can wait (2^31 ms) does not give up on calls at once', async () => {
      // Each call is pending across a turn of the event loop, when a watchdog that fired at once would find it.
      const report = await checkLeak(() => new Promise((resolve) => setImmediate(resolve)), { maxMs: 3e9, verbosity: 0 });
      expect(report.verdict).to.equal('clean');
    });

    it('maxMs covers warm-up too', async () => {
      let calls = 0;
      const started = performance.now();
      const err = await rejection(
        checkLeak(
          async () => {
            calls++;
            await sleep(10);
          },
          { warmupTimes: 10_000, maxMs: 300, verbosity: 0 },
        ),
      );
      expect(performance.now() - started).to.be.below(1500);
      expect(err).to.be.instanceOf(InconclusiveError);
      expect((err as InconclusiveError).report.reason).to.match(/^the time budget of 300 ms ended during warm-up, after [\d,]+ of 10,000 calls/);
      expect(calls).to.be.below(100);
    });
  });

  describe('3. not enough evidence is InconclusiveError', () => {
    it('a 1 KiB/call JS leak with maxMs 1200 does not pass', async () => {
      const kept: number[][] = [];
      const err = await rejection(checkLeak(() => kept.push(new Array(128).fill(0)), { maxMs: 1200, verbosity: 0 }));
      expect(err).to.satisfy((found: unknown) => found instanceof MemoryLeakError || found instanceof InconclusiveError);
    });

    it('allowInconclusive makes it a pass that says so, in the report and on stderr', async () => {
      const written: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
      let report;
      try {
        report = await checkLeak(async () => sleep(2), { maxMs: 300, warmupTimes: 1, allowInconclusive: true, verbosity: 1, name: 'slowOne' });
      } finally {
        process.stderr.write = write;
      }
      expect(report.verdict).to.equal('inconclusive');
      expect(report.undecided).to.have.length.greaterThan(0);
      expect(written.join('')).to.match(/nodeleak: slowOne: inconclusive, passed because allowInconclusive is set: a leak on .* was not ruled out/);
    });
  });

  describe('4. the C heap is measured, or the check refuses', () => {
    const MIMALLOC = libraries.MIMALLOC.library;

    it('an allocator the probe cannot read: UnsupportedPlatformError before any call, unless metrics leave the C heap out', async function () {
      if (process.platform !== 'linux' || !platformTuple().endsWith('-glibc')) this.skip();
      needFile(this, MIMALLOC, libraries.MIMALLOC.debianPackage);
      const code = `
        const { checkLeak } = require(${JSON.stringify(path.join(root, 'lib'))});
        let calls = 0;
        const leak = [];
        const fn = () => { calls++; leak.push(Buffer.alloc(64)); };
        (async () => {
          const refused = await checkLeak(fn, { verbosity: 0 }).then(() => null, (err) => ({ name: err.name, message: err.message }));
          const refusedCalls = calls;
          const report = await checkLeak(() => JSON.parse('[1]'), { verbosity: 0, metrics: ['v8heap', 'external'] });
          console.log(JSON.stringify({ refused, refusedCalls, judged: report.judged, cHeapJudged: report.cHeapJudged, verdict: report.verdict }));
        })();`;
      const result = await runCode(code, { env: { LD_PRELOAD: MIMALLOC }, timeoutMs: 120_000 });
      const outcome = lastJson(result) as Record<string, unknown>;
      expect(outcome.refused).to.deep.include({ name: UnsupportedPlatformError.name });
      expect((outcome.refused as { message: string }).message).to.include("name the metrics to judge without heap and mmap (e.g. metrics: ['v8heap', 'external'])");
      expect(outcome.refusedCalls).to.equal(0);
      expect(outcome).to.deep.include({ judged: ['v8heap', 'external'], cHeapJudged: false, verdict: 'clean' });
    });

    it('no probe at all: BindingLoadError before any call', async () => {
      // node-gyp-build looks for the binary beside the package root it is given: a dist/ copy with no build/ beside it.
      const code = `
        const Module = require('node:module');
        const load = Module._load;
        Module._load = function (request, ...rest) {
          if (request === 'node-gyp-build') return () => { throw new Error('No native build was found (simulated)'); };
          return load.call(this, request, ...rest);
        };
        const { checkLeak } = require(${JSON.stringify(path.join(root, 'lib'))});
        let calls = 0;
        checkLeak(() => calls++, { verbosity: 0 }).then(
          () => console.log(JSON.stringify({ passed: true })),
          (err) => console.log(JSON.stringify({ name: err.name, message: err.message, calls })),
        );`;
      const result = await runCode(code);
      const outcome = lastJson(result) as Record<string, unknown>;
      expect(outcome).to.deep.include({ name: 'BindingLoadError', calls: 0 });
      expect(outcome.message).to.include('name the metrics to judge without heap and mmap');
    });
  });

  describe('4a. a runtime without V8 refuses', () => {
    it('under Bun (simulated: process.versions.bun set) a check fails with UnsupportedPlatformError before any call', async () => {
      // Bun runs JavaScriptCore behind Node's API and names a V8 version all the same; there a check failed with
      // ReferenceError: gc is not defined. The probe's own calls answer (Bun 1.4.5, by hand: heapInfo() saw an
      // addon's 1,000 mallocs of 1,000 B).
      const code = `
        process.versions.bun = '1.4.5';
        const { checkLeak, checkLeakThrows, heapInfo } = require(${JSON.stringify(path.join(root, 'dist'))});
        let calls = 0;
        (async () => {
          const outcomes = [];
          for (const check of [() => checkLeak(() => calls++, { verbosity: 0 }), () => checkLeakThrows(TypeError, () => { calls++; throw new TypeError(); }, { verbosity: 0 })]) {
            outcomes.push(await check().then((report) => ({ verdict: report.verdict }), (err) => ({ name: err.name, message: err.message })));
          }
          console.log(JSON.stringify({ outcomes, calls, allocator: heapInfo().allocator }));
        })();`;
      const result = await runCode(code, { tsx: false });
      const { outcomes, calls, allocator } = lastJson(result) as { outcomes: Record<string, string>[]; calls: number; allocator: string };
      for (const outcome of outcomes) {
        expect(outcome, result.stderr).to.deep.include({ name: 'UnsupportedPlatformError' });
        expect(outcome.message).to.match(/^nodeleak cannot check for leaks on Bun 1\.4\.5: .*no V8\. Supported: Node\.js 18 or later\./);
      }
      expect(calls).to.equal(0);
      expect(allocator).to.be.a('string');
    });
  });

  describe('4b. a resource checker that cannot read the process refuses, rather than pass unchecked', () => {
    it('with no probe and no /proc/self/fd, the fds and threads checkers fail the check with the probe\'s error, saying how to leave them out', async () => {
      // As on macOS with no probe loaded (its fds and threads are read through the probe), simulated on Linux: the
      // probe's load fails (as in "no probe at all" above) and /proc/self/fd is made to look missing.
      const code = `
        const fs = require('node:fs');
        const exists = fs.existsSync;
        fs.existsSync = (file) => file !== '/proc/self/fd' && exists(file);
        const Module = require('node:module');
        const load = Module._load;
        Module._load = function (request, ...rest) {
          if (request === 'node-gyp-build') return () => { throw new Error('No native build was found (simulated)'); };
          return load.call(this, request, ...rest);
        };
        const { Checkers, checkLeak } = require(${JSON.stringify(path.join(root, 'dist'))});
        const metrics = ['v8heap', 'external'];
        (async () => {
          const outcomes = [];
          for (const checkers of [Checkers.all(), Checkers.all().exclude('fds', 'threads')]) {
            outcomes.push(await checkLeak(() => JSON.parse('[1]'), { verbosity: 0, metrics, checkers }).then(
              (report) => ({ verdict: report.verdict }), (err) => ({ name: err.name, message: err.message })));
          }
          console.log(JSON.stringify(outcomes));
        })();`;
      const result = await runCode(code, { tsx: false });
      const [refused, measured] = lastJson(result) as Record<string, string>[];
      expect(refused, result.stderr).to.deep.include({ name: 'BindingLoadError' });
      expect(refused.message).to.include("The fds and threads checkers read the process through nodeleak's probe here").and.include("Checkers.all().exclude('fds', 'threads')");
      expect(measured).to.deep.equal({ verdict: 'clean' });
    });
  });

  describe("4c. Node's permission model: what it refuses a check is a typed error, never a pass", () => {
    // Node 20 names the model --experimental-permission; Node 22.13 and later, --permission.
    const permission = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    const dist = JSON.stringify(path.join(root, 'dist'));
    const outcomeOf = `(err) => ({ name: err.name, code: err.code, permission: err.permission, resource: err.resource, message: err.message })`;

    it('importing never throws where Node refuses the probe; the BindingLoadError names the flag that allows it', async function () {
      const code = `
        const nodeleak = require(${dist});
        let outcome;
        try { nodeleak.heapInfo(); outcome = { loaded: true }; } catch (err) { outcome = (${outcomeOf})(err); }
        console.log(JSON.stringify(outcome));`;
      const cases: [string[], string][] = [[['--no-addons'], '--allow-addons']];
      // node-gyp-build reads /etc/alpine-release on Linux as it loads.
      if (process.platform === 'linux') cases.push([[permission, `--allow-fs-read=${root}${path.sep}`, '--allow-addons'], '--allow-fs-read=/etc/alpine-release']);
      for (const [nodeFlags, flag] of cases) {
        const result = await runCode(code, { tsx: false, nodeFlags });
        expect(result.code, result.stderr).to.equal(0);
        const outcome = lastJson(result) as { name: string; message: string };
        expect(outcome.name, nodeFlags.join(' ')).to.equal('BindingLoadError');
        expect(outcome.message, nodeFlags.join(' ')).to.include(flag).and.not.include('npm rebuild');
      }
    });

    it('a read of /proc/self it refuses is PermissionDeniedError before any verdict; with the reads allowed, a verdict', async function () {
      if (process.platform !== 'linux') this.skip(); // elsewhere the probe reads the process, and Node's model does not see it
      // Every checker reads /proc/self; the memory checker alone still reads its map of files (allocators of addons).
      const code = `
        const { Checkers, checkLeak } = require(${dist});
        (async () => {
          const outcomes = [];
          for (const checkers of [Checkers.all(), Checkers.only('memory')]) {
            outcomes.push(await checkLeak(() => JSON.parse('[1]'), { verbosity: 0, checkers }).then((report) => ({ verdict: report.verdict }), ${outcomeOf}));
          }
          console.log(JSON.stringify(outcomes));
        })();`;
      const allowed = [permission, `--allow-fs-read=${root}${path.sep}`, '--allow-fs-read=/etc/alpine-release', '--allow-addons'];
      const refused = await runCode(code, { tsx: false, nodeFlags: allowed });
      expect(refused.code, refused.stderr).to.equal(0);
      for (const outcome of lastJson(refused) as { name: string; message: string }[]) {
        expect(outcome).to.deep.include({ name: 'PermissionDeniedError', code: 'NODELEAK_PERMISSION_DENIED', permission: 'FileSystemRead' });
        expect(outcome.message).to.include('--allow-fs-read=/proc/self/');
      }
      // With the map allowed, the resource checkers' reads (open files, threads) are refused in their turn.
      const mapOnly = await runCode(code, { tsx: false, nodeFlags: [...allowed, '--allow-fs-read=/proc/self/maps'] });
      const [all, memoryOnly] = lastJson(mapOnly) as Record<string, unknown>[];
      expect(all, mapOnly.stderr).to.deep.include({ name: 'PermissionDeniedError', resource: '/proc/self/fd' });
      expect(memoryOnly).to.deep.equal({ verdict: 'clean' });
      const measured = await runCode(code, { tsx: false, nodeFlags: [...allowed, '--allow-fs-read=/proc/self/'] });
      expect(lastJson(measured), measured.stderr).to.deep.equal([{ verdict: 'clean' }, { verdict: 'clean' }]);
    });
  });

  describe('4d. Linux without /proc (a container or chroot that does not mount it)', () => {
    it('a check that judges what only /proc shows refuses, saying what to leave out; what is left is measured', async function () {
      if (process.platform !== 'linux') this.skip();
      needNamespaces(this, WITHOUT_PROC);
      const leaks = buildFixture('leaks');
      const code = `
        const { Checkers, checkLeak } = require(${JSON.stringify(path.join(root, 'dist'))});
        const { doctor } = require(${JSON.stringify(path.join(root, 'dist', 'doctor.js'))});
        const leaks = require(${JSON.stringify(leaks)});
        const metrics = ['heap', 'mmap', 'v8heap', 'external'];
        const outcome = (report) => ({ verdict: report.verdict, metrics: report.metrics });
        const failure = (err) => ({ name: err.name, message: err.message });
        (async () => {
          const outcomes = [];
          for (const [fn, options] of [
            [() => {}, {}],
            [() => {}, { metrics }],
            [() => {}, { metrics, checkers: Checkers.all().exclude('fds', 'threads') }],
            [() => leaks.mallocLeak(64), { metrics, checkers: Checkers.all().exclude('fds', 'threads') }],
          ]) {
            outcomes.push(await checkLeak(fn, { verbosity: 0, ...options }).then(outcome, failure));
          }
          outcomes.push(doctor().split('\\n').filter((line) => /^ {2}(process|advice) /.test(line)));
          console.log(JSON.stringify(outcomes));
        })();`;
      const result = await runCode(code, { tsx: false, launcher: WITHOUT_PROC, nodeFlags: QUIET_NODE_FLAGS, env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES }, timeoutMs: 60_000 });
      expect(result.code, result.stderr).to.equal(0);
      const [defaults, resources, measured, leak, doctorLines] = lastJson(result) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, string[]];
      const unreadable = 'cannot read /proc/self/statm (is /proc mounted?)';
      // The defaults judge vms, which the probe reads from /proc/self/statm here.
      expect(defaults.name, JSON.stringify(defaults)).to.equal('UnsupportedPlatformError');
      expect(defaults.message).to.include(unreadable).and.include('name the metrics to judge without vms and uss');
      // The fds and threads checkers fall back to the probe's reading, which is refused the same way.
      expect(resources.name, JSON.stringify(resources)).to.equal('UnsupportedPlatformError');
      expect(resources.message).to.include(unreadable).and.include("Checkers.all().exclude('fds', 'threads')");
      // node's own rss read needs /proc/self/stat too: the metrics measured leave it out, and nothing throws raw.
      expect(measured).to.deep.equal({ verdict: 'clean', metrics: ['heap', 'mmap', 'v8heap', 'external'] });
      expect(leak.name, JSON.stringify(leak)).to.equal('MemoryLeakError');
      expect(doctorLines[0]).to.match(/^ {2}process +cannot be read: .*\/proc\/self\/statm/);
      expect(doctorLines[1]).to.include('name metrics without vms and uss, and leave those checkers out');
    });
  });

  describe('5. class suites do what they look like', () => {
    it('metrics, maxMs and allowInconclusive work as fields; trimCallback as a method, in TypeScript and JavaScript', async () => {
      const ts = await runSuite(fixture('fields-suite.ts'));
      expect(ts.results.map((result) => [result.title, result.state])).to.deep.equal([
        ['testMetricsField', 'passed'],
        ['testTrimCallbackMethod', 'passed'],
        ['testMaxMsField', 'passed'],
        ['testMaxMsField', 'passed'],
      ]);
      expect(ts.events).to.include('metrics:v8heap,external:false');
      expect(ts.events).to.include('trim:clean');
      expect(ts.events.filter((event) => event === 'maxMs:true:true')).to.have.length(1); // the second one passes: allowInconclusive
      const js = await runSuite(fixture('fields-suite.js'));
      expect(js.results.map((result) => result.state)).to.deep.equal(['passed']);
      expect(js.events).to.include('js:clean:v8heap');
    });

    it('every option name is a class field, except the two the class sets per test', () => {
      expect([...CLASS_FIELD_NAMES, 'name', 'signal'].sort()).to.deep.equal([...OPTION_NAMES].sort());
    });

    for (const [misuse, message] of [
      ['arrow', /ArrowTests\.register\(\): testArrow is a field holding a function; write each test as a method/],
      ['empty', /NoTests\.register\(\): the class has no tests/],
      ['twice', /Twice\.register\(\): the class is registered already/],
      ['generator', /GeneratorTests\.register\(\): testLeak is an async generator function: a call of it runs none of its body; write it as `async testLeak\(\) \{…\}`/],
      ['generator hook', /GeneratorHook\.register\(\): setUp is a generator function: .*`async setUp\(\) \{…\}`/],
    ] as const) {
      const refused = {
        arrow: 'arrow-function test fields',
        empty: 'a class with no tests',
        twice: 'a second register()',
        generator: 'a test method written as a generator (mocha would pass it with none of its body run)',
        'generator hook': 'a hook written as a generator',
      }[misuse];
      it(`register() refuses ${refused}`, async () => {
        const run = await runSuite(fixture('register-refusals.ts'), { env: { ...process.env, NODELEAK_MISUSE: misuse } });
        expect(run.loadError?.name).to.equal('InvalidArgumentError');
        expect(run.loadError?.message).to.match(message);
      });
    }
  });

  describe('6. one check at a time, per process', () => {
    it('checks started at once in three worker threads: one runs, the others fail naming it and the fix', async () => {
      const result = await runScript(fixture('threads-check.ts'), { timeoutMs: 120_000 });
      const outcomes = lastJson(result) as { outcome: string; message?: string }[];
      const refused = outcomes.filter((outcome) => outcome.outcome === 'ConcurrentCheckError');
      expect(refused, result.stderr).to.have.length(2);
      for (const { message } of refused) {
        expect(message).to.match(/the check of anonymous function is still running, and it runs in another thread of this process.*pool: 'forks'/);
      }
      expect(outcomes.filter((outcome) => outcome.outcome === 'clean')).to.have.length(1);
      expect(result.stderr).to.include('other threads of this process may run JavaScript while it is measured (this check runs in a worker thread');
    });

    it('a worker thread started while the test files load (esbuild\'s, under tsx) is named when a check starts', async () => {
      // esbuild's own worker (tsx on a cold cache) would be counted too: the child compiles without it.
      const run = await runSuite(fixture('early-worker.ts'), { hooks: true, env: { ...process.env, ESBUILD_WORKER_THREADS: '0' } });
      expect(resultOf(run, 'is named by the check').state).to.equal('passed');
      expect(run.events.join('\n')).to.include('other threads of this process may run JavaScript while it is measured (1 worker thread is running)');
    });
  });

  describe('7. errors from another realm', () => {
    const ForeignTypeError = vm.runInNewContext('TypeError') as typeof TypeError;

    it('match by the class-name chain when instanceof fails: Node-core and native errors against a vm realm class', async () => {
      const fromNodeCore = (): void => {
        (null as unknown as { x: number }).x = 1;
      };
      const report = await checkLeakThrows(ForeignTypeError, fromNodeCore, { verbosity: 0 });
      expect(report.verdict).to.equal('clean');
      const fromOtherRealm = (): void => {
        throw new ForeignTypeError('made in the vm realm');
      };
      expect((await checkLeakThrows(TypeError, fromOtherRealm, { verbosity: 0 })).verdict).to.equal('clean');
      expect((await checkLeakThrows(Error, fromOtherRealm, { verbosity: 0 })).verdict).to.equal('clean');
    });

    it('says so when neither matches', async () => {
      const err = await rejection(checkLeakThrows(ForeignTypeError, () => [].length.toFixed(1000), { verbosity: 0 }));
      expect(err).to.be.instanceOf(UnexpectedBehaviourError);
      expect((err as Error).message).to.match(/but it threw RangeError: .* \(neither instanceof TypeError nor named so along its class chain: RangeError → Error\)/);
    });
  });

  describe('8. resource checks blame only what the call left open', () => {
    const LIBUV = Checkers.only('libuv');
    const TRIALS = 20;

    it(`a debounce timer re-armed on every call is not a handle left open (${TRIALS} checks)`, async () => {
      let timer: NodeJS.Timeout | undefined;
      const debounced = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {}, 60_000).unref();
      };
      const refDebounced = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {}, 60_000);
      };
      try {
        for (let trial = 0; trial < TRIALS; trial++) {
          const options: LeakOptions = { checkers: LIBUV, verbosity: 0, warmupTimes: 1 + (trial % 3) };
          expect((await checkLeak(trial % 2 ? debounced : refDebounced, options)).verdict).to.equal('clean');
        }
      } finally {
        clearTimeout(timer);
      }
    });

    it(`unrelated heartbeats firing during the check are not the call's, and a real timer leak beside them is caught (${TRIALS} checks each)`, async () => {
      // Heartbeats that re-arm every 300 ms, staggered so one fires every few ms: a timer re-armed during the call
      // outlives the resource check's grace, as a real heartbeat's does.
      let beating = true;
      const heartbeats = new Map<number, NodeJS.Timeout>();
      const beat = (index: number): void => {
        if (beating) heartbeats.set(index, setTimeout(() => beat(index), 300));
      };
      for (let index = 0; index < 60; index++) heartbeats.set(index, setTimeout(() => beat(index), index * 5));
      const left: NodeJS.Timeout[] = [];
      try {
        await sleep(300);
        for (let trial = 0; trial < TRIALS; trial++) {
          expect((await checkLeak(() => JSON.parse('[1]'), { checkers: LIBUV, verbosity: 0 })).verdict).to.equal('clean');
          const err = await rejection(checkLeak(() => left.push(setInterval(() => {}, 60_000).unref()), { checkers: LIBUV, verbosity: 0 }));
          expect(err).to.be.instanceOf(UnclosedLibuvResourceError);
          expect((err as UnclosedLibuvResourceError).resources).to.deep.equal(['Timeout']);
          expect((err as UnclosedLibuvResourceError).unref).to.equal(true);
        }
      } finally {
        beating = false;
        heartbeats.forEach((timer) => clearTimeout(timer));
        left.forEach(clearInterval);
      }
    });

    it('calls a handle unref()\'d only when hasRef() is false', async () => {
      const timers: NodeJS.Timeout[] = [];
      try {
        const err = await rejection(checkLeak(() => timers.push(setInterval(() => {}, 60_000)), { checkers: LIBUV, verbosity: 0 }));
        expect((err as UnclosedLibuvResourceError).unref).to.equal(false);
        expect((err as Error).message).to.equal('one call left 1 libuv handle or request alive: Timeout');
      } finally {
        timers.forEach(clearInterval);
      }
    });
  });

  it('quiet and plain processes give the same integrity verdicts (the unawaited class suite in a quiet child)', async () => {
    const run = await runSuite(fixture('unawaited-class.ts'), { env: { ...process.env, GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES }, nodeFlags: QUIET_NODE_FLAGS });
    expect(resultOf(run, 'testNotAwaited').error?.name).to.equal('UnawaitedCheckError');
    expect(resultOf(run, 'testAfterIt').state).to.equal('passed');
  });
});
