// Run by test/own-allocators.test.ts in a child: checks the own_alloc fixture's functions (argv[2] 'pages': the
// own_pages fixture's; 'gone': those of a copy of own_pages deleted once loaded) and prints the outcomes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Checkers, MemoryLeakError, checkLeak } from '../../lib';
import type { MetricName } from '../../lib';
import { ownAllocators } from '../../lib/own-allocators';
import { buildFixture } from '../helpers/fixtures';

type OwnAlloc = { mimallocLeak(bytes: number): void; mimallocClean(bytes: number): void };
type OwnPages = { pagesLeak(bytes: number): void; pagesClean(bytes: number): void };
const gone = process.argv[2] === 'gone';
const pages = process.argv[2] === 'pages' || gone;
const binary = buildFixture(pages ? 'own_pages' : 'own_alloc');

/** A copy of `file`, loaded and then deleted, as a rebuild leaves an addon a watching test runner had loaded. */
function loadDeletedCopy(file: string): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-gone-'));
  const copy = path.join(dir, path.basename(file));
  fs.copyFileSync(file, copy);
  try {
    return require(copy);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

/** argv[2] 'named': metrics named without process memory; 'named-uss': with uss. */
const NAMED: Record<string, readonly MetricName[]> = { named: ['heap', 'v8heap'], 'named-uss': ['heap', 'v8heap', 'uss'] };
const named: readonly MetricName[] | undefined = NAMED[process.argv[2]];

(async () => {
  if (process.argv[2] === 'lazy') {
    // The addon is loaded by the function's first call, and there is no warm-up: which allocators are mapped must be
    // read after a call all the same (argv[3]: 'memory' checks memory alone, so no resource check makes that call).
    const checkers = process.argv[3] === 'memory' ? { checkers: Checkers.only('memory') } : {};
    const report = await checkLeak(() => (require(binary) as OwnAlloc).mimallocClean(1200), { verbosity: 0, warmupTimes: 0, ...checkers });
    process.stdout.write(`${JSON.stringify({ verdict: report.verdict, judged: report.judged, ownAllocators: report.ownAllocators })}\n`);
    return;
  }
  const addon = (gone ? loadDeletedCopy(binary) : require(binary)) as OwnAlloc & OwnPages;
  if (process.argv[3] === 'list') {
    process.stdout.write(`${JSON.stringify(ownAllocators('glibc', []))}\n`);
    return;
  }
  if (process.argv[2] === 'list') {
    // What the process carries, as read with glibc, and as read with mimalloc the process's allocator.
    process.stdout.write(`${JSON.stringify({ asGlibc: ownAllocators('glibc', []), asMimalloc: ownAllocators('mimalloc', []) })}\n`);
    return;
  }
  const out: Record<string, unknown> = {};
  for (const [name, fn] of [
    ['clean', () => (pages ? addon.pagesClean(1200) : addon.mimallocClean(1200))],
    ['leak', () => (pages ? addon.pagesLeak(1200) : addon.mimallocLeak(1200))],
  ] as const) {
    try {
      const report = await checkLeak(fn, { verbosity: 0, ...(named ? { metrics: named } : {}) });
      out[name] = { verdict: report.verdict, judged: report.judged, noise: report.noise, ownAllocators: report.ownAllocators };
    } catch (err) {
      if (!(err instanceof MemoryLeakError)) throw err;
      out[name] = { verdict: 'leak', metric: err.metric, bytesPerCall: err.bytesPerCall, note: err.message.split('\n').find((line) => line.startsWith('note:')) };
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
})();
