// Leaks of OS resources (mappings, descriptors, threads), beside their clean twins.
import { MemoryLeakTestCase } from '../../lib';
import { leaks } from './fixture';

class NativeResourceLeaks extends MemoryLeakTestCase {
  // Parked threads would otherwise outlive the suite.
  override tearDown() {
    leaks.stopThreads();
  }
  // 64 KiB mappings, outside the allocator: only the process's memory figures see them.
  async testMmapLeak() {
    await this.execute(() => leaks.mmapLeak(), { times: 20 });
  }
  async testMmapClean() {
    await this.execute(() => leaks.mmapClean(), { times: 20 });
  }
  // 1 KiB a call, in pages made usable inside a region reserved up front: vms counted the region before the first call.
  async testReservedPagesLeak() {
    await this.execute(() => leaks.reservedLeak(1024));
  }
  async testReservedPagesClean() {
    await this.execute(() => leaks.reservedClean(1024));
  }
  async testFdLeak() {
    await this.execute(() => leaks.fdLeak(), { times: 20 });
  }
  async testFdClean() {
    await this.execute(() => leaks.fdClean(), { times: 20 });
  }
  // Each leaked thread keeps an 8 MiB stack mapping: keep the count small.
  async testThreadLeak() {
    await this.execute(() => leaks.threadLeak(), { times: 5, warmupTimes: 2 });
  }
  async testThreadClean() {
    await this.execute(() => leaks.threadClean(), { warmupTimes: 2 }); // the default budget: five-call rounds bound nothing
  }
}

NativeResourceLeaks.register();
