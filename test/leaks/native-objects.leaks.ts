// Leaks through N-API objects and the libuv thread pool, beside their clean twins.
import { MemoryLeakTestCase } from '../../lib';
import { leaks } from './fixture';

class NativeObjectLeaks extends MemoryLeakTestCase {
  async testRefLeak() {
    await this.execute(() => leaks.refLeak());
  }
  async testRefClean() {
    await this.execute(() => leaks.refClean());
  }
  // The payload is freed (or not) in a finalizer, which runs only after the event loop turns.
  async testWrapLeak() {
    await this.execute(() => leaks.wrapLeak());
  }
  async testWrapClean() {
    await this.execute(() => leaks.wrapClean());
  }
  // malloc on a pool thread (execute), forgotten on the main thread (complete).
  async testAsyncLeak() {
    await this.execute(() => leaks.asyncLeak(64));
  }
  async testAsyncClean() {
    await this.execute(() => leaks.asyncClean(64));
  }
}

NativeObjectLeaks.register();
