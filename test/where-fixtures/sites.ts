// Run by test/where.test.ts in a quiet child with --where's environment (jemalloc preloaded, its profiler ready):
// checks each fixture function named in argv and prints, as JSON, what its MemoryLeakError says of the sites.
import { MemoryLeakError, checkLeak } from '../../lib';
import { loadFixture, buildFixture } from '../helpers/fixtures';
import type { LeaksFixture } from '../leaks/fixture';
import { leakSites } from '../../lib/where';

const variant = process.argv[2]; // 'leaks' (no debug information), 'leaks_g' (-g) or 'leaks_nofp' (-g, no frame pointers)
const names = process.argv.slice(3);
buildFixture('leaks');
const addon = (variant === 'leaks' ? loadFixture<LeaksFixture>('leaks') : require(buildFixture('leaks').replace(/leaks\.node$/, `${variant}.node`))) as LeaksFixture &
  Record<string, (...args: unknown[]) => unknown>;
const calls: Record<string, () => unknown> = {
  mallocLeak: () => addon.mallocLeak(64),
  twoSitesLeak: () => addon.twoSitesLeak(),
  refLeak: () => addon.refLeak(),
  wrapLeak: () => addon.wrapLeak(),
  asyncLeak: () => addon.asyncLeak(64),
  mallocClean: () => addon.mallocClean(64),
  refLeakOnV8heap: () => addon.refLeak(),
  reservedLeak: () => addon.reservedLeak(1024),
  jsObjectLeak: (() => {
    const kept: object[] = [];
    return () => kept.push({ n: kept.length });
  })(),
};
/** Options per name: refLeakOnV8heap tolerates the C heap's growth, so the verdict falls on v8heap. */
const options: Record<string, { tolerance?: Record<string, number> }> = { refLeakOnV8heap: { tolerance: { heap: 1e9 } } };

(async () => {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    if (name === 'mallocClean') {
      // A clean function gives no verdict to profile after: profile it directly, as a leak would be.
      const sites = await leakSites(async (n) => {
        for (let i = 0; i < n; i++) calls.mallocClean();
        await new Promise((resolve) => setImmediate(resolve));
        return n;
      }, 2000, 1);
      out[name] = { sites: sites.map((site) => ({ bytesPerCall: site.bytesPerCall, frames: site.frames.slice(site.first, site.first + 3) })) };
      continue;
    }
    try {
      await checkLeak(calls[name], { verbosity: 0, checkers: undefined, ...options[name] });
      out[name] = { verdict: 'clean' };
    } catch (err) {
      if (!(err instanceof MemoryLeakError)) throw err;
      out[name] = {
        metric: err.metric,
        bytesPerCall: err.bytesPerCall,
        sites: (err.report.sites ?? []).map((site) => ({
          bytesPerCall: site.bytesPerCall,
          allocationsPerCall: site.allocationsPerCall,
          frames: site.frames.slice(site.first, site.first + 3),
        })),
        whereBlock: err.message.slice(err.message.indexOf('\nwhere') + 1),
        profiled: err.report.profiled,
      };
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
})();
