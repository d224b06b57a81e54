// Fake timers (sinon's, and jest's and vitest's, all @sinonjs/fake-timers) do not stop a check or bend its time budget:
// nodeleak keeps the real timers it took when it was loaded, and refuses, saying why, when they were fake already then.
// Each case runs in a child of its own: fake timers replace process-wide globals. (jest and vitest: runners.test.ts.)
import { expect } from 'chai';
import path from 'node:path';
import { QUIET_GLIBC_TUNABLES, QUIET_NODE_FLAGS, lastJson, runCode } from './helpers/child';

const lib = path.join(__dirname, '..', 'lib', 'index.ts');
const fakeTimers = require.resolve('@sinonjs/fake-timers');
const quiet = { nodeFlags: QUIET_NODE_FLAGS, env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES }, timeoutMs: 60_000 };

describe('fake timers', function () {
  this.timeout(90_000);

  it('installed after nodeleak was loaded, they fake every timer, Date and performance.now(), and checks still give their verdicts in real time', async () => {
    const result = await runCode(
      `
      const nodeleak = require(${JSON.stringify(lib)});
      const clock = require(${JSON.stringify(fakeTimers)}).withGlobal(globalThis).install();
      const kept = [];
      const outcome = (promise) => promise.then((report) => report.verdict, (err) => err.name);
      (async () => {
        const fakeStart = performance.now();
        const clean = await outcome(nodeleak.checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 }));
        const leak = await outcome(nodeleak.checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 }));
        const started = process.uptime();
        const busy = () => { const end = process.uptime() + 0.002; while (process.uptime() < end); };
        const slow = await outcome(nodeleak.checkLeak(busy, { verbosity: 0, maxMs: 400 }));
        const slowMs = (process.uptime() - started) * 1000;
        const fakeElapsed = performance.now() - fakeStart;
        clock.uninstall();
        console.log(JSON.stringify({ clean, leak, slow, slowMs, fakeElapsed }));
      })();
      `,
      quiet,
    );
    const out = lastJson(result) as { clean: string; leak: string; slow: string; slowMs: number; fakeElapsed: number };
    expect(out.fakeElapsed, 'the fake clock stood still: the fakes were in force').to.equal(0);
    expect(out.clean).to.equal('clean');
    expect(out.leak).to.equal('MemoryLeakError');
    // 2 ms a call: 50 warm-up calls and a round of 300 do not fit in 400 ms of real time.
    expect(out.slow).to.equal('InconclusiveError');
    expect(out.slowMs).to.be.below(2000);
  });

  it('installed before nodeleak was loaded, a check refuses with FakeTimersError before any call, and says what to do', async () => {
    const result = await runCode(
      `
      const clock = require(${JSON.stringify(fakeTimers)}).withGlobal(globalThis).install();
      const nodeleak = require(${JSON.stringify(lib)});
      let calls = 0;
      nodeleak.checkLeak(function parse() { calls = calls + 1; }, { verbosity: 0 }).then(
        () => console.log(JSON.stringify({ resolved: true })),
        (err) => {
          clock.uninstall();
          console.log(JSON.stringify({ isClass: err instanceof nodeleak.FakeTimersError, code: err.code, faked: err.faked, calls, message: err.message }));
        },
      );
      `,
      quiet,
    );
    const out = lastJson(result) as { isClass: boolean; code: string; faked: string[]; calls: number; message: string };
    expect(out.isClass, JSON.stringify(out)).to.equal(true);
    expect(out.code).to.equal('NODELEAK_FAKE_TIMERS');
    expect(out.faked).to.deep.equal(['setImmediate', 'setTimeout', 'clearTimeout']);
    expect(out.calls).to.equal(0);
    expect(out.message).to.match(/^cannot check parse: setImmediate, setTimeout, clearTimeout were fake timers when nodeleak was loaded .* Import nodeleak before the fake timers are installed/);
  });
});
