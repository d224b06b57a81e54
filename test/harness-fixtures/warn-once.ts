// Run by test/harness-cli.test.ts: two quick checks at the verbosity given in argv[2]; the warning goes to stderr.
import { checkLeak } from '../../lib';

const verbosity = Number(process.argv[2]) as 0 | 1 | 2;
(async () => {
  for (let i = 0; i < 2; i++) {
    await checkLeak(() => JSON.stringify([i]), { warmupTimes: 1, verbosity });
  }
  process.stdout.write('done\n');
})();
