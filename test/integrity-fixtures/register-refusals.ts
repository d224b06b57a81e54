// Run by test/integrity.test.ts: argv[2] names the misuse of register() to load.
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
}
