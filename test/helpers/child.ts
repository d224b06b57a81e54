import { execFile } from 'node:child_process';

import { QUIET_NODE_FLAGS as QUIET_FLAGS, quietTunables } from '../../lib/quiet';

/** Flags for a child whose C heap moves only when the test moves it, as `npx nodeleak` starts mocha (see NOTES.md §1);
 * glibc's per-thread cache is turned off by an environment setting, see QUIET_GLIBC_TUNABLES. */
export const QUIET_NODE_FLAGS: string[] = [...QUIET_FLAGS];

/** GLIBC_TUNABLES for a quiet child; glibc reads it only at process start. */
export const QUIET_GLIBC_TUNABLES = quietTunables(undefined);

export interface ChildOptions {
  /** Node flags placed before the script, e.g. QUIET_NODE_FLAGS. */
  nodeFlags?: string[];
  /** Added to (or, when undefined, removed from) a copy of this process's environment. */
  env?: Record<string, string | undefined>;
  args?: string[];
  timeoutMs?: number;
  /** runCode only: load tsx so the snippet can require .ts modules (default true). */
  tsx?: boolean;
  /** A command the child's node is started through, e.g. WITHOUT_PROC: its words, then node's path and arguments. */
  launcher?: string[];
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function runNode(entry: string[], typescript: boolean, options: ChildOptions): Promise<ChildResult> {
  const loader = typescript ? ['--require', require.resolve('tsx/cjs')] : [];
  const argv = [...(options.nodeFlags ?? []), ...loader, ...entry, ...(options.args ?? [])];
  return new Promise((resolve, reject) => {
    const [command, ...launcherArgs] = [...(options.launcher ?? []), process.execPath];
    execFile(
      command,
      [...launcherArgs, ...argv],
      { env: childEnv(options.env), timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const failure = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        if (failure && typeof failure.code === 'string') {
          reject(failure);
          return;
        }
        resolve({
          code: failure ? ((failure.code as number | undefined) ?? null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** Runs a .ts or .js script in a fresh node process (TypeScript through tsx) and collects its output. */
export function runScript(script: string, options: ChildOptions = {}): Promise<ChildResult> {
  return runNode([script], script.endsWith('.ts'), options);
}

/** Runs a snippet of JavaScript (`node -e`) in a fresh node process; unless tsx is false it may require .ts modules. Require by absolute path. */
export function runCode(code: string, options: ChildOptions = {}): Promise<ChildResult> {
  return runNode(['-e', code], options.tsx ?? true, options);
}

/** The JSON document a child printed as its last line of output; an error naming its output when there is none. */
export function lastJson(result: ChildResult): unknown {
  const lastLine = result.stdout.trimEnd().split('\n').pop() ?? '';
  try {
    return JSON.parse(lastLine) as unknown;
  } catch {
    throw new Error(`the child did not end its output with JSON (${result.signal ?? `exit code ${result.code}`}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Runs a script that prints one JSON document as its last line of output, and returns it parsed. */
export async function runJsonScript<T>(script: string, options: ChildOptions = {}): Promise<T> {
  const result = await runScript(script, options);
  if (result.code !== 0 || result.signal) {
    throw new Error(`${script} exited with ${result.signal ?? `code ${result.code}`}:\n${result.stderr}${result.stdout}`);
  }
  return lastJson(result) as T;
}

/**
 * Linux: starts a command in a user namespace of its own, as root there: it holds no capability of the machine's
 * (such as the one /proc/self/map_files asks for), whoever starts it.
 */
export const IN_USER_NAMESPACE = ['unshare', '--user', '--map-root-user'];

/**
 * Linux: starts a command in a mount namespace of its own (in a user namespace, so no root is needed) where /proc is an
 * empty folder, as in a container or chroot that does not mount it.
 */
export const WITHOUT_PROC = [...IN_USER_NAMESPACE, '--mount', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$@"', 'sh'];
