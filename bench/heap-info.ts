// heapInfo() cost benchmark: ns per call in an idle process, next to process.memoryUsage() and
// processInfo(), then how it grows with live chunks and with free chunks. glibc's mallinfo2()
// walks every free chunk of every arena under the arena lock, so fragmentation is what costs.
//
//   npm run bench:heap-info
//
// Blocks come from the test fixture addon test/fixtures/alloc (built on first use; needs a compiler).
import os from 'node:os';
import { heapInfo, heapTrim, processInfo } from '../lib';
import { binding } from '../lib/binding';
import { loadFixture } from '../test/helpers/fixtures';

interface AllocFixture {
  malloc(size: number): number;
  free(slot: number): void;
  liveCount(): number;
}

/** Live-block counts to measure at; a count the fixture's slot table cannot hold is reported as such. */
const liveCounts = [0, 10_000, 100_000, 250_000, 1_000_000];
/** 64 B requests are 80 B chunks (glibc fastbins when freed); 256 B requests are 272 B chunks (unsorted/small bins). */
const blockSizes = [64, 256];
/** Each sample times a batch long enough for the clock's resolution not to matter. */
const minBatchNs = 200_000;
const samples = 101;

interface Timing {
  median: number;
  p10: number;
  p90: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
}

/** ns per call of fn: batches sized to take >= minBatchNs, `samples` batches, median and spread. */
function timePerCall(fn: () => unknown): Timing {
  let batch = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    if (Number(process.hrtime.bigint() - start) >= minBatchNs) break;
    batch *= 2;
  }
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    perCall.push(Number(process.hrtime.bigint() - start) / batch);
  }
  perCall.sort((a, b) => a - b);
  return { median: quantile(perCall, 0.5), p10: quantile(perCall, 0.1), p90: quantile(perCall, 0.9) };
}

function ns(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(2)} ms`;
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${Math.round(value)} ns`;
}

function spread(timing: Timing): string {
  return `${ns(timing.p10)} … ${ns(timing.p90)}`;
}

function row(cells: string[], widths: number[]): string {
  return `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((r) => r[i].length)));
  console.log(row(header, widths));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(row(r, widths));
  console.log();
}

/** Allocates `count` blocks and returns their slots; when the fixture's slot table fills first, frees them and returns how many it held. */
function allocate(alloc: AllocFixture, count: number, size: number): { slots: number[] } | { capacity: number } {
  const slots: number[] = [];
  try {
    for (let i = 0; i < count; i++) slots.push(alloc.malloc(size));
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    for (const slot of slots) alloc.free(slot);
    return { capacity: slots.length };
  }
  return { slots };
}

function main(): void {
  const alloc = loadFixture<AllocFixture>('alloc');
  heapTrim();

  console.log(`heapInfo() cost — Node ${process.version}, ${process.platform}-${process.arch}, ${heapInfo().allocator}, ` +
    `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`median ns per call over ${samples} batches of >= ${minBatchNs / 1000} µs (p10 … p90 beside it)\n`);

  const idle: [string, () => unknown][] = [
    ['heapInfo()', () => heapInfo()],
    ['  of which the native call', () => binding().heapInfo()],
    ['process.memoryUsage()', () => process.memoryUsage()],
    ['process.memoryUsage.rss()', () => process.memoryUsage.rss()],
    ['processInfo()', () => processInfo()],
  ];
  printTable(
    ['call (idle process)', 'median', 'p10 … p90'],
    idle.map(([name, fn]) => {
      const timing = timePerCall(fn);
      return [name, ns(timing.median), spread(timing)];
    }),
  );

  const rows: string[][] = [];
  let fixtureCapacity = Infinity;
  for (const size of blockSizes) {
    for (const count of liveCounts) {
      const allocated = count > fixtureCapacity ? { capacity: fixtureCapacity } : allocate(alloc, count, size);
      if ('capacity' in allocated) {
        fixtureCapacity = allocated.capacity;
        rows.push([count.toLocaleString('en'), `${size} B`, 'n/a', 'n/a', `fixture holds ${fixtureCapacity.toLocaleString('en')} blocks at most`]);
        continue;
      }
      const { slots } = allocated;
      const allLive = timePerCall(() => heapInfo());
      for (let i = 0; i < slots.length; i += 2) alloc.free(slots[i]);
      const halfFreed = timePerCall(() => heapInfo());
      for (let i = 1; i < slots.length; i += 2) alloc.free(slots[i]);
      heapTrim();
      rows.push([count.toLocaleString('en'), `${size} B`, ns(allLive.median), ns(halfFreed.median), `${spread(allLive)}; ${spread(halfFreed)}`]);
    }
  }
  printTable(['live blocks', 'request', 'heapInfo(), all live', 'every other one freed', 'p10 … p90 (live; freed)'], rows);
}

main();
