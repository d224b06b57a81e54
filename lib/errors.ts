/** Base class of every error nodeleak throws on purpose. */
export class NodeleakError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A call was made with arguments nodeleak does not accept. */
export class InvalidArgumentError extends NodeleakError {
  constructor(message: string) {
    super('NODELEAK_INVALID_ARGUMENT', message);
  }
}

/** This platform or allocator has no way to answer the call. */
export class UnsupportedPlatformError extends NodeleakError {
  readonly platform: string;
  /** Why this platform or allocator cannot answer, without the advice. */
  readonly reason: string;
  readonly supported: string;

  constructor(platform: string, reason: string, supported: string, advice?: string) {
    super(
      'NODELEAK_UNSUPPORTED',
      `nodeleak cannot probe the C heap on ${platform}: ${reason}. Supported: ${supported}.${advice ? ` ${advice}` : ''}`,
    );
    this.platform = platform;
    this.reason = reason;
    this.supported = supported;
  }
}

/** The native probe could not be loaded: no prebuilt binary matches and none was built. */
export class BindingLoadError extends NodeleakError {
  readonly platform: string;

  constructor(platform: string, cause: unknown, advice?: string) {
    const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(
      'NODELEAK_NO_BINDING',
      `nodeleak has no native probe for ${platform} (${detail}). ` +
        'To build it from source, install a C/C++ toolchain and python3, then run ' +
        '`npm rebuild nodeleak --build-from-source` (or `npx node-gyp rebuild` inside node_modules/nodeleak).' +
        (advice ? ` ${advice}` : ''),
      { cause },
    );
    this.platform = platform;
  }
}

/**
 * A check was stopped through its signal, or because its test's time ran out, before it gave a verdict; or it gave up
 * on a promise of the user's code (a call of the function, its trimCallback) that was still pending long after its
 * time budget ended.
 */
export class CheckAbortedError extends NodeleakError {
  /** The check's label (its `name` option, or the function's name). */
  readonly label: string;
  /** Calls made before it stopped, warm-up included. */
  readonly calls: number;
  /** The user's code whose promise was pending when the check stopped, left pending ('call 10', 'trimCallback'); null when none was. */
  readonly pending: string | null;

  constructor(label: string, calls: number, reason: unknown, pendingCode: string | null = null) {
    const why = reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
    // What was pending comes before the reason, whose advice is for a check that was only slow.
    const pending = pendingCode ? `; ${pendingCode} had not settled, and was left pending` : '';
    // A reason that is only text is all in the message.
    const cause = typeof reason === 'string' ? undefined : { cause: reason };
    super('NODELEAK_ABORTED', `the check of ${label} was stopped after ${calls} calls, before a verdict${pending}: ${why}`, cause);
    this.label = label;
    this.calls = calls;
    this.pending = pendingCode;
  }
}

/** A test ended while a check it started was still running, or without awaiting the check's result. */
export class UnawaitedCheckError extends NodeleakError {
  readonly label: string;
  /** Where the check was started: `file:line:column`, or '' when the stack did not say. */
  readonly site: string;

  constructor(test: string, label: string, site: string, state: 'running' | 'passed' | 'failed', cause?: unknown) {
    const where = site ? ` (started at ${site})` : '';
    const what =
      state === 'running'
        ? 'was still running when the test ended; it was stopped'
        : state === 'failed'
          ? 'failed, but nothing awaited it'
          : 'was not awaited';
    const found = state === 'failed' && cause instanceof Error ? `\nIt found: ${cause.message}` : '';
    super(
      'NODELEAK_UNAWAITED_CHECK',
      `${test}: the check of ${label}${where} ${what}. Await it (\`await checkLeak(…)\`, \`await this.execute(…)\`, ` +
        `\`await expect(fn).to.not.leakMemory()\`) or return it from the test.${found}`,
      cause === undefined ? undefined : { cause },
    );
    this.label = label;
    this.site = site;
  }
}

/** Another check is running in this process: each measures the whole process, so two at once blame each other. */
export class ConcurrentCheckError extends NodeleakError {
  /** Label of the check that is running. */
  readonly running: string;

  constructor(label: string, running: string, otherThread: boolean) {
    const fix = otherThread
      ? 'it runs in another thread of this process. Run leak tests one process at a time: no worker threads ' +
        "(vitest: pool: 'forks'; jest: workers are processes by default; mocha --parallel is fine)"
      : 'await each check before starting the next (an unawaited check keeps running after its test; ' +
        'load nodeleak/mocha, as `npx nodeleak` does, to have such a test fail)';
    super('NODELEAK_CONCURRENT_CHECK', `cannot check ${label}: the check of ${running} is still running, and ${fix}`);
    this.running = running;
  }
}

/** Fake timers were installed before nodeleak was loaded: a check needs the real ones, and nodeleak has none to take. */
export class FakeTimersError extends NodeleakError {
  /** The timers that were fake. */
  readonly faked: readonly string[];

  constructor(label: string, faked: readonly string[]) {
    super(
      'NODELEAK_FAKE_TIMERS',
      `cannot check ${label}: ${faked.join(', ')} ${faked.length === 1 ? 'was a fake timer' : 'were fake timers'} when nodeleak ` +
        'was loaded (vi.useFakeTimers(), sinon.useFakeTimers() or jest.useFakeTimers() before nodeleak was imported), and a ' +
        'check needs the real ones to let the event loop turn and to keep its time budget. Import nodeleak before ' +
        'the fake timers are installed (first in the setup file that installs them); fake timers installed later do ' +
        'not disturb a check.',
    );
    this.faked = faked;
  }
}
