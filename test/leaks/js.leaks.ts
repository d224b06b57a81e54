// A JS-level leak (objects kept reachable from a module-level array) beside its clean twin:
// the V8 heap after GC grows, the C heap need not.
import { MemoryLeakTestCase } from '../../lib';

const hoard: object[] = [];

class JsLeaks extends MemoryLeakTestCase {
  async testGrowingArrayLeak() {
    await this.execute(() => {
      hoard.push({ id: hoard.length, label: `item ${hoard.length}` });
    });
  }
  async testDroppedArrayClean() {
    await this.execute(() => {
      const local: object[] = [];
      local.push({ id: local.length, label: `item ${local.length}` });
      return local.length;
    });
  }
}

JsLeaks.register();
