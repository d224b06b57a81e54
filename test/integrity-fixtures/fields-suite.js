// Run by test/integrity.test.ts: the same settings in plain JavaScript, trimCallback as a method.
const { MemoryLeakTestCase } = require('../../lib');

const events = (globalThis.harnessEvents ??= []);

class JsFields extends MemoryLeakTestCase {
  verbosity = 0;
  metrics = ['v8heap'];
  cache = [];

  trimCallback() {
    this.cache.length = 0;
  }

  async testTrimCallbackMethod() {
    const report = await this.execute(() => this.cache.push(new Array(128).fill(0)));
    events.push(`js:${report.verdict}:${report.judged.join(',')}`);
  }
}

JsFields.register();
