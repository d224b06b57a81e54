// nodeleak demo: a class-based leak suite. One test calls an addon function that forgets to
// free() what it mallocs; nodeleak fails it with MemoryLeakError. Every other test passes.
//
//   npx nodeleak examples/      (from the repository, after npm install)
//
// The addon is nodeleak's own leak fixture (test/fixtures/leaks), built on first use.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { MemoryLeakTestCase } from '../lib'; // in your project: from 'nodeleak'
import { loadFixture } from '../test/helpers/fixtures';

interface Addon {
  mallocLeak(bytes: number): void;
  mallocClean(bytes: number): void;
}
const addon = loadFixture<Addon>('leaks');
const gzip = promisify(zlib.gzip);
const payload = Buffer.from('nodeleak '.repeat(100));

class DemoLeaks extends MemoryLeakTestCase {
  // Auto-generated tests: one it() per entry, each checked with execute().
  static override auto = {
    'JSON.parse': () => JSON.parse('{"a":[1,2,3],"b":{"c":"d"}}'),
    'Buffer.from': () => Buffer.from('hello'),
  };

  async testAddonFreesWhatItAllocates() {
    await this.execute(() => addon.mallocClean(64));
  }

  async testAddonForgetsToFree() {
    await this.execute(() => addon.mallocLeak(64)); // fails on purpose: 80 B/call stay on the C heap
  }

  async testGzipAsync() {
    await this.execute(() => gzip(payload));
  }

  async testBadArgumentThrows() {
    await this.executeThrows(TypeError, () => addon.mallocClean(0));
  }
}

DemoLeaks.register();
