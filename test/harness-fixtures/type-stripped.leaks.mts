// Run by harness-cli.test.ts through nodeleak with no loader: Node 22.18 and later strip the types themselves. Both
// modules come through createRequire, as a user's suite gets a .node addon on Node 22 (which cannot import one).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { MemoryLeakTestCase } = require('nodeleak') as typeof import('../../lib/index.js');
const leaks = require(process.env.NODELEAK_LEAKS_FIXTURE as string) as { mallocLeak(bytes: number): void; mallocClean(bytes: number): void };

class TypeStripped extends MemoryLeakTestCase {
  override warmupTimes = 60;

  async testClean(): Promise<void> {
    await this.execute(() => leaks.mallocClean(64));
  }

  async testLeak(): Promise<void> {
    await this.execute(() => leaks.mallocLeak(64));
  }
}
TypeStripped.register();
