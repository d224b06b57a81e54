// Run by test/integrity.test.ts with nodeleak's root hooks: a worker thread started while the test files load (as
// esbuild's, which tsx starts on a cold cache), idle and unref()'d, is named when a check starts.
import { Worker } from 'node:worker_threads';
import { checkLeak } from '../../lib';

const events: string[] = ((globalThis as { harnessEvents?: string[] }).harnessEvents ??= []);
const idle = new Worker('setInterval(() => {}, 1000)', { eval: true });
idle.unref();

describe('a worker started at load', () => {
  it('is named by the check', async () => {
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((text: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof text === 'string' && text.includes('may run JavaScript')) events.push(text.trim());
      return (write as (...args: unknown[]) => boolean)(text, ...rest);
    }) as typeof process.stderr.write;
    try {
      await checkLeak(() => {}, { allowInconclusive: true });
    } finally {
      process.stderr.write = write;
      await idle.terminate();
    }
  });
});
