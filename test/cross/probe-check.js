'use strict';
// Runs on a foreign Node (arm64 under qemu, win32-x64 under Wine, each release
// target on its own runner), so plain CommonJS with no test framework. Usage:
//   node --expose-gc --single-threaded probe-check.js <package dir> <allocator | none> [winheap.node [winown.node]]
// Loads an installed-looking nodeleak (dist/ + prebuilds/, no build/), checks
// the probe's figures against allocations of known size (or, with `none`,
// that the platform's refusal is typed), prints one line per check and exits
// non-zero when any check fails.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const [packageDir, expectedAllocator, fixturePath, ownAllocatorFixturePath] = process.argv.slice(2).map((arg, i) => (i === 1 ? arg : path.resolve(arg)));
const checks = [];
const check = (name, fn) => checks.push({ name, fn });

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/* Run with --single-threaded (no V8 background compiler threads), the process
 * is quiet, but Node's own threads may still allocate now and then: a figure
 * is accepted when one of a few rounds shows it, never by widening the bound. */
async function inSomeRound(rounds, measure, accept) {
  const seen = [];
  for (let round = 0; round < rounds; round++) {
    const value = await measure();
    if (accept(value)) return value;
    seen.push(value);
  }
  throw new Error(`no round of ${rounds} matched: ${JSON.stringify(seen)}`);
}

const nodeleak = require(packageDir);

check('the probe comes from prebuilds/, not from a local build', () => {
  const loaded = require(require.resolve('node-gyp-build', { paths: [packageDir] })).path(packageDir);
  assert.ok(loaded.split(/[\\/]/).includes('prebuilds'), loaded);
});

if (expectedAllocator === 'none') {
  check('heapInfo() and heapTrim() throw UnsupportedPlatformError naming the platform', () => {
    for (const call of [nodeleak.heapInfo, nodeleak.heapTrim]) {
      assert.throws(call, (err) => {
        assert.ok(err instanceof nodeleak.UnsupportedPlatformError, String(err));
        assert.match(err.platform, /^linux-(x64|arm64)-musl$/);
        assert.match(err.message, /no statistics API/);
        return true;
      });
    }
  });
  check('processInfo() still reads /proc', () => {
    const info = nodeleak.processInfo();
    assert.ok(info.rss > 0 && info.uss > 0 && info.fds >= 3 && info.threads >= 1, JSON.stringify(info));
  });
} else {
  check('importing and calling: heapInfo() has the platform allocator and finite figures', () => {
    const info = nodeleak.heapInfo();
    assert.equal(info.allocator, expectedAllocator);
    for (const key of ['heapUsed', 'mmapUsed']) assert.ok(Number.isFinite(info[key]) && info[key] >= 0, `${key}=${info[key]}`);
    if (process.platform === 'win32') assert.ok(Number.isInteger(info.heapCount) && info.heapCount >= 1);
    else assert.equal(info.heapCount, undefined);
  });

  check('heapUsed follows 1000 Buffers of 1 KiB (calloc()ed by Node\'s own C runtime), and returns when they are freed', async () => {
    const count = 1000;
    const size = 1024;
    await inSomeRound(
      5,
      async () => {
        await settle();
        const before = nodeleak.heapInfo().heapUsed;
        let buffers = Array.from({ length: count }, () => Buffer.alloc(size));
        const grown = nodeleak.heapInfo().heapUsed - before;
        // eslint-disable-next-line @typescript-eslint/no-unused-vars -- drops the only reference so gc() frees them
        buffers = null;
        await settle();
        return { grown, left: nodeleak.heapInfo().heapUsed - before };
      },
      // Each Buffer is its 1 KiB backing store plus V8's small BackingStore record.
      ({ grown, left }) => grown >= count * size && grown <= count * (size + 256) && Math.abs(left) < (count * size) / 8,
    );
  });

  check('heapTrim() says what it did', () => {
    const trim = nodeleak.heapTrim();
    assert.equal(trim.allocator, expectedAllocator);
    assert.equal(typeof trim.action, 'string');
    assert.ok(trim.released === null || typeof trim.released === 'boolean');
    assert.ok(trim.releasedBytes === null || trim.releasedBytes >= 0);
    assert.equal(nodeleak.heapInfo().allocator, expectedAllocator);
  });

  check('processInfo() figures are consistent', () => {
    const info = nodeleak.processInfo();
    assert.ok(info.rss > 0 && info.uss > 0 && info.uss <= info.rss, JSON.stringify(info));
    assert.ok(info.vms >= info.uss, JSON.stringify(info));
    assert.ok(Number.isInteger(info.threads) && info.threads >= 1, JSON.stringify(info));
    if (process.platform === 'win32') {
      // Wine's GetProcessHandleCount answers 0; Windows counts real handles.
      assert.ok(Number.isInteger(info.handles) && info.handles >= 0 && info.fds === undefined, JSON.stringify(info));
    } else {
      assert.ok(Number.isInteger(info.fds) && info.fds >= 3 && info.handles === undefined, JSON.stringify(info));
    }
  });

}

check('calls from worker threads running at once all answer', async () => {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const nodeleak = require(workerData);
    const outcomes = [];
    for (let i = 0; i < 20; i++) {
      for (const call of ['heapInfo', 'heapTrim', 'processInfo']) {
        try { nodeleak[call](); outcomes.push('ok'); } catch (err) { outcomes.push(err.name); }
      }
    }
    parentPort.postMessage(outcomes);`;
  const workers = [0, 1, 2].map(() => new Worker(source, { eval: true, workerData: packageDir }));
  // Their exit frees their heaps: the checks after this one must not see it.
  const exited = workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
  const results = await Promise.all(workers.map((worker) => new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))));
  await Promise.all(exited);
  const expected = expectedAllocator === 'none' ? ['UnsupportedPlatformError', 'UnsupportedPlatformError', 'ok'] : ['ok', 'ok', 'ok'];
  for (const outcomes of results) assert.deepEqual(outcomes, Array.from({ length: 20 }, () => expected).flat());
});

check('bad input gets the typed error', () => {
  assert.throws(() => nodeleak.heapInfo(1), (err) => err instanceof nodeleak.InvalidArgumentError);
});

if (fixturePath) {
  const fixture = require(fixturePath);

  check('HeapWalk sees blocks malloc()ed through the Universal CRT (ucrtbase.dll) at their exact size, and their free()', async () => {
    for (const size of [1, 24, 100, 1024, 4000, 65536, 600000]) {
      const count = size > 100000 ? 8 : 1000;
      await inSomeRound(
        5,
        () => {
          const before = nodeleak.heapInfo().heapUsed;
          const blocks = Array.from({ length: count }, () => fixture.crtMalloc(size));
          const grown = nodeleak.heapInfo().heapUsed - before;
          for (const block of blocks) fixture.crtFree(block);
          return { size, grown, left: nodeleak.heapInfo().heapUsed - before };
        },
        ({ grown, left }) => grown === count * size && left === 0,
      );
    }
  });

  check('a block too large for a heap segment counts in mmapUsed, as glibc counts its mmap\'d chunks, not in heapUsed', () =>
    inSomeRound(
      5,
      () => {
        const size = 8 * 1024 * 1024;
        const before = nodeleak.heapInfo();
        const block = fixture.crtMalloc(size);
        const during = nodeleak.heapInfo();
        fixture.crtFree(block);
        const after = nodeleak.heapInfo();
        return { heap: during.heapUsed - before.heapUsed, mmap: during.mmapUsed - before.mmapUsed - size, back: after.mmapUsed - before.mmapUsed };
      },
      ({ heap, mmap, back }) => heap === 0 && mmap === 0 && back === 0,
    ));

  check('every heap is read whole: unreadableHeaps is 0', () => {
    assert.equal(nodeleak.heapInfo().unreadableHeaps, 0);
  });

  check('heapCount moves with HeapCreate/HeapDestroy, and a private heap\'s blocks count', () => {
    const before = nodeleak.heapInfo();
    const heap = fixture.heapCreate();
    assert.notEqual(heap, 0n);
    const created = nodeleak.heapInfo();
    fixture.heapAlloc(heap, 5000);
    const allocated = nodeleak.heapInfo();
    fixture.heapDestroy(heap);
    const destroyed = nodeleak.heapInfo();
    assert.equal(created.heapCount, before.heapCount + 1);
    assert.equal(destroyed.heapCount, before.heapCount);
    assert.ok(allocated.heapUsed - created.heapUsed >= 5000, `grew ${allocated.heapUsed - created.heapUsed}`);
  });

  // vms (PrivateUsage) grows too on Windows; Wine does not keep that counter, so only uss is checked here.
  check('16 MiB VirtualAlloc()ed and touched moves uss, not the heap figures (as a raw mmap on Linux)', () =>
    inSomeRound(
      5,
      () => {
        const size = 16 * 1024 * 1024;
        const before = { heap: nodeleak.heapInfo(), proc: nodeleak.processInfo() };
        const region = fixture.virtualAlloc(size);
        const during = { heap: nodeleak.heapInfo(), proc: nodeleak.processInfo() };
        fixture.virtualFree(region);
        return {
          heap: during.heap.heapUsed - before.heap.heapUsed,
          mmap: during.heap.mmapUsed - before.heap.mmapUsed,
          uss: during.proc.uss - before.proc.uss - size,
        };
      },
      ({ heap, mmap, uss }) => heap === 0 && mmap === 0 && uss >= 0 && uss < 1024 * 1024,
    ));

  check('threads counts a worker thread while it runs', async () => {
    const before = nodeleak.processInfo().threads;
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage(1); setInterval(() => {}, 1000)', { eval: true });
    await new Promise((resolve) => worker.once('message', resolve));
    const during = nodeleak.processInfo().threads;
    await worker.terminate();
    assert.ok(during > before, `threads ${before} -> ${during}`);
  });

  // Last of these: the leaking vector stays. The C heap's figures only (heap and its VirtualAlloc()ed blocks), since
  // Wine does not keep vms; a budget, since a foreign runner is slow.
  check('a native array that gains 8 B a call and doubles when full fails; its clean twin passes', async () => {
    const options = { verbosity: 0, checkers: nodeleak.Checkers.only('memory'), metrics: ['heap', 'mmap', 'v8heap'], maxMs: 60_000 };
    const report = await nodeleak.checkLeak(() => fixture.vectorClean(8), options);
    assert.equal(report.verdict, 'clean', report.reason);
    await assert.rejects(nodeleak.checkLeak(() => fixture.vectorLeak(8), options), (err) => {
      assert.ok(err instanceof nodeleak.MemoryLeakError, String(err));
      assert.equal(err.metric, 'heap', err.message);
      assert.equal(err.report.inSteps, true, err.message);
      assert.match(err.message, /heap \(heap and mmap together\) grew in steps that kept their pace: /);
      return true;
    });
  });
}

if (ownAllocatorFixturePath) {
  // Last: it loads an addon the checks before must not see.
  const own = require(ownAllocatorFixturePath);
  const options = { verbosity: 0, checkers: nodeleak.Checkers.only('memory') };
  const ownAllocator = (report) => (report.ownAllocators || []).map(({ name, object, how, judged }) => `${name} ${how} ${path.basename(object)} ${judged}`);

  check('an addon with an allocator built in is found among the loaded modules, and uss is judged: a clean function passes', async () => {
    const report = await nodeleak.checkLeak(() => own.virtualFree(own.virtualAlloc(65536)), options);
    assert.equal(report.verdict, 'clean');
    assert.deepEqual(ownAllocator(report), ['mimalloc built in winown.node uss']);
    assert.deepEqual(report.judged.slice(-1), ['uss']);
  });

  check('a 4 KiB/call leak of its VirtualAlloc()ed pages, which no heap holds, is caught on uss', async () => {
    await assert.rejects(nodeleak.checkLeak(() => own.virtualAlloc(4096), options), (err) => {
      assert.ok(err instanceof nodeleak.MemoryLeakError, String(err));
      assert.equal(err.metric, 'uss', err.message);
      // A call touches one 4 KiB page; the rate is an estimate, read within a tenth below it.
      assert.ok(err.bytesPerCall >= 0.9 * 4096 && err.bytesPerCall < 2 * 4096, `${err.bytesPerCall} B/call`);
      assert.match(err.message, /note: winown\.node carries mimalloc, an allocator the C heap figures do not see: uss judged as well/);
      return true;
    });
  });
}

(async () => {
  let failed = 0;
  for (const { name, fn } of checks) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (err) {
      failed++;
      console.log(`not ok - ${name}: ${String(err && err.message).split('\n')[0]}`);
    }
  }
  console.log(`# ${process.platform}-${process.arch}: ${checks.length - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
})();
