// Run by test/harness-cli.test.ts through the nodeleak CLI: reports the process it runs in, and checks that worker
// threads and the libuv thread pool work there.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { isQuietProcess } from '../../lib';

describe('quiet probe', () => {
  it('reports its process', async () => {
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
    const fromWorker = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    const key = await new Promise<Buffer>((resolve, reject) =>
      crypto.pbkdf2('secret', 'salt', 1000, 32, 'sha256', (err, derived) => (err ? reject(err) : resolve(derived))),
    );
    // esbuild's synchronous API, as tsx calls it on a cold cache: with a worker thread it leaves one running. Threads
    // are told apart by id, since the worker's own thread may still be exiting while they are counted.
    const threads = (): string[] => (fs.existsSync('/proc/self/task') ? fs.readdirSync('/proc/self/task') : []);
    const threadsBefore = new Set(threads());
    (require('esbuild') as { transformSync(code: string, options: object): unknown }).transformSync('const n: number = 1', { loader: 'ts' });
    const report = {
      execArgv: process.execArgv,
      tunables: process.env.GLIBC_TUNABLES ?? null,
      mallocConf: process.env.MALLOC_CONF ?? null,
      quiet: isQuietProcess(),
      fromWorker,
      keyBytes: key.length,
      argv: process.argv.slice(2),
      esbuildWorkerThreads: process.env.ESBUILD_WORKER_THREADS ?? null,
      threadsEsbuildAdded: threads().filter((id) => !threadsBefore.has(id)).length,
    };
    process.stdout.write(`QUIET-PROBE ${JSON.stringify(report)}\n`);
  });
});
