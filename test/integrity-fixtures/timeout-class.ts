// Run by test/integrity.test.ts: checks of a slow async function in tests with a short timeout. The function counts
// the calls that reach it after tearDown ran (a use-after-free with a native addon whose tearDown frees its state).
import FakeTimers from '@sinonjs/fake-timers';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { MemoryLeakTestCase } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
let tornDown = false;
let callsAfterTearDown = 0;
const slow = async (): Promise<void> => {
  if (tornDown) callsAfterTearDown++;
  await sleep(30);
};
const pbkdf2 = promisify(crypto.pbkdf2);
/** Slow without a timer: a key derivation on libuv's thread pool. */
const slowWithoutTimers = async (): Promise<void> => {
  if (tornDown) callsAfterTearDown++;
  await pbkdf2('password', 'salt', 20_000, 32, 'sha256');
};
let fakeClock: { uninstall(): void } | null = null;

class Timeouts extends MemoryLeakTestCase {
  static override timeout = 1500;
  override verbosity = 0 as const;

  override setUp(): void {
    tornDown = false;
  }
  override tearDown(): void {
    fakeClock?.uninstall();
    fakeClock = null;
    tornDown = true;
    events.push('tearDown');
  }

  /** Its own budget is longer than the test: the test scope must stop it before mocha's timeout. */
  async testStoppedBeforeTimeout(): Promise<void> {
    await this.execute(slow, { maxMs: 60_000 });
  }
  /** Its fourth call never settles: the scope stops it all the same. */
  async testCallNeverSettles(): Promise<void> {
    let calls = 0;
    await this.execute(() => (++calls === 4 ? new Promise<void>(() => {}) : Promise.resolve()), { maxMs: 60_000 });
  }
  /** Fake timers installed in the test (every timer, Date and performance.now()) do not keep the scope from stopping it. */
  async testStoppedUnderFakeTimers(): Promise<void> {
    fakeClock = FakeTimers.install();
    await this.execute(slowWithoutTimers, { maxMs: 60_000 });
  }
  /** The default budget comes from the timeout and covers the warm-up. */
  async testDefaultBudget(): Promise<void> {
    await this.execute(slow);
  }
}

/** The test after them, in the same process; with the default timeout, so that a loaded machine leaves its check time. */
class AfterTimeouts extends MemoryLeakTestCase {
  override verbosity = 0 as const;

  static override tearDownClass(): void {
    events.push(`callsAfterTearDown:${callsAfterTearDown}`);
  }

  async testNext(): Promise<void> {
    events.push(`testNext:${callsAfterTearDown}`);
    await this.execute(() => JSON.parse('[1]'));
  }
}

Timeouts.register();
AfterTimeouts.register();
