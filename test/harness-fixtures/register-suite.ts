// A suite for test/harness-register.test.ts: run in a child by mocha's programmatic API (run-mocha.ts).
import { Checkers, MemoryLeakTestCase } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
const kept: number[][] = [];

class Base extends MemoryLeakTestCase {
  override times = 100;
  override warmupTimes = 5;
  override retries = 3; // four rounds at least: what decide() needs to call a leak
  override verbosity = 0 as const;

  async testFromBase(): Promise<void> {
    events.push('testFromBase');
    await this.execute(() => JSON.stringify({ a: 1 }));
  }
}

class RegisterSuite extends Base {
  static override skip = ['testSkipped'];
  static override timeout = 45_000;
  static override auto = {
    autoClean: () => [1, 2, 3].map((n) => n * 2),
    autoLeak: () => kept.push(new Array(128).fill(0)),
  };

  static override setUpClass(): void {
    events.push('setUpClass');
  }
  static override tearDownClass(): void {
    events.push('tearDownClass');
  }
  override setUp(): void {
    events.push('setUp');
  }
  override async tearDown(): Promise<void> {
    await Promise.resolve();
    events.push('tearDown');
  }

  async testClean(): Promise<void> {
    events.push('testClean');
    const report = await this.execute(() => JSON.parse('[1,2,3]'));
    events.push(`testClean:${report.verdict}`);
  }
  async testLeak(): Promise<void> {
    events.push('testLeak');
    await this.execute(() => kept.push(new Array(128).fill(0)));
  }
  async testOverride(): Promise<void> {
    events.push('testOverride');
    await this.execute(() => kept.push(new Array(128).fill(0)), { checkers: Checkers.exclude('memory') });
  }
  async testThrows(): Promise<void> {
    await this.executeThrows(TypeError, () => {
      throw new TypeError('expected');
    });
  }
  async testSkipped(): Promise<void> {
    events.push('testSkipped ran');
  }
  helper(): void {
    events.push('helper ran');
  }
}

RegisterSuite.register();
