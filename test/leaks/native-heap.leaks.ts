// Native heap leaks of several sizes beside their clean twins. Run by test/leaks.test.ts
// (quiet CLI and plain mocha); the *Leak tests must fail, the *Clean tests must pass.
import { MemoryLeakTestCase } from '../../lib';
import { leaks } from './fixture';

class NativeHeapLeaks extends MemoryLeakTestCase {
  // malloc(1) and malloc(16) both take glibc's smallest chunk: 32 bytes per call.
  async testMalloc1Leak() {
    await this.execute(() => leaks.mallocLeak(1));
  }
  async testMalloc1Clean() {
    await this.execute(() => leaks.mallocClean(1));
  }
  async testMalloc16Leak() {
    await this.execute(() => leaks.mallocLeak(16));
  }
  async testMalloc16Clean() {
    await this.execute(() => leaks.mallocClean(16));
  }
  async testMalloc1KiBLeak() {
    await this.execute(() => leaks.mallocLeak(1024));
  }
  async testMalloc1KiBClean() {
    await this.execute(() => leaks.mallocClean(1024));
  }
  // 1 MiB blocks are mmap'd one by one: a few calls show the leak, and many would eat the machine's memory. The clean
  // twin frees each block, so it takes the default budget, which bounds every metric (five-call rounds cannot).
  async testMalloc1MiBLeak() {
    await this.execute(() => leaks.mallocLeak(1 << 20), { times: 5, warmupTimes: 2 });
  }
  async testMalloc1MiBClean() {
    await this.execute(() => leaks.mallocClean(1 << 20), { warmupTimes: 2 });
  }
  // 3.2 bytes per call on average: one 32-byte chunk every 10th call.
  async testEvery10thLeak() {
    await this.execute(() => leaks.every10thLeak());
  }
  async testEvery10thClean() {
    await this.execute(() => leaks.every10thClean());
  }
}

NativeHeapLeaks.register();
