// checkLeak under node:test (no mocha): run by test/harness-cli.test.ts with `node --test`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../lib/node-test';
import { UnclosedLibuvResourceError, checkLeak } from '../../lib';

// The default budget: a smaller one may end before every metric is bounded, which is InconclusiveError, not a pass.
const quick = { warmupTimes: 2, verbosity: 0 } as const;

test('a clean function passes', async () => {
  const report = await checkLeak(() => JSON.parse('[1,2,3]'), quick);
  assert.equal(report.verdict, 'clean');
  assert.deepEqual(report.undecided, []);
  assert.ok(report.calls > 0);
});

test('a timer left running fails with UnclosedLibuvResourceError', async () => {
  const timers: NodeJS.Timeout[] = [];
  try {
    await assert.rejects(checkLeak(() => timers.push(setInterval(() => {}, 60_000)), quick), UnclosedLibuvResourceError);
  } finally {
    timers.forEach(clearInterval);
  }
});
