// nodeleak/node-test: importing it (at the top of a test file, or `node --test --import nodeleak/node-test`) registers
// node:test hooks that give each test of the file a test scope: a test that ends with a check it started still
// running fails with UnawaitedCheckError, and the check is stopped before the next test starts. node:test does not
// tell a test's timeout, so its checks take no default time budget from it, and the error allows that the timeout
// ended the test.
import { afterEach, beforeEach } from 'node:test';
import { type HookScope, enterTestScope, leaveTestScope } from './in-flight';

/** What the hooks read of node:test's TestContext (fullName from Node 22). */
interface NodeTestContext {
  name: string;
  fullName?: string;
}

// Tests with `concurrency` run beside each other, so each test's scope is kept by its context.
const scopes = new WeakMap<NodeTestContext, HookScope>();
beforeEach((context: NodeTestContext) => {
  scopes.set(context, enterTestScope(context.fullName ?? context.name, () => 0));
});
afterEach(async (context: NodeTestContext) => {
  const own = scopes.get(context) ?? null;
  scopes.delete(context);
  await leaveTestScope(own, undefined);
});
