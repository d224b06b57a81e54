// npm run bench:where: wall time of the demo suite (examples/) through `npx nodeleak` and `npx nodeleak --where`,
// alternating, each in a fresh process. --where adds jemalloc (preloaded, profiler ready but inactive) to every
// check and two profiled rounds to each C-heap leak found.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const trials = Number(process.argv[2] ?? 5);

function timed(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args, 'examples/'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 1 || !/5 passing/.test(result.stdout)) throw new Error(`unexpected demo outcome:\n${result.stdout}\n${result.stderr}`);
  return performance.now() - started;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const plain: number[] = [];
const where: number[] = [];
for (let trial = 0; trial < trials; trial++) {
  plain.push(timed([]));
  where.push(timed(['--where']));
}
const line = (label: string, values: number[]): string =>
  `${label.padEnd(28)} median ${Math.round(median(values))} ms (${values.map((value) => Math.round(value)).join(', ')})`;
console.log(`demo suite (6 tests, 1 C-heap leak), ${trials} alternating trials, ${new Date().toISOString().slice(0, 10)}`);
console.log(line('npx nodeleak examples/', plain));
console.log(line('npx nodeleak --where examples/', where));
console.log(`overhead of --where: ${(median(where) / median(plain)).toFixed(2)}×`);
