// Run by test/runners.test.ts through jest without nodeleak/jest: the call that starts a check throws, so a test that
// does not await its check fails instead of passing before the verdict.
const { UnscopedCheckError, checkLeak } = require('nodeleak');

const kept = [];

test('without the hooks, a check the test does not await fails the test', async () => {
  void checkLeak(() => kept.push(new Array(128).fill(0)), { verbosity: 0 });
});

test('without the hooks, the call that starts a check throws, naming the hooks', () => {
  expect(() => checkLeak(() => JSON.parse('[1,2,3]'), { verbosity: 0 })).toThrow(UnscopedCheckError);
});

test('a process the test starts inherits JEST_WORKER_ID, runs no jest test, and its checks run', () => {
  const { execFileSync } = require('node:child_process');
  const script = "require('nodeleak').checkLeak(() => JSON.parse('[1]'), { verbosity: 0 }).then((r) => console.log(r.verdict), (e) => console.log(e.name))";
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', env: { ...process.env, JEST_WORKER_ID: '1' } });
  expect(out.trim()).toBe('clean');
}, 60000);
