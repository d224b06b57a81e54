// On Windows (ci.yml's windows-latest jobs) the checks `npm run test:cross` runs under
// Wine run on the real NT heap: the probe just built, staged as a prebuild, and the
// winheap fixture addon built with node-gyp and MSVC.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');

describe('Windows probe on the real NT heap (Windows only)', function () {
  this.timeout(600000);
  let work: string;

  before(function () {
    if (process.platform !== 'win32') this.skip();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-win-'));
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('passes test/cross/probe-check.js with the winheap fixture', () => {
    const fixtureDir = path.join(work, 'winheap');
    fs.cpSync(path.join(__dirname, 'fixtures', 'winheap'), fixtureDir, { recursive: true });
    execFileSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: fixtureDir, stdio: 'pipe' });

    const built = path.join(root, 'build', 'Release', 'nodeleak.node');
    expect(fs.existsSync(built), `${built} (npm run build:native)`).to.equal(true);
    const pkg = path.join(work, 'package');
    fs.mkdirSync(path.join(pkg, 'prebuilds', `win32-${process.arch}`), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
    fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true });
    fs.copyFileSync(built, path.join(pkg, 'prebuilds', `win32-${process.arch}`, 'nodeleak.node'));

    const run = spawnSync(
      process.execPath,
      ['--expose-gc', '--single-threaded', path.join(__dirname, 'probe-check.js'), pkg, 'windows-heap', path.join(fixtureDir, 'build', 'Release', 'winheap.node')],
      { encoding: 'utf8' },
    );
    expect(run.status, `${run.stdout}${run.stderr}`).to.equal(0);
    expect(run.stdout).to.include('ok - heapCount moves with HeapCreate/HeapDestroy').and.match(/passed, 0 failed/);
  });
});
