// Run by test/integrity.test.ts with nodeleak's root hooks (run-mocha.ts --hooks, or the CLI): plain mocha tests
// that start checks without awaiting them, and the tests after them.
import * as chai from 'chai';
import { expect } from 'chai';
import { InconclusiveError, checkLeak } from '../../lib';
import nodeleakChai from '../../lib/chai';

chai.use(nodeleakChai);
const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
const kept: number[][] = [];
const leak = (): number => kept.push(new Array(128).fill(0));

describe('unawaited checks', function () {
  this.timeout(60_000);

  it('checkLeak without await', () => {
    void checkLeak(leak, { verbosity: 0 });
  });

  it('chai without await', () => {
    void expect(leak).to.not.leakMemory({ verbosity: 0 });
  });

  it('chai positive form without await', () => {
    void expect(leak).to.leakMemory({ verbosity: 0 });
  });

  it('a check raced against a timer', async () => {
    // Promise.race awaits the check's promise (then() is called), but the test ends with the check still running.
    await Promise.race([checkLeak(leak, { verbosity: 0 }), new Promise((resolve) => setTimeout(resolve, 10))]);
  });

  it('a clean check after them', async () => {
    const report = await checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 });
    events.push(`clean:${report.verdict}:${report.undecided.length}`);
  });

  it('an awaited chai positive form', async () => {
    const found = await expect(leak).to.leakMemory({ verbosity: 0 });
    events.push(`positive:${(found as Error).name}`);
  });

  it('takes its budget from the test timeout', async function () {
    this.timeout(2500);
    const started = performance.now();
    const slow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
    try {
      await checkLeak(slow, { verbosity: 0 });
      events.push('budget:passed');
    } catch (err) {
      events.push(`budget:${(err as Error).name}:${err instanceof InconclusiveError}:${Math.round(performance.now() - started) < 2500}`);
    }
  });
});
