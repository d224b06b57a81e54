import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { platformTuple } from '../lib/platform';
import { QUIET_GLIBC_TUNABLES, QUIET_NODE_FLAGS } from './helpers/child';
import {
  buildTools,
  consumerEnv,
  emptyProject,
  ensureFreshDist,
  ensureFreshPrebuild,
  installTarball,
  noCompilerBin,
  packTarball,
  repoDir,
  type PackedTarball,
} from './helpers/pack';

const MiB = 1 << 20;
const tuple = platformTuple();
/** The allocator heapInfo() reads where this runs (macOS: malloc zones; Windows: the process heaps). */
const nativeAllocator = process.platform === 'darwin' ? 'darwin-zones' : process.platform === 'win32' ? 'windows-heap' : 'glibc';

/** Run in the consumer: reads the figures around a 16 MiB allocation, so they must be live, not constant. */
const liveFiguresScript = `
const nodeleak = require('nodeleak');
const before = nodeleak.heapInfo();
const block = Buffer.alloc(16 * ${MiB}, 1);
const after = nodeleak.heapInfo();
console.log(JSON.stringify({
  before, after, blockBytes: block.length,
  processInfo: nodeleak.processInfo(),
  loadedFrom: require('node-gyp-build').resolve(require('node:path').dirname(require.resolve('nodeleak/package.json'))),
}));`;

const esmScript = `
import { heapInfo, processInfo, BindingLoadError } from 'nodeleak';
console.log(JSON.stringify({ heapInfo: heapInfo(), threads: processInfo().threads, errorClass: typeof BindingLoadError }));
`;

const typesCheck = `
import { heapInfo, heapTrim, processInfo, BindingLoadError, type Allocator, type HeapInfo } from 'nodeleak';
const info: HeapInfo = heapInfo();
const used: number = info.heapUsed + info.mmapUsed;
const allocator: Allocator = info.allocator;
const trimmed: string = heapTrim().action;
const threads: number = processInfo().threads;
const platform: string = new BindingLoadError('x', null).platform;
// @ts-expect-error heapInfo takes no arguments
heapInfo(1);
// @ts-expect-error heapUsed is a number
const wrong: string = info.heapUsed;
export { used, allocator, trimmed, threads, platform, wrong };
`;

const consumerTsconfig = {
  compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022'], types: [], strict: true, noEmit: true },
  files: ['check.ts', 'check.mts'],
};

interface LiveFigures {
  before: { heapUsed: number; mmapUsed: number; allocator: string };
  after: { heapUsed: number; mmapUsed: number; allocator: string };
  blockBytes: number;
  processInfo: { rss: number; uss: number; fds: number; threads: number };
  loadedFrom: string;
}

function runNode(project: string, env: NodeJS.ProcessEnv, args: string[]): string {
  return execFileSync('node', args, { cwd: project, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function installedDir(project: string): string {
  return path.join(project, 'node_modules', 'nodeleak');
}

function expectLiveFigures(project: string, env: NodeJS.ProcessEnv): void {
  // A quiet process: in a plain one V8's threads may free blocks between the two readings.
  const quietEnv = { ...env, GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES };
  const figures = JSON.parse(runNode(project, quietEnv, [...QUIET_NODE_FLAGS, '-e', liveFiguresScript])) as LiveFigures;
  expect(figures.before.allocator).to.equal(nativeAllocator);
  expect(figures.before.heapUsed).to.be.greaterThan(0);
  const grown = figures.after.heapUsed + figures.after.mmapUsed - (figures.before.heapUsed + figures.before.mmapUsed);
  expect(grown, 'C heap growth across a 16 MiB Buffer').to.be.at.least(figures.blockBytes);
  expect(figures.processInfo.rss).to.be.greaterThan(figures.blockBytes);
  expect(figures.processInfo.threads).to.be.at.least(1);
  expect(figures.loadedFrom).to.equal(path.join(fs.realpathSync(installedDir(project)), 'prebuilds', `${process.platform}-${process.arch}`, 'nodeleak.glibc.node'));
}

function expectNothingCompiled(project: string): void {
  expect(fs.existsSync(path.join(installedDir(project), 'build')), 'node_modules/nodeleak/build exists').to.equal(false);
}

function expectEsmImport(project: string, env: NodeJS.ProcessEnv): void {
  fs.writeFileSync(path.join(project, 'esm.mjs'), esmScript);
  const result = JSON.parse(runNode(project, env, ['esm.mjs'])) as { heapInfo: { heapUsed: number; allocator: string }; threads: number; errorClass: string };
  expect(result.heapInfo.allocator).to.equal(nativeAllocator);
  expect(result.heapInfo.heapUsed).to.be.greaterThan(0);
  expect(result.threads).to.be.at.least(1);
  expect(result.errorClass).to.equal('function');
}

describe('the packed tarball', function () {
  this.timeout(180_000);

  let work: string;
  let packed: PackedTarball;
  let env: NodeJS.ProcessEnv;

  before(function () {
    // The no-compiler PATH is made of POSIX symlinks (node, npm, sh); on Windows, release.yml's install job installs
    // the packed tarball with no compiler instead.
    if (process.platform === 'win32') this.skip();
    ensureFreshDist();
    ensureFreshPrebuild();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-pack-'));
    packed = packTarball(work);
    env = consumerEnv(noCompilerBin(path.join(work, 'bin')));
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled TypeScript with types, the prebuild, the native sources and binding.gyp, and nothing else', function () {
    expect(packed.files).to.include.members([
      'package.json',
      'README.md',
      'binding.gyp',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/probe.d.ts',
      'dist/binding.js',
      `prebuilds/${process.platform}-${process.arch}/nodeleak.glibc.node`,
      'src-native/binding.cc',
      'src-native/probe.h',
      'src-native/linux.c',
    ]);
    const shipped = new Set(packed.files.map((file) => file.split('/')[0]));
    expect([...shipped].sort()).to.deep.equal(['README.md', 'binding.gyp', 'dist', 'package.json', 'prebuilds', 'src-native']);
  });

  it('is installed into a PATH where no compiler, make or python can be found', function () {
    for (const tool of buildTools) {
      const lookup = spawnSync('sh', ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
      expect(lookup.status, `${tool} found at ${lookup.stdout.trim()}`).to.not.equal(0);
    }
  });

  describe('installed with install scripts running (npm 11 still runs them by default) and no compiler', function () {
    let project: string;
    let npmOutput: string;

    before(function () {
      project = emptyProject(path.join(work, 'scripts-on'));
      npmOutput = installTarball(project, packed.tarball, env);
    });

    it("ran nodeleak's install script, which found the prebuild and compiled nothing", function () {
      expect(npmOutput).to.match(/> nodeleak@[\d.]+ install\n> node-gyp-build/);
      expectNothingCompiled(project);
    });

    it('ships a package.json whose only script is the install a consumer runs, and npm lists just that', function () {
      const shipped = JSON.parse(fs.readFileSync(path.join(installedDir(project), 'package.json'), 'utf8')) as { scripts: unknown; devDependencies?: unknown; allowScripts?: unknown };
      expect(shipped.scripts).to.deep.equal({ install: 'node-gyp-build' });
      expect(shipped.devDependencies).to.equal(undefined);
      expect(shipped.allowScripts, "the repository's own list, of its dev dependencies").to.equal(undefined);
      const listed = npmOutput.split('\n').filter((line) => /nodeleak@[\d.]+ \(/.test(line));
      for (const line of listed) expect(line).to.match(/nodeleak@[\d.]+ \(install: node-gyp-build\)$/);
      expect(JSON.parse(fs.readFileSync(path.join(repoDir, 'package.json'), 'utf8')).scripts.prepare, 'the repo keeps its own').to.equal('npm run build:ts');
    });

    it("require('nodeleak').heapInfo() returns live figures from the prebuild", function () {
      expectLiveFigures(project, env);
    });

    it("import { heapInfo } from 'nodeleak' works from an .mjs", function () {
      expectEsmImport(project, env);
    });

    it("installs the nodeleak command and the 'nodeleak/chai' entry point", function () {
      const help = runNode(project, env, [path.join(installedDir(project), 'dist', 'cli.js'), '--help']);
      expect(help).to.match(/nodeleak/);
      expect(fs.existsSync(path.join(project, 'node_modules', '.bin', 'nodeleak')), 'node_modules/.bin/nodeleak').to.equal(true);
      const plugin = runNode(project, env, ['-e', "console.log(typeof require('nodeleak/chai'))"]);
      expect(plugin.trim()).to.equal('function');
    });

    it('its .d.ts types resolve for a TypeScript consumer, in CommonJS and ESM', function () {
      fs.writeFileSync(path.join(project, 'check.ts'), typesCheck);
      fs.writeFileSync(path.join(project, 'check.mts'), typesCheck);
      fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(consumerTsconfig));
      const tsc = path.join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = spawnSync('node', [tsc, '-p', 'tsconfig.json'], { cwd: project, env, encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).to.equal(0);
    });
  });

  describe('installed with --ignore-scripts and no compiler', function () {
    let project: string;

    before(function () {
      project = emptyProject(path.join(work, 'scripts-off'));
      const npmOutput = installTarball(project, packed.tarball, env, ['--ignore-scripts']);
      expect(npmOutput).to.not.match(/> node-gyp-build/);
    });

    it('loads the prebuild at run time and compiled nothing', function () {
      expectLiveFigures(project, env);
      expectEsmImport(project, env);
      expectNothingCompiled(project);
    });

    it('without the prebuild, importing still works and the first call throws BindingLoadError naming the platform', function () {
      fs.rmSync(path.join(installedDir(project), 'prebuilds'), { recursive: true });
      expectNothingCompiled(project);
      const script = `
const nodeleak = require('nodeleak');
try { nodeleak.heapInfo(); console.log(JSON.stringify({ threw: false })); }
catch (err) {
  console.log(JSON.stringify({ threw: true, isBindingLoadError: err instanceof nodeleak.BindingLoadError,
    isNodeleakError: err instanceof nodeleak.NodeleakError, name: err.name, code: err.code, platform: err.platform, message: err.message }));
}`;
      const outcome = JSON.parse(runNode(project, env, ['-e', script])) as Record<string, unknown>;
      expect(outcome).to.include({ threw: true, isBindingLoadError: true, isNodeleakError: true, name: 'BindingLoadError', code: 'NODELEAK_NO_BINDING', platform: tuple });
      expect(outcome.message).to.be.a('string').that.includes(tuple).and.matches(/build it from source/i).and.includes('npm rebuild nodeleak');

      fs.writeFileSync(path.join(project, 'esm-missing.mjs'), "import { heapInfo } from 'nodeleak';\ntry { heapInfo(); } catch (err) { console.log(err.name); }\n");
      expect(runNode(project, env, ['esm-missing.mjs']).trim()).to.equal('BindingLoadError');
    });

    it("the error's advice, `npm rebuild nodeleak`, builds it where a compiler is reachable", function () {
      const withCompiler = { PATH: process.env.PATH, HOME: os.homedir() };
      const rebuild = spawnSync('npm', ['rebuild', 'nodeleak'], { cwd: project, env: withCompiler, encoding: 'utf8' });
      expect(rebuild.status, rebuild.stdout + rebuild.stderr).to.equal(0);
      expect(rebuild.stderr, 'npm 11.19 warns of configs it will drop (--build-from-source)').to.not.match(/unknown (cli )?config/i);
      expect(fs.existsSync(path.join(installedDir(project), 'build', 'Release', 'nodeleak.node'))).to.equal(true);
      const info = JSON.parse(runNode(project, withCompiler, ['-p', "JSON.stringify(require('nodeleak').heapInfo())"])) as { allocator: string };
      expect(info.allocator).to.equal(nativeAllocator);
    });
  });
});
