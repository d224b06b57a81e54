'use strict';
// Usage: node unsupported-check.js <package dir>, where the staged package's
// binary is the binding over src-native/unsupported.c. Checks what a user on a
// platform without allocator statistics gets: an import that works, and calls
// that throw UnsupportedPlatformError naming the platform and what is supported.
const assert = require('node:assert/strict');

const nodeleak = require(process.argv[2]);
for (const call of ['heapInfo', 'heapTrim', 'processInfo']) {
  assert.throws(
    () => nodeleak[call](),
    (err) =>
      err instanceof nodeleak.UnsupportedPlatformError &&
      err instanceof nodeleak.NodeleakError &&
      err.code === 'NODELEAK_UNSUPPORTED' &&
      err.platform === `${process.platform}-${process.arch}-glibc` &&
      err.message.includes('nodeleak has no probe for this operating system') &&
      err.supported.length > 0,
  );
  console.log(`ok - ${call}() throws UnsupportedPlatformError`);
}
