// A suite for test/harness-register.test.ts: static only keeps one test.
import { MemoryLeakTestCase } from '../../lib';

class OnlySuite extends MemoryLeakTestCase {
  static override only = ['testChosen'];
  override verbosity = 0 as const;

  async testChosen(): Promise<void> {
    await this.execute(() => 1 + 1);
  }
  async testOther(): Promise<void> {
    throw new Error('testOther must not run');
  }
}

OnlySuite.register();
