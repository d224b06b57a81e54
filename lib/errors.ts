import { formatNumber } from './numbers';
import { type Runner, hooksAdvice, runnerName } from './runner';

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
  /** What cannot be done there: a reading of the probe's, or a check as a whole. */
  readonly task: string;

  constructor(platform: string, reason: string, supported: string, advice?: string, task = 'probe the C heap') {
    super('NODELEAK_UNSUPPORTED', `nodeleak cannot ${task} on ${platform}: ${reason}. Supported: ${supported}.${advice ? ` ${advice}` : ''}`);
    this.platform = platform;
    this.reason = reason;
    this.supported = supported;
    this.task = task;
  }
}

/** The native probe could not be loaded: no prebuilt binary matches and none was built. */
export class BindingLoadError extends NodeleakError {
  readonly platform: string;

  constructor(platform: string, cause: unknown, advice?: string) {
    const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    const refused = refusedByNode(cause);
    super(
      'NODELEAK_NO_BINDING',
      refused
        ? `nodeleak cannot load its native probe for ${platform} in this process (${detail}). ${refused}` + (advice ? ` ${advice}` : '')
        : `nodeleak has no native probe for ${platform} (${detail}). ` +
            'To build it from source, install a C/C++ toolchain and python3, then run ' +
            '`npm rebuild nodeleak` (or `npx node-gyp rebuild` inside node_modules/nodeleak).' +
            (advice ? ` ${advice}` : ''),
      { cause },
    );
    this.platform = platform;
  }
}

/**
 * The probe's error (`err`: BindingLoadError, UnsupportedPlatformError) made again with `advice`, the way to do without
 * what needed the probe; any other error as it is.
 */
export function withProbeAdvice(err: unknown, advice: string): unknown {
  if (err instanceof BindingLoadError) return new BindingLoadError(err.platform, err.cause, advice);
  if (err instanceof UnsupportedPlatformError) return new UnsupportedPlatformError(err.platform, err.reason, err.supported, advice, err.task);
  return err;
}

/**
 * What to do when the process itself refused to load the probe, which is there: addons turned off (`node --no-addons`,
 * or the permission model without --allow-addons), or a file read the permission model did not allow (node-gyp-build
 * reads /etc/alpine-release and the package's folders). Null for any other cause.
 */
function refusedByNode(cause: unknown): string | null {
  if ((cause as { code?: unknown } | null)?.code === 'ERR_DLOPEN_DISABLED') {
    return 'The probe is a native addon, and this process may not load addons (node --no-addons, or --permission without --allow-addons): run the tests with --allow-addons.';
  }
  const refusal = accessRefused(cause);
  return refusal && `Node's permission model refused ${refusal.permission} of ${refusal.resource} while the probe loaded: allow it (${refusal.allow}), and addons (--allow-addons).`;
}

/** Node's permission model refusing an access (ERR_ACCESS_DENIED): what, of what, and the flag that allows it; else null. */
function accessRefused(err: unknown): { permission: string; resource: string; allow: string } | null {
  const { code, permission, resource } = (err ?? {}) as { code?: unknown; permission?: unknown; resource?: unknown };
  if (code !== 'ERR_ACCESS_DENIED') return null;
  const what = typeof permission === 'string' ? permission : 'an access';
  const path = typeof resource === 'string' ? resource : 'a path';
  // The model allows a folder given with its trailing separator; /proc/self/ covers every read of the process's own.
  const allowed = path.startsWith('/proc/self/') ? '/proc/self/' : path;
  return { permission: what, resource: path, allow: what === 'FileSystemRead' ? `--allow-fs-read=${allowed}` : `the --allow-… flag for ${what}` };
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
    super('NODELEAK_ABORTED', `the check of ${label} was stopped after ${formatNumber(calls)} calls, before a verdict${pending}: ${why}`, cause);
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

  /**
   * `timeoutUnknown`: the runner does not say whether the test's own timeout ended it (node:test, and jest where its
   * state is not found), so a check still running at its end may have been awaited; the message then says what to do
   * in either case.
   */
  constructor(test: string, label: string, site: string, state: 'running' | 'passed' | 'failed', cause?: unknown, timeoutUnknown = false) {
    const where = site ? ` (started at ${site})` : '';
    const what =
      state === 'running'
        ? timeoutUnknown
          ? "was still running when the test ended (it was not awaited, or the test's timeout ended first); it was stopped"
          : 'was still running when the test ended; it was stopped'
        : state === 'failed'
          ? 'failed, but nothing awaited it'
          : 'was not awaited';
    const found = state === 'failed' && cause instanceof Error ? `\nIt found: ${cause.message}` : '';
    const timedOut = state === 'running' && timeoutUnknown ? ' If the test awaited it, give the test more time or the check a maxMs.' : '';
    super(
      'NODELEAK_UNAWAITED_CHECK',
      `${test}: the check of ${label}${where} ${what}. Await it (\`await checkLeak(…)\`, \`await this.execute(…)\`, ` +
        `\`await expect(fn).to.not.leakMemory()\`, \`await expect(fn).not.toLeakMemory()\`) or return it from the test.${timedOut}${found}`,
      cause === undefined ? undefined : { cause },
    );
    this.label = label;
    this.site = site;
  }
}

/**
 * A check was started outside a test scope in a test process: without nodeleak's test hooks (mocha without its root
 * hooks; vitest, jest or node:test while no test ran between them), or beside another test between them (tests run at
 * once). A test that does not await it would pass before the verdict, and the next test's check would be blamed for it
 * (vitest even ends its fork before the verdict). Thrown by the call that starts the check, so it fails the test
 * whether or not the test awaits it.
 */
export class UnscopedCheckError extends NodeleakError {
  /** `place`: without the hooks of `runner`, outside the tests they run around, or beside another test between them. */
  constructor(label: string, place: { where: 'without hooks' | 'outside the tests'; runner: Runner } | { where: 'beside another test' }) {
    let why: string;
    if (place.where === 'beside another test') {
      why =
        'it starts while another test runs beside its own (tests run at once: test.concurrent or describe.concurrent, ' +
        "node:test's concurrency option; on Node 18, also a node:test subtest inside its parent), so what the tests " +
        "beside it allocate would count as the function's, and nothing would fail a test that does not await it. " +
        'Keep leak tests out of concurrent groups';
    } else if (place.where === 'outside the tests') {
      why =
        `it starts outside the tests nodeleak's ${runnerName(place.runner)} hooks run around (in a beforeAll hook, at a ` +
        "file's top level, or in a test the runner starts before its hooks, as jest's test.concurrent), so nothing would " +
        'fail a test that does not await it, and the next check would be blamed for it. Start checks inside a test that ' +
        'runs alone';
    } else {
      why =
        `this ${runnerName(place.runner)} test runs without nodeleak's test hooks, and without them a test that does not ` +
        "await its check passes before the verdict, and the next test's check is blamed for it. Load them: " +
        `${hooksAdvice(place.runner)}; and start checks inside a test (not in a before/beforeAll hook or at a file's top level)`;
    }
    super('NODELEAK_UNSCOPED_CHECK', `cannot check ${label} here: ${why}`);
  }
}

/** Another check is running in this process: each measures the whole process, so two at once blame each other. */
export class ConcurrentCheckError extends NodeleakError {
  /** Label of the check that is running. */
  readonly running: string;

  /** `hooks`: how to load the test hooks of the runner in use (runner.ts's hooksAdvice()); mocha's when not given. */
  constructor(label: string, running: string, otherThread: boolean, hooks = hooksAdvice('mocha')) {
    const fix = otherThread
      ? 'it runs in another thread of this process. Run leak tests one process at a time: no worker threads ' +
        "(vitest: pool: 'forks'; jest: workers are processes by default; mocha --parallel is fine)"
      : 'await each check before starting the next, in tests that run one after another (not vitest\'s test.concurrent, ' +
        `nor node:test's concurrency option); an unawaited check keeps running after its test: ${hooks}, to have such a ` +
        'test fail';
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

/**
 * Node's permission model (`node --permission`) refused a read the check makes itself: /proc/self (the process's open
 * files, threads and mapped files) or an addon loaded in the process (read for an allocator of its own). A check that
 * went on without it could pass without having looked.
 */
export class PermissionDeniedError extends NodeleakError {
  /** The permission refused, as Node names it ('FileSystemRead'). */
  readonly permission: string;
  /** What it was refused for (a path). */
  readonly resource: string;

  constructor(refusal: { permission: string; resource: string; allow: string }, cause: unknown) {
    super(
      'NODELEAK_PERMISSION_DENIED',
      `Node's permission model refused ${refusal.permission} of ${refusal.resource}, which a check reads itself: it reads ` +
        "/proc/self (the process's open files, threads and mapped files) and the addons loaded (for allocators of their " +
        `own). Start the tests with ${refusal.allow} (or --allow-fs-read=* for every such read), and --allow-addons for ` +
        "nodeleak's probe.",
      { cause },
    );
    this.permission = refusal.permission;
    this.resource = refusal.resource;
  }
}

/** `err` as a PermissionDeniedError when it is Node's permission model refusing an access, else null. */
export function permissionDenied(err: unknown): PermissionDeniedError | null {
  const refusal = accessRefused(err);
  return refusal && new PermissionDeniedError(refusal, err);
}
