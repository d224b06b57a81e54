// register() called by plain node, not mocha: must throw a clear InvalidArgumentError.
import { MemoryLeakTestCase } from '../../lib';

class Outside extends MemoryLeakTestCase {
  async testNothing(): Promise<void> {}
}
try {
  Outside.register();
  process.stdout.write('registered\n');
} catch (err) {
  process.stdout.write(`${(err as Error).name}: ${(err as Error).message}\n`);
}
