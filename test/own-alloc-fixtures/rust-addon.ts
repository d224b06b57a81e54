// Run by test/own-allocators.test.ts in a child: checks a published Rust addon that builds mimalloc in (argv[2]: the
// resolved @node-rs/xxhash) on its everyday call, and prints the outcome.
import { checkLeak } from '../../lib';

const { xxh64 } = require(process.argv[2]) as { xxh64(input: Buffer): bigint };
const input = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(20));

(async () => {
  const report = await checkLeak(() => xxh64(input), { verbosity: 0 });
  process.stdout.write(`${JSON.stringify({ verdict: report.verdict, judged: report.judged, ownAllocators: report.ownAllocators })}\n`);
})();
