// Run by test/integrity.test.ts: NODELEAK_MISUSE names the misuse of register() to load.
import { MemoryLeakTestCase } from '../../lib';

const misuse = process.env.NODELEAK_MISUSE;

if (misuse === 'arrow') {
  class ArrowTests extends MemoryLeakTestCase {
    testArrow = async (): Promise<void> => {};
    async testMethod(): Promise<void> {}
  }
  ArrowTests.register();
} else if (misuse === 'empty') {
  class NoTests extends MemoryLeakTestCase {
    helper(): void {}
  }
  NoTests.register();
} else if (misuse === 'twice') {
  class Twice extends MemoryLeakTestCase {
    async testOnce(): Promise<void> {}
  }
  Twice.register();
  Twice.register();
} else if (misuse === 'generator') {
  const kept: Buffer[] = [];
  class GeneratorTests extends MemoryLeakTestCase {
    // eslint-disable-next-line require-yield -- the misuse under test: a test written as a generator by mistake
    async *testLeak(): AsyncGenerator<never> {
      await this.execute(() => kept.push(Buffer.alloc(1024)));
    }
  }
  GeneratorTests.register();
} else if (misuse === 'generator hook') {
  class GeneratorHook extends MemoryLeakTestCase {
    // @ts-expect-error -- TypeScript refuses a generator hook; JavaScript does not, and register() must
    override *setUp(): Generator<never> {}
    async testOnce(): Promise<void> {}
  }
  GeneratorHook.register();
}
