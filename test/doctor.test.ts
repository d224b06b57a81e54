// npx nodeleak doctor: what a passing check here proves.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultNoise } from '../lib/decision';
import { doctor } from '../lib/doctor';
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

  it('runs from the CLI in any folder, with or without mocha', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'doctor'], { cwd: os.tmpdir(), encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^nodeleak doctor\n {2}platform /);
    expect(result.stdout).to.match(/^ {2}runner +none found/m);
  });
});
