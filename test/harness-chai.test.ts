import * as chai from 'chai';
import { expect } from 'chai';
import nodeleakChai from '../lib/chai';
import { InvalidArgumentError, LeakError, MemoryLeakError, UnclosedLibuvResourceError } from '../lib';
import type { LeakReport } from '../lib';
import { expectClean, rejection } from './helpers/verdicts';
import { FAST } from './helpers/fast';

chai.use(nodeleakChai);

// Rounds of 100 calls; retries 5 gives a plain process (npm test's mocha) a budget of 204,700 calls, room for a clean
// function to be bounded (fewer would end in InconclusiveError), and at least the four rounds a leak verdict needs.


describe('nodeleak/chai', function () {
  this.timeout(60_000);

  it('resolves .not.leakMemory() with the report for a clean function', async () => {
    const report = (await expect(() => JSON.parse('{"a":1}')).to.not.leakMemory(FAST)) as LeakReport;
    expectClean(report);
  });

  it('rejects .not.leakMemory() with the LeakError found', async () => {
    const timers: NodeJS.Timeout[] = [];
    try {
      const err = await rejection(expect(() => timers.push(setInterval(() => {}, 60_000))).to.not.leakMemory({ ...FAST, warmupTimes: 0 }));
      expect(err).to.be.instanceOf(UnclosedLibuvResourceError);
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('resolves .leakMemory() with the leak, and rejects it with an AssertionError for a clean function', async () => {
    const kept: number[][] = [];
    const found = await expect(() => kept.push(new Array(128).fill(0))).to.leakMemory(FAST);
    expect(found).to.be.instanceOf(MemoryLeakError).and.instanceOf(LeakError);
    const err = await rejection(expect(() => 1 + 1).to.leakMemory(FAST));
    expect(err).to.be.instanceOf(chai.AssertionError);
    expect((err as Error).message).to.match(/^expected the function to leak, but it did not/);
  });

  it('checks a function that must throw with { throws: ErrorClass }', async () => {
    const report = (await expect(() => {
      throw new RangeError('expected');
    }).to.not.leakMemory({ ...FAST, throws: RangeError })) as LeakReport;
    expectClean(report);
  });

  it('passes bad options and the function’s own errors through, whether negated or not', async () => {
    expect(await rejection(expect(42).to.not.leakMemory())).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(expect(() => {}).to.leakMemory({ times: -1 }))).to.be.instanceOf(InvalidArgumentError);
    const thrown = new TypeError('own');
    expect(await rejection(expect(() => { throw thrown; }).to.leakMemory(FAST))).to.equal(thrown);
  });
});
