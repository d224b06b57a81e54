// Run by test/integrity.test.ts: three worker threads start a check of a clean function at the same moment.
// Prints what each one's check ended with, as JSON.
import { Worker } from 'node:worker_threads';

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
require(${JSON.stringify(require.resolve('tsx/cjs'))});
const { checkLeak } = require(${JSON.stringify(require.resolve('../../lib'))});
const flag = new Int32Array(workerData);
Atomics.add(flag, 1, 1);
Atomics.wait(flag, 0, 0); // every worker starts its check at once
checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 1, times: 100 }).then(
  (report) => parentPort.postMessage({ outcome: report.verdict }),
  (err) => parentPort.postMessage({ outcome: err.name, message: err.message }),
);`;

const shared = new SharedArrayBuffer(8);
const flag = new Int32Array(shared);
const results: Promise<{ outcome: string; message?: string }>[] = [];
for (let i = 0; i < 3; i++) {
  const worker = new Worker(workerCode, { eval: true, workerData: shared });
  results.push(new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)));
}
const release = setInterval(() => {
  if (Atomics.load(flag, 1) < 3) return;
  clearInterval(release);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}, 5);
void Promise.all(results).then((outcomes) => process.stdout.write(`${JSON.stringify(outcomes)}\n`));
