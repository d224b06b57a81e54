import { expect } from 'chai';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { resolveMocha } from '../lib/cli';
import { heapInfo } from '../lib/probe';
import { QUIET_NODE_FLAGS, mallocConfTurnsTcacheOff, quietAdvice, quietEnvironment, quietMallocConf, quietTunables } from '../lib/quiet';
import { buildFixture } from './helpers/fixtures';

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'harness-fixtures');
const cli = path.join(root, 'lib', 'cli.ts');

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

type Child = ReturnType<typeof spawn>;

/** Runs node with `argv` and collects what it did; `onStdout` sees the output so far as it arrives. */
function runNode(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onStdout?: (text: string, child: Child) => void } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: options.cwd ?? root, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = stdout + chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = stderr + chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `nodeleak args...` from the TypeScript source, as dist/cli.js would run. */
function nodeleak(args: string[], options: Parameters<typeof runNode>[1] = {}): Promise<Outcome> {
  return runNode(['--require', require.resolve('tsx/cjs'), cli, ...args], options);
}

const specArgs = (file: string): string[] => ['--no-config', '--require', 'tsx/cjs', path.join(fixtures, file)];

describe('nodeleak CLI', function () {
  this.timeout(60_000);

  it('prints its usage with --help', async () => {
    const { code, stdout } = await nodeleak(['--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^Usage: nodeleak \[--where\] \[mocha arguments\.\.\.\]/);
    expect(stdout).to.include('--single-threaded');
    expect(stdout).to.include('GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0');
    expect(stdout).to.include('MALLOC_CONF=tcache:false');
  });

  it('runs mocha with the quiet flags and environment, arguments untouched; workers and the thread pool still work', async () => {
    const { code, stdout, stderr } = await nodeleak([...specArgs('quiet-probe.spec.ts'), '--reporter', 'dot'], {
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.tcache_count=7', MALLOC_CONF: 'narenas:2,tcache:true' },
    });
    expect(code, stderr).to.equal(0);
    const line = stdout.split('\n').find((text) => text.startsWith('QUIET-PROBE '));
    const probe = JSON.parse((line as string).slice('QUIET-PROBE '.length)) as Record<string, unknown>;
    expect(probe.execArgv).to.deep.equal(['--single-threaded', '--expose-gc', '--max-semi-space-size=1', '--no-sparkplug']);
    expect(probe.tunables).to.equal('glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0');
    expect(probe.mallocConf).to.equal('narenas:2,tcache:false');
    expect(probe.esbuildWorkerThreads).to.equal('0');
    expect(probe.threadsEsbuildAdded, 'esbuild left a thread in the quiet process').to.equal(0);
    expect(probe.quiet).to.equal(true);
    expect(probe.fromWorker).to.equal(42);
    expect(probe.keyBytes).to.equal(32);
    // the user's arguments untouched, then nodeleak's root hooks (after any loader the user requires)
    expect(probe.argv).to.deep.equal([...specArgs('quiet-probe.spec.ts'), '--reporter', 'dot', '--require', path.join(root, 'lib', 'mocha.ts')]);
    expect(stderr).to.not.include('not quiet');
  });

  it('keeps mocha --parallel workers quiet too', async () => {
    const { stdout, stderr } = await nodeleak([...specArgs('quiet-probe.spec.ts'), '--parallel', '--jobs', '2']);
    const line = stdout.split('\n').find((text) => text.includes('QUIET-PROBE '));
    expect(line, stderr).to.be.a('string');
    const probe = JSON.parse((line as string).slice((line as string).indexOf('{'))) as Record<string, unknown>;
    expect(probe.execArgv).to.deep.equal(['--single-threaded', '--expose-gc', '--max-semi-space-size=1', '--no-sparkplug']);
    expect(probe.quiet).to.equal(true);
  });

  it('exits with mocha’s exit code', async () => {
    const { code, stdout } = await nodeleak([...specArgs('exit-code.spec.ts'), '--reporter', 'dot']);
    expect(code).to.equal(2);
    expect(stdout).to.include('2 failing');
  });

  it('runs a .ts suite with no loader where Node strips types (22.18 and later): the leak fails, the clean test passes', async function () {
    if (!(process.features as { typescript?: unknown }).typescript) this.skip(); // Node 20 strips no types
    if (process.platform === 'win32') this.skip(); // test/fixtures/leaks is POSIX C: no Windows build
    // The built CLI, as a user runs it: from lib/ its root hooks would be .ts modules, which need a loader.
    const env = { ...process.env, NODELEAK_LEAKS_FIXTURE: buildFixture('leaks') };
    const args = ['--no-config', '--reporter', 'json', path.join(fixtures, 'type-stripped.leaks.mts')];
    const { code, stdout, stderr } = await runNode([path.join(root, 'dist', 'cli.js'), ...args], { env });
    expect(stdout.trimStart(), `no JSON report from mocha (exit ${code}):\n${stderr}`).to.match(/^\{/);
    const report = JSON.parse(stdout) as { tests: { title: string; err: { stack?: string } }[] };
    const outcomes = Object.fromEntries(report.tests.map(({ title, err }) => [title, err.stack?.split('\n')[0] ?? 'passed']));
    expect(outcomes, stderr).to.have.keys('testClean', 'testLeak');
    expect(outcomes.testClean).to.equal('passed');
    // 64 B a call, as the allocator counts it (an 80 B chunk under glibc).
    const leak = /^MemoryLeakError: heap leaks about ([\d.]+) B\/call \(\d+ rounds, [\d,]+ calls after 60 warm-up calls, quiet process\)$/.exec(outcomes.testLeak);
    expect(leak, outcomes.testLeak).to.not.equal(null);
    expect(Number(leak?.[1])).to.be.within(64, 96);
    expect(code).to.equal(1);
  });

  it('passes a signal on to mocha and dies of it', async function () {
    if (process.platform === 'win32') this.skip();
    const { code, signal } = await nodeleak(specArgs('hang.spec.ts'), {
      onStdout: (text, child) => {
        if (text.includes('HANGING')) child.kill('SIGTERM');
      },
    });
    expect(code).to.equal(null);
    expect(signal).to.equal('SIGTERM');
  });

  it('says how to install mocha when it cannot find it', async () => {
    const { code, stderr } = await nodeleak([], { cwd: os.tmpdir() });
    expect(code).to.equal(1);
    expect(stderr).to.include('mocha is not installed here');
    expect(stderr).to.include('npm install -D mocha');
  });

  it('outside a quiet process, warns once with the command to use, unless verbosity is 0', async () => {
    const script = path.join(fixtures, 'warn-once.ts');
    const check = (flags: string[], verbosity: number, env: NodeJS.ProcessEnv = process.env): Promise<Outcome> =>
      runNode([...flags, '--require', require.resolve('tsx/cjs'), script, String(verbosity)], { env });
    const plainEnv = { ...process.env, GLIBC_TUNABLES: '' };
    const plain = await check([], 1, plainEnv);
    expect(plain.stdout).to.equal('done\n');
    expect(plain.stderr.match(/not quiet/g)).to.have.length(1);
    expect(plain.stderr).to.include('run `npx nodeleak run -- <your command>`'); // a plain script: no runner to name
    expect(plain.stderr).to.include('--single-threaded');
    const silent = await check([], 0, plainEnv);
    expect(silent.stderr).to.equal('');
    const chatty = await check([], 2, plainEnv);
    const reports = chatty.stderr.split('\n').filter((line) => line.startsWith('nodeleak: anonymous function: no leak ('));
    expect(reports, chatty.stderr).to.have.length(2);
    expect(chatty.stderr).to.match(/^round\s+calls\s+/m);
    const quiet = await check(['--single-threaded'], 1, { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' });
    expect(quiet.stdout).to.equal('done\n');
    expect(quiet.stderr).to.equal('');
  });

  it('checkLeak works under node:test too', async () => {
    const outcome = await runNode(['--import', 'tsx', '--test', '--test-reporter=tap', path.join(fixtures, 'node-test-suite.ts')]); // TAP: see runners.test.ts
    expect(outcome.code, outcome.stdout + outcome.stderr).to.equal(0);
    expect(outcome.stdout).to.match(/^# pass 2$/m);
    expect(outcome.stdout).to.match(/^# fail 0$/m);
  });

  it('names the command for the runner in use in its advice', () => {
    expect(quietAdvice({ VITEST: 'true' }, [])).to.include("quietForks() from 'nodeleak/vitest'");
    expect(quietAdvice({ JEST_WORKER_ID: '1' }, [])).to.equal('run `npx nodeleak run -- jest <your arguments>`');
    expect(quietAdvice({ NODE_TEST_CONTEXT: 'child-v8' }, [])).to.equal('run `npx nodeleak run -- node --test <your arguments>`');
    expect(quietAdvice({}, ['/usr/bin/node', '/p/node_modules/mocha/bin/mocha.js'])).to.equal('run `npx nodeleak <your mocha arguments>`');
    expect(quietAdvice({}, ['/usr/bin/node', 'script.js'])).to.equal('run `npx nodeleak run -- <your command>`');
  });

  it("in its environment the process makes no malloc arena beside the main one, on its early full collections too", async function () {
    // Unless glibc may make only one arena, a thread's first free can make it one of its own, kept for the process's
    // life: under Node 20 V8's platform threads (there under --single-threaded too) do so on the early full
    // collections, under Node 22 to 26 a thread does at start-up. glibc keeps each arena but the main one in a heap of
    // its own: a mapping of HEAP_MAX_SIZE (64 MiB on 64-bit) at an address aligned to that size, read-write from its
    // start and reserved (---p) to its end. Arenas are counted, not the C heap: its steps on the early collections
    // differ by Node line under either setting.
    if (process.platform !== 'linux' || heapInfo().allocator !== 'glibc' || !['x64', 'arm64'].includes(process.arch)) this.skip();
    const code = `
      const fs = require('node:fs');
      const { heapInfo } = require(${JSON.stringify(path.join(root, 'dist', 'probe'))});
      const HEAP_MAX_SIZE = 64n << 20n;
      function arenaHeaps() {
        const maps = fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((line) => {
          const [range, perms, , , , file] = line.trim().split(/\\s+/);
          const [start, end] = range.split('-').map((hex) => BigInt('0x' + hex));
          return { start, end, perms, anonymous: file === undefined };
        });
        return maps.filter((map, index) => {
          if (!map.anonymous || !map.perms.startsWith('rw') || map.start % HEAP_MAX_SIZE !== 0n) return false;
          const reserved = maps[index + 1];
          return map.end - map.start === HEAP_MAX_SIZE || (reserved !== undefined && reserved.start === map.end && reserved.perms === '---p' && reserved.end === map.start + HEAP_MAX_SIZE);
        }).length;
      }
      heapInfo();
      const heaps = [arenaHeaps()];
      for (let collection = 1; collection <= 8; collection++) {
        gc();
        heaps.push(arenaHeaps());
      }
      console.log(JSON.stringify(heaps));`;
    const { code: exit, stdout, stderr } = await runNode([...QUIET_NODE_FLAGS, '-e', code], { env: { ...process.env, ...quietEnvironment({}) } });
    expect(exit, stderr).to.equal(0);
    const heaps = JSON.parse(stdout) as number[];
    expect(heaps, 'arenas beside the main one: at start-up, then after each of 8 full collections').to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('merges GLIBC_TUNABLES and MALLOC_CONF, and resolves mocha from a directory', () => {
    expect(quietTunables(undefined)).to.equal('glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0');
    expect(quietTunables('')).to.equal('glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0');
    expect(quietTunables('glibc.malloc.tcache_count=64')).to.equal('glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0');
    expect(quietTunables('glibc.malloc.arena_max=4')).to.equal('glibc.malloc.arena_max=4:glibc.malloc.tcache_count=0');
    expect(quietTunables('glibc.malloc.arena_max=1:glibc.malloc.tcache_count=64:glibc.malloc.mmap_threshold=4096')).to.equal(
      'glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4096:glibc.malloc.tcache_count=0',
    );
    expect(quietMallocConf(undefined)).to.equal('tcache:false');
    expect(quietMallocConf('')).to.equal('tcache:false');
    expect(quietMallocConf('tcache:true')).to.equal('tcache:false');
    expect(quietMallocConf('narenas:1,tcache:true,dirty_decay_ms:0')).to.equal('narenas:1,dirty_decay_ms:0,tcache:false');
    expect([undefined, '', 'tcache', 'tcache:true', 'tcache:false,tcache:true'].map(mallocConfTurnsTcacheOff)).to.deep.equal([false, false, false, false, false]);
    expect(['tcache:false', 'narenas:1,tcache:false', quietMallocConf('tcache:true')].map(mallocConfTurnsTcacheOff)).to.deep.equal([true, true, true]);
    expect(quietEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1', MALLOC_CONF: 'narenas:1', PATH: '/bin' })).to.deep.equal({
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0',
      MALLOC_CONF: 'narenas:1,tcache:false',
      ESBUILD_WORKER_THREADS: '0',
    });
    expect(quietEnvironment({ ESBUILD_WORKER_THREADS: '1' }).ESBUILD_WORKER_THREADS).to.equal('1');
    expect(resolveMocha(root)).to.equal(path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'));
    expect(resolveMocha(os.tmpdir())).to.equal(null);
  });
});
