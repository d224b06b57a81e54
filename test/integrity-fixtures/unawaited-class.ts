// Run by test/integrity.test.ts: a class whose first test starts a check it does not await.
import { MemoryLeakTestCase } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
const kept: number[][] = [];

class Unawaited extends MemoryLeakTestCase {
  override verbosity = 0 as const;

  async testNotAwaited(): Promise<void> {
    void this.execute(() => kept.push(new Array(128).fill(0)));
  }
  async testAfterIt(): Promise<void> {
    const report = await this.execute(() => JSON.parse('[1,2,3]'));
    events.push(`testAfterIt:${report.verdict}`);
  }
}

Unawaited.register();
