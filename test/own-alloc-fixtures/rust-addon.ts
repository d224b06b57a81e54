// Run by test/own-allocators.test.ts in a child: checks a published Rust addon that builds mimalloc in
// (@node-rs/xxhash) on its everyday call, and prints the outcome.
import { checkLeak } from '../../lib';

const input = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(20));

(async () => {
  let xxh64: (input: Buffer) => bigint;
  try {
    ({ xxh64 } = require('@node-rs/xxhash') as { xxh64(input: Buffer): bigint });
  } catch (err) {
    // No binary for this platform among the package's optional dependencies.
    process.stdout.write(`${JSON.stringify({ unavailable: String((err as Error).message).split('\n')[0] })}\n`);
    return;
  }
  const report = await checkLeak(() => xxh64(input), { verbosity: 0 });
  process.stdout.write(`${JSON.stringify({ verdict: report.verdict, judged: report.judged, ownAllocators: report.ownAllocators })}\n`);
})();
