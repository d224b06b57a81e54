// nodeleak/node-test: importing it (at the top of a test file, or `node --test --import nodeleak/node-test`, which
// `npx nodeleak run -- node --test` adds) registers node:test hooks that give each test of the file a test scope: a
// test that ends with a check it started still running fails with UnawaitedCheckError, and the check is stopped before
// the next test starts. node:test does not tell a test's timeout, so its checks take no default time budget from it,
// and the error allows that the timeout ended the test.
import { afterEach, beforeEach } from 'node:test';
import { runnerHooksRegistered, scopeEachTest } from './in-flight';

/** What the hooks read of node:test's TestContext (fullName from Node 22). */
interface NodeTestContext {
  name: string;
  fullName?: string;
}

// Once per process: a second copy's hooks (the test file's import beside `npx nodeleak run`'s --import, resolved to
// another install) would count each test twice, as if tests ran at once.
if (!runnerHooksRegistered()) {
  scopeEachTest<NodeTestContext>(
    (hook) => beforeEach(hook),
    (hook) => afterEach(hook),
    (context) => ({ title: context.fullName ?? context.name, timeout: () => 0 }),
  );
}
