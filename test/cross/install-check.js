// Run by release.yml on every OS of its matrix: installs the packed tarball into an empty project with a PATH on
// which no compiler, make or python can be found (node and npm only, and on Windows the system's own folder),
// with install scripts on and off, and checks that the prebuild loads and answers. Usage: install-check.js <tarball>
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const tarball = path.resolve(process.argv[2] || '');
if (!fs.existsSync(tarball)) throw new Error(`usage: install-check.js <tarball> (${tarball} not found)`);
const windows = process.platform === 'win32';
const nodeDir = path.dirname(process.execPath);

/** POSIX: a folder holding only node, npm and sh (npm runs scripts through sh), wherever node itself lives. */
function posixBin() {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-bin-'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(fs.realpathSync(path.join(nodeDir, 'npm')), path.join(bin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}
const PATH = windows ? [nodeDir, path.join(process.env.SystemRoot || 'C:\\Windows', 'System32')].join(';') : posixBin();
const env = { PATH, HOME: os.homedir(), USERPROFILE: process.env.USERPROFILE, SystemRoot: process.env.SystemRoot, APPDATA: process.env.APPDATA, LOCALAPPDATA: process.env.LOCALAPPDATA, TEMP: os.tmpdir(), TMP: os.tmpdir() };

for (const tool of ['cc', 'gcc', 'g++', 'clang', 'cl', 'make', 'python', 'python3']) {
  const lookup = windows ? spawnSync('where', [tool], { env }) : spawnSync('sh', ['-c', `command -v ${tool}`], { env });
  if (lookup.status === 0) throw new Error(`${tool} is reachable on the test PATH: ${String(lookup.stdout).trim()}`);
}

const npm = windows ? 'npm.cmd' : 'npm';
for (const scripts of [[], ['--ignore-scripts']]) {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-install-'));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--no-audit', '--no-fund', ...scripts, tarball], { cwd: project, env, stdio: 'inherit', shell: windows });
  if (fs.existsSync(path.join(project, 'node_modules', 'nodeleak', 'build'))) throw new Error('node_modules/nodeleak/build exists: something was compiled');
  const probe = `const n = require('nodeleak'); const h = n.heapInfo(); const p = n.processInfo();
    if (!(h.heapUsed > 0) || !(p.rss > 0) || !(p.threads > 0)) throw new Error(JSON.stringify({ h, p }));
    console.log(JSON.stringify({ allocator: h.allocator, loadedFrom: require('node-gyp-build').resolve(require('node:path').dirname(require.resolve('nodeleak/package.json'))) }));`;
  const out = execFileSync(process.execPath, ['-e', probe], { cwd: project, env, encoding: 'utf8' });
  console.log(`install ${scripts.join(' ') || 'with scripts'}: ${out.trim()}`);
  if (!JSON.parse(out).loadedFrom.includes(`${path.sep}prebuilds${path.sep}`)) throw new Error('the probe did not load from prebuilds/');
}
