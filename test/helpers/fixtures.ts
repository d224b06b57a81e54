import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const fixturesDir = path.join(__dirname, '..', 'fixtures');
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');

/** Node's own headers when they sit beside the binary (/usr/include/node), so node-gyp needs no download. */
function nodedirArgs(): string[] {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function newestMtime(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((newest, entry) => Math.max(newest, fs.statSync(path.join(dir, entry.name)).mtimeMs), 0);
}

/**
 * Builds test/fixtures/<name> (a node-gyp project) when its sources changed, and returns the path of its target
 * `target` (default: <name>).
 */
export function buildFixture(name: string, target: string = name): string {
  const dir = path.join(fixturesDir, name);
  const binary = path.join(dir, 'build', 'Release', `${target}.node`);
  if (!fs.existsSync(binary) || fs.statSync(binary).mtimeMs < newestMtime(dir)) {
    execFileSync(process.execPath, [nodeGyp, 'rebuild', ...nodedirArgs()], { cwd: dir, stdio: 'pipe' });
  }
  return binary;
}

/** Loads a fixture addon, building it first if needed. */
export function loadFixture<T>(name: string, target: string = name): T {
  return require(buildFixture(name, target)) as T;
}
