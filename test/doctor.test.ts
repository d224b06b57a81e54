// npx nodeleak doctor: what a passing check here proves.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultNoise } from '../lib/decision';
import { doctor } from '../lib/doctor';
import { inEnginesRange } from '../lib/engines';
import { platformTuple } from '../lib/platform';

const root = path.join(__dirname, '..');

function rows(report: string): Record<string, string[]> {
  const table: Record<string, string[]> = {};
  for (const line of report.split('\n').slice(1)) {
    const match = /^ {2}(\S.*?) {2,}(.*)$/.exec(line);
    if (match) (table[match[1]] ??= []).push(match[2]);
  }
  return table;
}

describe('npx nodeleak doctor', function () {
  this.timeout(120_000);

  it('names the platform, the probe binary, the allocator, and measures the noise quiet and plain', () => {
    const report = rows(doctor(root));
    expect(report.platform).to.deep.equal([`${platformTuple()}, Node ${process.version}`]);
    const probe = /^(\S+) \((local build|prebuilt binary)\)$/.exec(report.probe[0]);
    expect(probe, report.probe[0]).to.not.equal(null);
    expect(fs.existsSync((probe as RegExpExecArray)[1])).to.equal(true);
    expect(report.allocator[0]).to.match(/^(glibc|jemalloc|tcmalloc|darwin-zones|windows-heap) \(heapInfo\(\) reads [\d,]+ B in use\)$/);
    expect(report.process[0]).to.match(/^rss [\d,]+ B, vms [\d,]+ B(, uss [\d,]+ B)?, \d+ (fds|handles), \d+ threads$/);
    if (process.platform === 'linux') expect(report['quiet process']).to.deep.equal(['yes: a process nodeleak starts is quiet here']);
    // The moves of rounds with nothing called, as a plain check's first call measures them, and the C heap floor a
    // check uses there: fixed in a quiet process, widened to 1.5 times the largest move in a plain one.
    const number = (text: string): number => Number(text.replace(/,/g, ''));
    for (const [kind, quiet] of [['noise, quiet', true], ['noise, plain', false]] as const) {
      const line = /^([\d,]+) B a round with nothing called \(median of 4 rounds, max ([\d,]+) B\); checks here use a floor of ([\d,]+) B$/.exec(report[kind][0]);
      expect(line, report[kind][0]).to.not.equal(null);
      const [, , max, floor] = (line as RegExpExecArray).map(number);
      const fixed = defaultNoise(quiet).heap as number;
      expect(floor, kind).to.equal(quiet ? fixed : Math.max(fixed, Math.ceil(1.5 * max)));
    }
    expect(report.advice).to.have.length(1);
  });

  it('reads the runners of the project it runs in, and whether each starts quiet processes', () => {
    const ownRunners = rows(doctor(root)).runner;
    expect(ownRunners.find((line) => line.startsWith('mocha '))).to.match(/^mocha [\d.]+: /);
    expect(ownRunners.find((line) => line.startsWith('jest '))).to.match(/^jest [\d.]+: run it as `npx nodeleak run -- jest`$/);
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-doctor-'));
    try {
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ scripts: { 'test:leaks': 'nodeleak run -- node --test leaks.test.js' } }));
      expect(rows(doctor(project)).runner).to.deep.equal(['node:test in script(s) test:leaks: quiet through nodeleak run']);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it('says when a runner installed here does not run on this Node (its engines)', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeleak-doctor-'));
    try {
      fs.writeFileSync(path.join(project, 'package.json'), '{}');
      const mocha = path.join(project, 'node_modules', 'mocha');
      fs.mkdirSync(mocha, { recursive: true });
      fs.writeFileSync(path.join(mocha, 'package.json'), JSON.stringify({ name: 'mocha', version: '99.0.0', engines: { node: '>=99.1.0' } }));
      const report = rows(doctor(project));
      expect(report.runner).to.deep.equal([
        `mocha 99.0.0 (needs Node >=99.1.0, and this is ${process.version}: it will not run here): run it as \`npx nodeleak <mocha arguments>\` (no package.json script does)`,
      ]);
      expect(report.advice[0]).to.include('a runner here does not run on this Node');
      fs.writeFileSync(path.join(mocha, 'package.json'), JSON.stringify({ name: 'mocha', version: '99.0.0', engines: { node: `^${process.versions.node}` } }));
      expect(rows(doctor(project)).runner).to.deep.equal(['mocha 99.0.0: run it as `npx nodeleak <mocha arguments>` (no package.json script does)']);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it('reads engines ranges as runners write them', () => {
    const cases: [string, string, boolean | null][] = [
      ['v18.20.8', '^20.19.0 || >=22.12.0', false],
      ['v20.20.2', '^20.19.0 || >=22.12.0', true],
      ['v20.18.3', '^20.19.0 || >=22.12.0', false],
      ['v22.11.0', '^20.19.0 || >=22.12.0', false],
      ['v26.1.0', '^20.19.0 || >=22.12.0', true],
      ['v23.1.0', '^20.0.0 || ^22.0.0 || >=24.0.0', false],
      ['v18.14.0', '^18.14.0 || ^20.0.0', true],
      ['v18.20.8', '>=18', true],
      ['v17.9.1', '>=18', false],
      ['v20.1.0', '20.x', true],
      ['v21.0.0', '20', false],
      ['v20.5.0', '~20.4.1', false],
      ['v20.4.9', '~20.4.1', true],
      ['v20.4.9', '>=18 <21', true],
      ['v21.0.0', '>=18 <21', false],
      ['v20.0.0', '>19', true],
      ['v19.9.9', '>19', false],
      ['v20.0.0', '<=19', false],
      ['v20.0.0', '*', true],
      ['v20.0.0', '18 - 22', null],
      ['v20.0.0', 'node >= 18', null],
    ];
    for (const [version, range, expected] of cases) expect(inEnginesRange(version, range), `${version} in ${range}`).to.equal(expected);
  });

  it('runs from the CLI in any folder, with or without mocha', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'doctor'], { cwd: os.tmpdir(), encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^nodeleak doctor\n {2}platform /);
    expect(result.stdout).to.match(/^ {2}runner +none found/m);
  });

  it('refuses arguments, rather than pass them on to mocha as test files', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'doctor', '--json'], { cwd: root, encoding: 'utf8' });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.equal('nodeleak: doctor takes no arguments, got --json\n');
    expect(result.stdout).to.equal('');
  });
});
