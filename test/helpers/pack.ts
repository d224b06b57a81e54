import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoDir = path.join(__dirname, '..', '..');

/** npm's CLI script: the one running us (npm test), else the one installed beside this node. */
function findNpmCli(): string {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((file) => file && /npm-cli\.js$/.test(file) && fs.existsSync(file));
  if (!found) throw new Error(`npm-cli.js not found (looked at ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

const npmCli = findNpmCli();

function npm(args: string[], cwd: string): string {
  return execFileSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  for (const entry of paths) {
    const stat = fs.statSync(entry);
    if (stat.isDirectory()) {
      newest = Math.max(newest, newestMtime(fs.readdirSync(entry).map((name) => path.join(entry, name))));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  }
  return newest;
}

function mtimeOrZero(file: string): number {
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
}

/** Compiles lib/ into dist/ unless every dist/*.js is newer than its lib/*.ts. */
export function ensureFreshDist(): void {
  const libDir = path.join(repoDir, 'lib');
  const stale = fs
    .readdirSync(libDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .some((name) => {
      const js = path.join(repoDir, 'dist', name.replace(/\.ts$/, '.js'));
      return mtimeOrZero(js) < fs.statSync(path.join(libDir, name)).mtimeMs;
    });
  if (stale) npm(['run', 'build:ts'], repoDir);
}

/** The prebuild `npm run prebuild` writes on this machine. */
export function prebuildFile(): string {
  // prebuildify --tag-libc writes the glibc tag on every OS, and node-gyp-build matches it there too.
  return path.join(repoDir, 'prebuilds', `${process.platform}-${process.arch}`, 'nodeleak.glibc.node');
}

/**
 * Runs `npm run prebuild` unless the prebuild is newer than every native source. It builds in a staging copy
 * (--cwd) and writes to the repo's prebuilds/ (--out), so the repo's own build/ is left alone.
 */
export function ensureFreshPrebuild(): string {
  const prebuild = prebuildFile();
  const sources = [path.join(repoDir, 'binding.gyp'), path.join(repoDir, 'src-native')];
  if (mtimeOrZero(prebuild) > newestMtime(sources)) return prebuild;

  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-prebuild-'));
  try {
    for (const entry of ['binding.gyp', 'package.json', 'src-native']) {
      fs.cpSync(path.join(repoDir, entry), path.join(staging, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repoDir, 'node_modules'), path.join(staging, 'node_modules'));
    npm(['run', 'prebuild', '--', '--cwd', staging, '--out', repoDir], repoDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return prebuild;
}

export interface PackedTarball {
  tarball: string;
  files: string[];
}

/**
 * `npm pack` of the repo as it stands, as publishing packs it: prepack writes the consumer's package.json (postpack
 * restores the repo's), prepare rebuilds dist/.
 */
export function packTarball(destination: string): PackedTarball {
  const [report] = JSON.parse(npm(['pack', '--json', '--pack-destination', destination], repoDir)) as [
    { filename: string; files: { path: string }[] },
  ];
  return { tarball: path.join(destination, report.filename), files: report.files.map((file) => file.path) };
}

/** Tools a build from source would need; none of them may be reachable in a no-compiler environment. */
export const buildTools = ['cc', 'c++', 'gcc', 'g++', 'clang', 'make', 'python3', 'python'];

/**
 * A directory to use as the whole PATH: node, npm and sh (npm runs every script through `sh` found on PATH),
 * nothing else, so no compiler, make or python can be found.
 */
export function noCompilerBin(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  fs.symlinkSync(npmCli, path.join(dir, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(dir, 'sh'));
  return dir;
}

/** Variables that say how to reach the registry: a proxy, and the certificate authority it signs with. */
const REGISTRY_ROUTE = ['NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

/**
 * A minimal environment for the consumer project: that PATH, HOME so npm reads the user's npmrc (registry), and the
 * route to the registry, without which npm retries a proxy it cannot trust until the spec times out.
 */
export function consumerEnv(binDir: string): NodeJS.ProcessEnv {
  const route = Object.fromEntries(REGISTRY_ROUTE.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
  return { ...route, PATH: binDir, HOME: os.homedir() };
}

/** An empty project that depends on nothing yet. */
export function emptyProject(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  return dir;
}

/** `npm install <tarball>` in the project, run by the `npm` in env.PATH; returns npm's output (stdout then stderr). */
export function installTarball(project: string, tarball: string, env: NodeJS.ProcessEnv, extraArgs: string[] = []): string {
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...extraArgs, tarball], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`npm install exited with ${result.status}:\n${output}`);
  return output;
}
