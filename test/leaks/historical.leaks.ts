// A leak published addons shipped: node-addon-api 8.2.1's ObjectWrap left each object's napi_wrap() reference behind,
// and 8.2.2 fixed it. The same class, built against each (test/fixtures/object_wrap).
import { MemoryLeakTestCase } from '../../lib';
import { loadFixture } from '../helpers/fixtures';

type Counter = new () => { add(): number };
const built = (version: string): Counter => loadFixture<{ Counter: Counter }>('object_wrap', `object_wrap_${version}`).Counter;
const Counter821 = built('8_2_1');
const Counter822 = built('8_2_2');

class HistoricalLeaks extends MemoryLeakTestCase {
  async testObjectWrap821Leak() {
    await this.execute(() => new Counter821().add());
  }
  async testObjectWrap822Clean() {
    await this.execute(() => new Counter822().add());
  }
}

HistoricalLeaks.register();
