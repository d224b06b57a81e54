import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { assert } from 'chai';
import { heapInfo, heapTrim, processInfo } from '../lib/index';
import { platformTuple } from '../lib/platform';
import { lastJson, runCode } from './helpers/child';
import { loadFixture } from './helpers/fixtures';
import {
  ATTEMPTS,
  SMALL_COUNT,
  SMALL_SIZES,
  PAGE_SIZE,
  compare,
  expectSomeAttemptExact,
  glibcChunk,
  glibcChunkSurpluses,
  glibcMmapChunk,
  measureInChild,
  sum,
  type Attempt,
  type Measurement,
} from './fixtures/alloc/rules';

interface AllocFixture {
  malloc(size: number): number;
  free(slot: number): void;
  usableSize(slot: number): number;
  liveCount(): number;
}

const onGlibc = platformTuple() === `linux-${process.arch}-glibc` && !process.env.LD_PRELOAD;

function assertWholeNumber(value: unknown, name: string): asserts value is number {
  assert.typeOf(value, 'number', name);
  assert.isTrue(Number.isSafeInteger(value) && (value as number) >= 0, `${name} = ${value} is not a whole number >= 0`);
}

/* Above DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), so glibc maps it on
 * its own whatever its dynamic threshold has risen to. */
const ALWAYS_MAPPED = 48 << 20;

describe('probe on Linux glibc', function () {
  before(function () {
    if (!onGlibc) this.skip(); // the figures below are glibc's; preload.test.ts covers the others
  });

  describe('the alloc fixture (its contract, which the benchmarks rely on too)', function () {
    it('hands out slots, reports usable sizes and live blocks, and rejects bad input with TypeError or RangeError', function () {
      const alloc = loadFixture<AllocFixture>('alloc');
      const live = alloc.liveCount();
      const slot = alloc.malloc(10);
      assert.strictEqual(alloc.liveCount(), live + 1);
      assert.isAtLeast(alloc.usableSize(slot), 10);
      alloc.free(slot);
      assert.strictEqual(alloc.liveCount(), live);
      const loose = alloc as unknown as Record<string, (...args: unknown[]) => unknown>;
      assert.throws(() => loose.malloc('10'), TypeError);
      assert.throws(() => loose.malloc(), TypeError);
      for (const size of [-1, 1.5, NaN, Infinity]) assert.throws(() => alloc.malloc(size), RangeError);
      assert.throws(() => alloc.free(slot), RangeError, 'unknown slot');
      assert.throws(() => alloc.usableSize(slot), RangeError, 'unknown slot');
      assert.throws(() => alloc.free(1e9), RangeError);
      assert.throws(() => loose.free('0'), TypeError);
    });
  });

  describe('figures of this process', function () {
    it('heapInfo() returns plain numbers from glibc', function () {
      const info = heapInfo();
      assert.sameMembers(Object.keys(info), ['heapUsed', 'mmapUsed', 'allocator']);
      assert.strictEqual(info.allocator, 'glibc');
      assertWholeNumber(info.heapUsed, 'heapUsed');
      assertWholeNumber(info.mmapUsed, 'mmapUsed');
      assert.isAbove(info.heapUsed, 0, 'a Node process has live malloc blocks');
    });

    it('heapTrim() says what it did, with a typed result', function () {
      const trim = heapTrim();
      assert.sameMembers(Object.keys(trim), ['allocator', 'action', 'released', 'releasedBytes']);
      assert.strictEqual(trim.allocator, 'glibc');
      assert.strictEqual(trim.action, 'malloc_trim(0)');
      assert.typeOf(trim.released, 'boolean');
      assert.isNull(trim.releasedBytes, 'malloc_trim does not say how much it released');
    });

    it('processInfo() returns memory, fd and thread figures', function () {
      const proc = processInfo();
      assert.sameMembers(Object.keys(proc), ['rss', 'vms', 'uss', 'fds', 'threads']);
      for (const key of ['rss', 'vms', 'uss', 'fds', 'threads'] as const) assertWholeNumber(proc[key], key);
      assert.isAbove(proc.uss!, 0);
      assert.isAtMost(proc.uss!, proc.rss, 'private pages are resident pages');
      assert.isAtMost(proc.rss, proc.vms);
      assert.strictEqual(proc.rss % PAGE_SIZE, 0, 'rss counts whole pages');
      assert.strictEqual(proc.vms % PAGE_SIZE, 0, 'vms counts whole pages');
      assert.isAtLeast(proc.fds!, 3, 'stdin, stdout and stderr at least');
      assert.isAtLeast(proc.threads, 1);
    });

    it('processInfo(): rss and uss come from one read, so private pages never outnumber resident ones while threads touch pages', async function () {
      // The kernel's running count of resident pages (statm) can lag behind pages other threads have just touched; in a
      // small child, where few pages are shared, such a lag would show as uss above rss.
      const probe = JSON.stringify(path.resolve(__dirname, '..', 'dist', 'probe'));
      const code = `
        const { Worker } = require('node:worker_threads');
        const { once } = require('node:events');
        const { processInfo } = require(${probe});
        const source = 'let keep = []; setInterval(() => {}, 1000);' +
          '(function touch() { for (let i = 0; i < 50; i++) { keep.push(Buffer.alloc(256 * 1024, 1)); if (keep.length > 40) keep = []; } setImmediate(touch); })();';
        (async () => {
          const workers = [new Worker(source, { eval: true }), new Worker(source, { eval: true })];
          await Promise.all(workers.map((worker) => once(worker, 'online')));
          await new Promise((resolve) => setTimeout(resolve, 300));
          const over = [];
          for (let i = 0; i < 500; i++) {
            const { rss, uss } = processInfo();
            if (uss > rss) over.push(uss - rss);
          }
          console.log(JSON.stringify(over));
          await Promise.all(workers.map((worker) => worker.terminate()));
        })();`;
      const child = await runCode(code, { tsx: false });
      assert.strictEqual(child.code, 0, child.stderr);
      assert.deepEqual(lastJson(child), [], 'reads whose uss exceeded rss (by bytes)');
    });

    it('fds moves by one for each file opened and back when it is closed', function () {
      // Bounded retries: another part of the process may open or close an fd meanwhile.
      const attempts = Array.from({ length: ATTEMPTS }, () => {
        const before = processInfo().fds!;
        const fd = fs.openSync(__filename, 'r');
        const opened = processInfo().fds!;
        fs.closeSync(fd);
        const closed = processInfo().fds!;
        return { opened: opened - before, closed: closed - before };
      });
      expectSomeAttemptExact('fds', attempts, (a) => compare({ opened: [a.opened, 1], closed: [a.closed, 0] }));
    });

    it('threads moves by one while a Worker runs and back when it has exited', async function () {
      const attempts = [];
      for (let i = 0; i < ATTEMPTS; i++) {
        const before = processInfo().threads;
        const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
        await once(worker, 'online');
        const running = processInfo().threads;
        await worker.terminate();
        const exited = processInfo().threads;
        attempts.push({ running: running - before, exited: exited - before });
      }
      expectSomeAttemptExact('threads', attempts, (a) => compare({ running: [a.running, 1], exited: [a.exited, 0] }));
    });

    it('a block above the mmap threshold ceiling moves mmapUsed by its mapping and not heapUsed', function () {
      const alloc = loadFixture<AllocFixture>('alloc');
      const attempts = Array.from({ length: ATTEMPTS }, () => {
        const before = heapInfo();
        const slot = alloc.malloc(ALWAYS_MAPPED);
        const held = heapInfo();
        const usable = alloc.usableSize(slot);
        alloc.free(slot);
        const after = heapInfo();
        return { before, held, after, usable };
      });
      for (const a of attempts) assert.strictEqual(a.usable + 16, glibcMmapChunk(ALWAYS_MAPPED), 'usable size of a mapped chunk');
      expectSomeAttemptExact('48 MiB block', attempts, (a) =>
        compare({
          mmapUsed: [a.held.mmapUsed - a.before.mmapUsed, glibcMmapChunk(ALWAYS_MAPPED)],
          heapUsed: [a.held.heapUsed - a.before.heapUsed, 0],
          mmapUsedAfterFree: [a.after.mmapUsed - a.before.mmapUsed, 0],
        }),
      );
    });
  });

  /* The exact rules need a process whose C heap moves only when the test
   * moves it: V8's background threads off and glibc's tcache off (NOTES.md §1). */
  describe('exact allocation rules, in a quiet child process', function () {
    let quiet: Measurement;
    let pinned: Measurement;

    before(async function () {
      [quiet, pinned] = await Promise.all([
        measureInChild({ small: { sizes: SMALL_SIZES, count: SMALL_COUNT }, large: { sizes: [ALWAYS_MAPPED] } }),
        /* glibc raises its mmap threshold to the size of any mapped block
         * that is freed (up to 32 MiB), and Node frees such blocks while it
         * starts, so by default a block of a few MiB may well come from the
         * heap. Setting the threshold (to glibc's default, 128 KiB) also
         * turns that rise off. The threshold applies only when no free chunk
         * and not the top of the heap can hold the block (_int_malloc looks
         * there before sysmalloc maps anything): Node 24 leaves free chunks of
         * a few hundred KB to a MiB while it starts. */
        measureInChild(
          { small: { sizes: [], count: 0 }, large: { sizes: [256 * 1024, 1 << 20, (4 << 20) + 1, (8 << 20) + 3] } },
          { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=131072' },
        ),
      ]);
    });

    it('the child read glibc', function () {
      assert.strictEqual(quiet.allocator, 'glibc');
      assert.strictEqual(pinned.allocator, 'glibc');
    });

    for (const size of SMALL_SIZES) {
      it(`${SMALL_COUNT} blocks of ${size} B raise heapUsed by their chunks exactly, and freeing them returns it`, function () {
        const { attempts } = quiet.small.find((s) => s.size === size)!;
        for (const attempt of attempts) {
          for (const usable of attempt.usable) {
            assert.include(glibcChunkSurpluses, usable + 8 - glibcChunk(size), `chunk of a ${size} B block: usable ${usable} + 8`);
          }
        }
        expectSomeAttemptExact(`${size} B`, attempts, (a) =>
          compare({
            heapUsed: [a.heapDelta, sum(a.usable) + 8 * SMALL_COUNT],
            mmapUsed: [a.mmapDelta, 0],
            heapUsedAfterFree: [a.heapBack, 0],
            mmapUsedAfterFree: [a.mmapBack, 0],
          }),
        );
      });
    }

    for (const size of [ALWAYS_MAPPED]) {
      it(`a block of ${size} B moves mmapUsed by its page-rounded mapping, not heapUsed (default threshold)`, function () {
        expectMapped(quiet, size);
      });
    }

    for (const size of [256 * 1024, 1 << 20, (4 << 20) + 1, (8 << 20) + 3]) {
      it(`a block of ${size} B moves mmapUsed by its page-rounded mapping, or heapUsed by its chunk where a free one held it (threshold set)`, function () {
        expectPlaced(pinned, size);
      });
    }

    it('with the threshold set, the blocks of 4 MiB and up are mapped', function () {
      for (const size of [(4 << 20) + 1, (8 << 20) + 3]) expectMapped(pinned, size);
    });

    it('heapTrim() leaves live blocks counted and the figures consistent', function () {
      for (const { trim } of quiet.trims) {
        assert.deepInclude(trim, { allocator: 'glibc', action: 'malloc_trim(0)', releasedBytes: null });
        assert.typeOf(trim.released, 'boolean');
      }
      // Each attempt first frees 200 blocks of 64 KiB, so there is memory to give back.
      assert.isTrue(quiet.trims.some(({ trim }) => trim.released), 'malloc_trim released nothing in any attempt');
      expectSomeAttemptExact('heapTrim', quiet.trims, ({ before, after }) =>
        compare({ heapUsed: [after.heapUsed, before.heapUsed], mmapUsed: [after.mmapUsed, before.mmapUsed] }),
      );
    });
  });
});

/** A block above the mmap threshold is mapped unless a free chunk (or the heap's top) holds it; either way the
 * figures move by exactly what glibc took, and nothing is left after the free. */
function expectPlaced(measurement: Measurement, size: number): void {
  const { attempts } = measurement.large.find((s) => s.size === size)!;
  const mapping = glibcMmapChunk(size);
  const mapped = (a: Attempt): boolean => a.usable[0] + 16 === mapping;
  for (const a of attempts.filter((attempt) => !mapped(attempt))) {
    assert.include(glibcChunkSurpluses, a.usable[0] + 8 - glibcChunk(size), `chunk of a ${size} B block from the heap: usable ${a.usable[0]} + 8`);
  }
  expectSomeAttemptExact(`${size} B`, attempts, (a) =>
    compare({
      mmapUsed: [a.mmapDelta, mapped(a) ? mapping : 0],
      heapUsed: [a.heapDelta, mapped(a) ? 0 : a.usable[0] + 8],
      heapUsedAfterFree: [a.heapBack, 0],
      mmapUsedAfterFree: [a.mmapBack, 0],
    }),
  );
}

function expectMapped(measurement: Measurement, size: number): void {
  const { attempts } = measurement.large.find((s) => s.size === size)!;
  const mapping = glibcMmapChunk(size);
  for (const a of attempts) assert.strictEqual(a.usable[0] + 16, mapping, `usable size of a mapped ${size} B block`);
  expectSomeAttemptExact(`${size} B`, attempts, (a) =>
    compare({
      mmapUsed: [a.mmapDelta, mapping],
      heapUsed: [a.heapDelta, 0],
      heapUsedAfterFree: [a.heapBack, 0],
      mmapUsedAfterFree: [a.mmapBack, 0],
    }),
  );
}
