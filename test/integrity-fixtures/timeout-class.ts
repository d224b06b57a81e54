// Run by test/integrity.test.ts: checks of a slow async function in tests with a short timeout. The function counts
// the calls that reach it after tearDown ran (a use-after-free with a native addon whose tearDown frees its state).
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryLeakTestCase } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
let tornDown = false;
let callsAfterTearDown = 0;
const slow = async (): Promise<void> => {
  if (tornDown) callsAfterTearDown++;
  await sleep(30);
};

class Timeouts extends MemoryLeakTestCase {
  static override timeout = 1500;
  override verbosity = 0 as const;

  override setUp(): void {
    tornDown = false;
  }
  override tearDown(): void {
    tornDown = true;
    events.push('tearDown');
  }
  static override tearDownClass(): void {
    events.push(`callsAfterTearDown:${callsAfterTearDown}`);
  }

  /** Its own budget is longer than the test: the test scope must stop it before mocha's timeout. */
  async testStoppedBeforeTimeout(): Promise<void> {
    await this.execute(slow, { maxMs: 60_000 });
  }
  /** The default budget comes from the timeout and covers the warm-up. */
  async testDefaultBudget(): Promise<void> {
    await this.execute(slow);
  }
  async testNext(): Promise<void> {
    events.push(`testNext:${callsAfterTearDown}`);
    await this.execute(() => JSON.parse('[1]'));
  }
}

Timeouts.register();
