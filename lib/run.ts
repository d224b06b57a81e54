// `npx nodeleak run -- <command …>`: starts any runner (vitest, jest, node --test, a script, tsx) so that every Node
// process of the run is quiet where the settings can reach it: the flags on the command line of a Node script,
// GLIBC_TUNABLES in the environment (inherited by every child), and a `node` first on PATH that adds the flags for
// children started by that name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { QUIET_NODE_FLAGS, quietEnvironment } from './quiet';

type Environment = Record<string, string | undefined>;

export interface Launch {
  /** The executable to spawn. */
  file: string;
  args: string[];
  env: Environment;
  /** Said on stderr before the run, when the flags cannot reach the command itself. */
  warning: string | null;
  /** A folder to remove when the run ends. */
  shimDir: string | null;
}

/** The executable `name` resolves to: a path as given, else node_modules/.bin above cwd, else PATH. */
function findExecutable(name: string, cwd: string, env: Environment): string | null {
  if (name.includes('/') || name.includes(path.sep)) {
    const file = path.resolve(cwd, name);
    return fs.existsSync(file) ? file : null;
  }
  const dirs: string[] = [];
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    dirs.push(path.join(dir, 'node_modules', '.bin'));
    if (path.dirname(dir) === dir) break;
  }
  dirs.push(...(env.PATH ?? '').split(path.delimiter).filter(Boolean));
  const names = process.platform === 'win32' ? [name, `${name}.cmd`, `${name}.exe`] : [name];
  for (const dir of dirs) {
    for (const candidate of names) {
      const file = path.join(dir, candidate);
      if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
    }
  }
  return null;
}

/** Whether a file is a script node runs: a .js/.mjs/.cjs file, or one whose first line is a node shebang. */
function isNodeScript(file: string): boolean {
  if (/\.(c|m)?js$/.test(file)) return true;
  const head = Buffer.alloc(128);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const first = head.toString('utf8').split('\n')[0];
  return /^#!.*\bnode(\s|$)/.test(first);
}

/** A folder holding a `node` that starts this node with the quiet flags (POSIX; none on Windows). */
function nodeShim(): string | null {
  if (process.platform === 'win32') return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-run-'));
  const script = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${QUIET_NODE_FLAGS.join(' ')} "$@"\n`;
  fs.writeFileSync(path.join(dir, 'node'), script, { mode: 0o755 });
  return dir;
}

/**
 * For `node --test`: nodeleak's node:test hooks, loaded in every test process, as the mocha command loads mocha's.
 * `--import`, as node:test's own process runs --require modules too (and would report an empty run of its own); a Node
 * without it (before 18.18) gets none, and its checks say what to import.
 */
function nodeTestHooks(nodeArgs: readonly string[]): string[] {
  if (!nodeArgs.includes('--test') || !process.allowedNodeEnvironmentFlags.has('--import')) return [];
  return ['--import', pathToFileURL(require.resolve('./node-test')).href];
}

/** How to start `command` quietly from `cwd`. Throws Error when the command cannot be found. */
export function quietLaunch(command: readonly string[], cwd: string, env: Environment): Launch {
  const [name, ...rest] = command;
  if (!name) throw new Error('nodeleak run needs a command: npx nodeleak run -- <command> [arguments...]');
  const isNode = name === 'node' || path.resolve(cwd, name) === process.execPath;
  const file = isNode ? process.execPath : findExecutable(name, cwd, env);
  if (!file) throw new Error(`nodeleak run: ${name} was not found in node_modules/.bin or on PATH`);
  const script = isNode ? null : isNodeScript(file) ? fs.realpathSync(file) : null;
  // Made once nothing is left to throw: the caller removes it when the run ends.
  const shimDir = nodeShim();
  const quietEnv: Environment = {
    ...env,
    ...quietEnvironment(env),
    ...(shimDir ? { PATH: [shimDir, env.PATH].filter(Boolean).join(path.delimiter) } : {}),
  };
  if (isNode) return { file, args: [...QUIET_NODE_FLAGS, ...nodeTestHooks(rest), ...rest], env: quietEnv, warning: null, shimDir };
  if (script) return { file: process.execPath, args: [...QUIET_NODE_FLAGS, script, ...rest], env: quietEnv, warning: null, shimDir };
  return {
    file,
    args: rest,
    env: quietEnv,
    warning:
      `nodeleak: ${name} is not a Node script, so the quiet flags (${QUIET_NODE_FLAGS.join(' ')}) cannot be put on its ` +
      'command line; Node processes it starts by the name `node` get them, others warn when a check runs in them.',
    shimDir,
  };
}
