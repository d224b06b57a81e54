// Run by test/runners.test.ts with plain `node --test`: a process a test starts inherits NODE_TEST_CONTEXT but runs no
// node:test test, so its checks run as in any script.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { test } = require('node:test');

test('a check in a process the test starts runs', () => {
  const script = "require('nodeleak').checkLeak(() => JSON.parse('[1]'), { verbosity: 0 }).then((r) => console.log(r.verdict), (e) => console.log(e.name))";
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' });
  assert.equal(out.trim(), 'clean');
});
