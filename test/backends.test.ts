import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from 'chai';

// The macOS, FreeBSD, NetBSD and Windows backends cannot be compiled here, but
// which files binding.gyp hands the compiler on each OS can be checked: gyp
// evaluates its conditions for any OS it is told.
const root = path.join(__dirname, '..');
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');

function nodedirArgs(): string[] {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The C backend files gyp puts in the nodeleak target when it evaluates binding.gyp for `targetOs`. */
function backendSources(dir: string, targetOs: string): string[] {
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  // -f make: the make generator writes nodeleak.target.mk on every host (Windows' default, msvs, writes none).
  execFileSync(process.execPath, [nodeGyp, 'configure', ...nodedirArgs(), '--', '-f', 'make', `-DOS=${targetOs}`], { cwd: dir, stdio: 'pipe' });
  const makefile = fs.readFileSync(path.join(dir, 'build', 'nodeleak.target.mk'), 'utf8');
  const objects = [...makefile.matchAll(/\/src-native\/(\w+)\.o\b/g)].map((match) => match[1]);
  return [...new Set(objects)].filter((name) => name !== 'binding').map((name) => `${name}.c`).sort();
}

describe('binding.gyp: one backend per operating system', function () {
  let dir: string;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-gyp-'));
    fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
    fs.cpSync(path.join(root, 'src-native'), path.join(dir, 'src-native'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const expected: Record<string, string[]> = {
    linux: ['jemalloc.c', 'linux.c'],
    mac: ['darwin.c'],
    freebsd: ['freebsd.c', 'jemalloc.c'],
    netbsd: ['jemalloc.c', 'netbsd.c'],
    win: ['win32.c'],
    openbsd: ['unsupported.c'],
  };

  for (const [targetOs, sources] of Object.entries(expected)) {
    it(`OS=${targetOs} compiles ${sources.join(' + ')}`, function () {
      const found = backendSources(dir, targetOs);
      assert.deepEqual(found, sources);
      for (const file of found) assert.isTrue(fs.existsSync(path.join(root, 'src-native', file)), `src-native/${file} exists`);
    });
  }
});
