/* The probe under LD_PRELOAD of another malloc, in child processes: jemalloc
 * and tcmalloc are read through their own statistics, and an allocator the
 * probe cannot read must give UnsupportedPlatformError, never glibc's
 * (by then meaningless) figures. .ci/run installs the libraries. */
import path from 'node:path';
import { assert } from 'chai';
import { platformTuple } from '../lib/platform';
import { QUIET_NODE_FLAGS, lastJson, runCode } from './helpers/child';
import * as libraries from './helpers/libraries';
import { needFile } from './helpers/requires';
import {
  PAGE_SIZE,
  SMALL_COUNT,
  SMALL_SIZES,
  TCMALLOC_MAX_SMALL,
  compare,
  expectSomeAttemptExact,
  jemallocLargePad,
  jemallocSizeClass,
  measureInChild,
  tcmallocLargeSpan,
  type Measurement,
} from './fixtures/alloc/rules';

const JEMALLOC = libraries.JEMALLOC.library;
const TCMALLOC = libraries.TCMALLOC.library;
const MIMALLOC = libraries.MIMALLOC.library;

const LARGE_SIZES = [TCMALLOC_MAX_SMALL * 2 + 1, 1 << 20, (4 << 20) + 1, 48 << 20];

/** Skips the suite, saying why, when the library is not installed (a dev machine without the Debian package). */
function requireLibrary(ctx: Mocha.Context, library: string, debianPackage: string): void {
  if (!process.platform.startsWith('linux') || !platformTuple().endsWith('-glibc')) ctx.skip();
  needFile(ctx, library, debianPackage);
}

function sizeResult(measurement: Measurement, kind: 'small' | 'large', size: number) {
  return measurement[kind].find((s) => s.size === size)!.attempts;
}

describe('probe under LD_PRELOAD=jemalloc', function () {
  let measured: Measurement;

  before(async function () {
    requireLibrary(this, JEMALLOC, libraries.JEMALLOC.debianPackage);
    measured = await measureInChild(
      { small: { sizes: SMALL_SIZES, count: SMALL_COUNT }, large: { sizes: LARGE_SIZES } },
      { LD_PRELOAD: JEMALLOC },
    );
  });

  it("reads jemalloc's own statistics", function () {
    assert.strictEqual(measured.allocator, 'jemalloc');
  });

  for (const size of SMALL_SIZES) {
    it(`${SMALL_COUNT} blocks of ${size} B raise heapUsed by ${SMALL_COUNT} × their size class exactly, and freeing them returns it`, function () {
      const attempts = sizeResult(measured, 'small', size);
      const sizeClass = jemallocSizeClass(size);
      for (const a of attempts) a.usable.forEach((usable) => assert.strictEqual(usable, sizeClass, `usable size of ${size} B`));
      expectSomeAttemptExact(`${size} B`, attempts, (a) =>
        compare({ heapUsed: [a.heapDelta, SMALL_COUNT * sizeClass], heapUsedAfterFree: [a.heapBack, 0] }),
      );
    });
  }

  for (const size of LARGE_SIZES) {
    it(`a block of ${size} B raises heapUsed by its size class and mmapUsed by its extent (class + one page)`, function () {
      const attempts = sizeResult(measured, 'large', size);
      const sizeClass = jemallocSizeClass(size);
      for (const a of attempts) assert.strictEqual(a.usable[0], sizeClass, `usable size of ${size} B`);
      // Each attempt starts after heapTrim(), so the extent is mapped afresh.
      expectSomeAttemptExact(`${size} B`, attempts, (a) =>
        compare({
          heapUsed: [a.heapDelta, sizeClass],
          mmapUsed: [a.mmapDelta, sizeClass + jemallocLargePad()],
          heapUsedAfterFree: [a.heapBack, 0],
        }),
      );
    });
  }

  it('heapTrim() purges the arenas, says how much went back, and leaves live blocks counted', function () {
    for (const { trim, before, after } of measured.trims) {
      assert.deepInclude(trim, { allocator: 'jemalloc', action: 'mallctl("arena.<all>.purge")' });
      assert.typeOf(trim.releasedBytes, 'number');
      assert.isTrue(Number.isSafeInteger(trim.releasedBytes) && trim.releasedBytes! >= 0, `releasedBytes ${trim.releasedBytes}`);
      assert.strictEqual(trim.released, trim.releasedBytes! > 0);
      assert.strictEqual(trim.releasedBytes! % PAGE_SIZE, 0, 'resident memory goes back in pages');
      for (const info of [before, after]) assert.isAtLeast(info.mmapUsed, info.heapUsed, 'mapped covers allocated');
      assert.isAtMost(after.mmapUsed, before.mmapUsed, 'purging never maps more');
    }
    // Each attempt first frees 200 blocks of 64 KiB, so there is memory to give back.
    assert.isTrue(measured.trims.some(({ trim }) => trim.releasedBytes! > 0), 'the purge released nothing in any attempt');
    expectSomeAttemptExact('heapTrim', measured.trims, ({ before, after }) =>
      compare({ heapUsed: [after.heapUsed, before.heapUsed] }),
    );
  });
});

describe('a quiet process with jemalloc preloaded', function () {
  this.timeout(60_000);

  before(function () {
    requireLibrary(this, JEMALLOC, libraries.JEMALLOC.debianPackage);
  });

  it("is quiet only with jemalloc's thread cache off, and says which setting turns it off", async function () {
    const quiet = require.resolve('../lib/quiet');
    const code = `
      const { isQuietProcess, warnIfNotQuiet } = require(${JSON.stringify(quiet)});
      warnIfNotQuiet(1);
      console.log(JSON.stringify(isQuietProcess()));`;
    const run = (mallocConf: string | undefined) =>
      runCode(code, { nodeFlags: QUIET_NODE_FLAGS, env: { LD_PRELOAD: JEMALLOC, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0', MALLOC_CONF: mallocConf } });
    const cacheOn = await run(undefined);
    assert.strictEqual(cacheOn.code, 0, cacheOn.stderr);
    assert.strictEqual(lastJson(cacheOn), false);
    assert.include(cacheOn.stderr, "missing MALLOC_CONF=tcache:false (jemalloc's thread cache hides frees)");
    const cacheOff = await run('narenas:1,tcache:false');
    assert.strictEqual(cacheOff.code, 0, cacheOff.stderr);
    assert.strictEqual(lastJson(cacheOff), true);
    assert.notInclude(cacheOff.stderr, 'not quiet');
  });
});

describe('probe under LD_PRELOAD=tcmalloc', function () {
  let measured: Measurement;

  before(async function () {
    requireLibrary(this, TCMALLOC, libraries.TCMALLOC.debianPackage);
    measured = await measureInChild(
      { small: { sizes: SMALL_SIZES, count: SMALL_COUNT }, large: { sizes: LARGE_SIZES } },
      { LD_PRELOAD: TCMALLOC },
    );
  });

  it("reads tcmalloc's own statistics", function () {
    assert.strictEqual(measured.allocator, 'tcmalloc');
  });

  for (const size of SMALL_SIZES) {
    it(`${SMALL_COUNT} blocks of ${size} B raise heapUsed by ${SMALL_COUNT} × their size class exactly, and freeing them returns it`, function () {
      const attempts = sizeResult(measured, 'small', size);
      // The class table is computed by tcmalloc at start-up; malloc_usable_size() reports it.
      const sizeClass = attempts[0].usable[0];
      assert.isAtLeast(sizeClass, size);
      assert.strictEqual(sizeClass % 8, 0, 'classes are 8-byte aligned');
      for (const a of attempts) a.usable.forEach((usable) => assert.strictEqual(usable, sizeClass, `one class for ${size} B`));
      expectSomeAttemptExact(`${size} B`, attempts, (a) =>
        compare({ heapUsed: [a.heapDelta, SMALL_COUNT * sizeClass], heapUsedAfterFree: [a.heapBack, 0] }),
      );
    });
  }

  for (const size of LARGE_SIZES) {
    it(`a block of ${size} B raises heapUsed and mmapUsed by its whole span of 8 KiB pages`, function () {
      const attempts = sizeResult(measured, 'large', size);
      const span = tcmallocLargeSpan(size);
      for (const a of attempts) assert.strictEqual(a.usable[0], span, `usable size of ${size} B`);
      // Each attempt starts after heapTrim() released every free span, so the block's span is mapped afresh.
      expectSomeAttemptExact(`${size} B`, attempts, (a) =>
        compare({ heapUsed: [a.heapDelta, span], mmapUsed: [a.mmapDelta, span], heapUsedAfterFree: [a.heapBack, 0] }),
      );
    });
  }

  it('heapTrim() releases free spans, mmapUsed drops by exactly releasedBytes, live blocks stay counted', function () {
    for (const { trim, before, after } of measured.trims) {
      assert.deepInclude(trim, { allocator: 'tcmalloc', action: 'MallocExtension_ReleaseFreeMemory()' });
      assert.typeOf(trim.releasedBytes, 'number');
      assert.isTrue(Number.isSafeInteger(trim.releasedBytes) && trim.releasedBytes! >= 0, `releasedBytes ${trim.releasedBytes}`);
      assert.strictEqual(trim.released, trim.releasedBytes! > 0);
      for (const info of [before, after]) assert.isAtLeast(info.mmapUsed, info.heapUsed, 'mapped covers allocated');
    }
    assert.isTrue(measured.trims.some(({ trim }) => trim.releasedBytes! > 0), 'nothing was released in any attempt');
    expectSomeAttemptExact('heapTrim', measured.trims, ({ trim, before, after }) =>
      compare({
        heapUsed: [after.heapUsed, before.heapUsed],
        mmapUsedDrop: [before.mmapUsed - after.mmapUsed, trim.releasedBytes!],
      }),
    );
  });
});

describe('probe under LD_PRELOAD of an allocator it cannot read (mimalloc)', function () {
  interface Outcome {
    heapInfo: { name: string; code: string; platform: string; message: string; isTyped: boolean };
    heapTrim: { name: string; code: string; isTyped: boolean };
    processInfoKeys: string[];
  }
  let outcome: Outcome;

  before(async function () {
    requireLibrary(this, MIMALLOC, libraries.MIMALLOC.debianPackage);
    const lib = JSON.stringify(path.join(__dirname, '..', 'lib', 'index.ts'));
    const code = `
      const nodeleak = require(${lib});
      const failure = (call) => {
        try { return { returned: call() }; } catch (err) {
          return { name: err.name, code: err.code, platform: err.platform, message: err.message,
                   isTyped: err instanceof nodeleak.UnsupportedPlatformError };
        }
      };
      console.log(JSON.stringify({
        heapInfo: failure(() => nodeleak.heapInfo()),
        heapTrim: failure(() => nodeleak.heapTrim()),
        processInfoKeys: Object.keys(nodeleak.processInfo()),
      }));`;
    const result = await runCode(code, { nodeFlags: QUIET_NODE_FLAGS, env: { LD_PRELOAD: MIMALLOC } });
    assert.strictEqual(result.code, 0, result.stderr);
    outcome = lastJson(result) as Outcome;
  });

  it('heapInfo() throws UnsupportedPlatformError naming the preloaded library, not glibc figures', function () {
    assert.deepInclude(outcome.heapInfo, { name: 'UnsupportedPlatformError', code: 'NODELEAK_UNSUPPORTED', isTyped: true });
    assert.strictEqual(outcome.heapInfo.platform, platformTuple());
    assert.include(outcome.heapInfo.message, MIMALLOC);
    assert.include(outcome.heapInfo.message, 'jemalloc or tcmalloc', 'says what is supported');
  });

  it('heapTrim() throws UnsupportedPlatformError too, rather than trimming the wrong allocator', function () {
    assert.deepInclude(outcome.heapTrim, { name: 'UnsupportedPlatformError', code: 'NODELEAK_UNSUPPORTED', isTyped: true });
  });

  it('processInfo() does not depend on the allocator and still answers', function () {
    assert.includeMembers(outcome.processInfoKeys, ['rss', 'vms', 'uss', 'fds', 'threads']);
  });
});
