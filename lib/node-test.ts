// nodeleak/node-test: importing it (at the top of a test file, or `node --test --import nodeleak/node-test`, which
// `npx nodeleak run -- node --test` adds) registers node:test hooks that give each test of the file a test scope: a
// test that ends with a check it started still running fails with UnawaitedCheckError, and the check is stopped before
// the next test starts. A subtest's scope is its own, inside its parent's (told by the test's full name, which Node 18
// does not give: there a subtest runs beside its parent). node:test does not tell a test's timeout, so its checks take
// no default time budget from it, and the error allows that the timeout ended the test.
import { afterEach, beforeEach } from 'node:test';
import { runnerHooksRegistered, scopeEachTest } from './in-flight';

/** What the hooks read of node:test's TestContext (no fullName on Node 18). */
interface NodeTestContext {
  name: string;
  /** The titles of the suites and tests it runs inside, then its own, joined by ' > '. */
  fullName?: string;
}

/** The test's title, and the full name of what it runs inside: the parent test, for a subtest (or a suite). */
function describeNodeTest({ name, fullName }: NodeTestContext): { title: string; within?: string } {
  if (fullName === undefined) return { title: name };
  const end = fullName.length - name.length - ' > '.length;
  return { title: fullName, within: end > 0 && fullName.endsWith(` > ${name}`) ? fullName.slice(0, end) : undefined };
}

// Once per process: a second copy's hooks (the test file's import beside `npx nodeleak run`'s --import, resolved to
// another install) would count each test twice, as if tests ran at once.
if (!runnerHooksRegistered()) {
  scopeEachTest<NodeTestContext>(
    (hook) => beforeEach(hook),
    (hook) => afterEach(hook),
    (context) => ({ ...describeNodeTest(context), timeout: () => 0 }),
  );
}
