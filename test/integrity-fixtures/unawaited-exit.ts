// Run by test/integrity.test.ts as a plain script (no runner): a check nobody awaits. argv[2] 'failed': it runs to
// its MemoryLeakError; 'running': the script exits with code 0 while it runs.
import { checkLeak } from '../../lib';

const kept: number[][] = [];
void checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 });
if (process.argv[2] === 'running') setTimeout(() => process.exit(0), 20);
