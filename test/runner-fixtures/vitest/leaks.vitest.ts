// Run by test/runners.test.ts through vitest: one leaking and one clean check, and the positive form; then the test
// scopes: an unawaited check, a budget from the test's timeout, an afterEach hook that throws, and concurrent tests.
import { afterEach, describe, expect, test, vi } from 'vitest';
import 'nodeleak/vitest';
import { checkLeak, isQuietProcess } from 'nodeleak';

const kept: number[][] = [];
const leak = (): number => kept.push(new Array(128).fill(0));

test('runs in a quiet process', () => {
  expect(isQuietProcess()).toBe(true);
  expect(process.env.MALLOC_CONF?.split(',')).toContain('tcache:false');
});

test('a leaking function fails not.toLeakMemory', async () => {
  await expect(leak).not.toLeakMemory({ verbosity: 0 });
});

test('a clean function passes not.toLeakMemory', async () => {
  await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
});

test('toLeakMemory passes for a leaking function', async () => {
  await expect(leak).toLeakMemory({ verbosity: 0 });
});

test('throws: a Node-core TypeError matches the TypeError of this realm', async () => {
  const fromNodeCore = (): void => {
    (null as unknown as { x: number }).x = 1;
  };
  await expect(fromNodeCore).not.toLeakMemory({ verbosity: 0, throws: TypeError });
});

test('a check under vi.useFakeTimers() turns the real event loop', async () => {
  vi.useFakeTimers();
  try {
    await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
  } finally {
    vi.useRealTimers();
  }
});

test('a check the test does not await fails the test', async () => {
  void expect(leak).not.toLeakMemory({ verbosity: 0 });
});

test('a check takes its time budget from the test timeout, so it ends before it', { timeout: 1500 }, async () => {
  await expect(async () => {
    await new Promise((resolve) => setTimeout(resolve, 3));
  }).not.toLeakMemory({ verbosity: 0 });
});

test('a check after those is not blamed for them', async () => {
  await expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory({ verbosity: 0 });
});

describe('an afterEach hook that throws', () => {
  afterEach(({ task }) => {
    if (task.name === 'a test whose afterEach hook throws') throw new Error('this afterEach hook throws');
  });

  test('a test whose afterEach hook throws', () => {});

  test('the test after it has a scope of its own: a check it does not await fails it', async () => {
    void expect(leak).not.toLeakMemory({ verbosity: 0 });
  });
});

describe.concurrent('concurrent tests', () => {
  test('a check beside a concurrent test is refused, saying why', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // the test beside it has begun
    expect(() => checkLeak(() => JSON.parse('[1,2,3]'))).toThrow(/^cannot check .* here: it starts while another test runs beside its own/);
    // The matcher throws as it is called, so a test that does not await it fails too.
    expect(() => expect(() => JSON.parse('[1,2,3]')).not.toLeakMemory()).toThrow(/starts while another test runs beside its own/);
  });

  test('a concurrent test without a check', async () => {
    await new Promise((resolve) => setTimeout(resolve, 40));
  });
});
