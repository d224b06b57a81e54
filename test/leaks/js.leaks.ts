// JS-level leaks beside their clean twins: objects kept reachable from a module-level array (the V8 heap after GC
// grows, the C heap need not), and a resizable ArrayBuffer that keeps growing (V8 reserved its address space when the
// buffer was made: under Node 20 and 22 its pages show only in the process's memory; Node 24 counts them in external).
import { MemoryLeakTestCase } from '../../lib';
import { resizableBuffer } from '../helpers/resizable';

const hoard: object[] = [];

const growing = resizableBuffer(1 << 30);
const reused = resizableBuffer(1 << 30);

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
  async testResizableArrayBufferLeak() {
    await this.execute(() => {
      const end = growing.byteLength;
      growing.resize(end + 1024);
      new Uint8Array(growing).fill(1, end);
    });
  }
  async testResizableArrayBufferClean() {
    await this.execute(() => {
      reused.resize(1024);
      new Uint8Array(reused).fill(1);
      reused.resize(0);
    });
  }
}

JsLeaks.register();
