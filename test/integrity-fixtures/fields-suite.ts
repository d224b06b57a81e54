// Run by test/integrity.test.ts: every setting as a class field, trimCallback as a method.
import { InconclusiveError, MemoryLeakTestCase } from '../../lib';
import type { MetricName } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);

class Fields extends MemoryLeakTestCase {
  override verbosity = 0 as const;
  override metrics: readonly MetricName[] = ['v8heap', 'external'];
  readonly cache: number[][] = [];

  override trimCallback(): void {
    this.cache.length = 0; // `this` is the instance: the method is bound
  }

  async testMetricsField(): Promise<void> {
    const report = await this.execute(() => JSON.parse('[1]'));
    events.push(`metrics:${report.judged.join(',')}:${report.cHeapJudged}`);
  }
  async testTrimCallbackMethod(): Promise<void> {
    const report = await this.execute(() => this.cache.push(new Array(128).fill(0)));
    events.push(`trim:${report.verdict}`);
  }
}

class MaxMsField extends MemoryLeakTestCase {
  override verbosity = 0 as const;
  override maxMs = 400;

  async testMaxMsField(): Promise<void> {
    const started = performance.now();
    const busy = (): void => {
      const until = performance.now() + 1;
      while (performance.now() < until);
    };
    try {
      await this.execute(busy);
    } catch (err) {
      events.push(`maxMs:${err instanceof InconclusiveError}:${performance.now() - started < 1500}`);
    }
  }
}

class AllowInconclusiveField extends MaxMsField {
  override allowInconclusive = true;
}

Fields.register();
MaxMsField.register();
AllowInconclusiveField.register();
