// Every command in README.md is run by a test: the ones that run in this repository as they stand are run here,
// through dist/cli.js in place of `npx nodeleak`; each other one is listed with the spec that runs its equivalent,
// and that spec must exist. A command added to the README without either fails this spec.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The commands of the README's sh blocks, comments stripped. */
function readmeCommands(): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap(([, block]) => block.split('\n'))
    .map((line) => line.split('  #')[0].trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Commands run right here: the arguments after `npx nodeleak`, and the exit code the README's text implies. */
const RUN_HERE: Record<string, { args: string[]; status: number; output: RegExp }> = {
  'npx nodeleak examples/': { args: ['examples/'], status: 1, output: /5 passing[\s\S]*1 failing[\s\S]*MemoryLeakError: heap leaks about/ },
};

/** Commands run elsewhere in the suite (or by .ci/run), as: spec file → a test title (or text) in it. */
const RUN_ELSEWHERE: Record<string, [string, string]> = {
  'npm install -D nodeleak mocha': ['test/package.test.ts', 'is installed into a PATH where no compiler, make or python can be found'],
  'npx nodeleak test/addon.leaks.ts': ['test/leaks.test.ts', 'the quiet CLI'],
  "npx nodeleak 'test/leaks/**/*.test.ts'": ['test/leaks.test.ts', 'the quiet CLI'],
  'GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0 MALLOC_CONF=tcache:false ESBUILD_WORKER_THREADS=0 node --single-threaded --expose-gc --max-semi-space-size=1 --no-sparkplug node_modules/mocha/bin/mocha.js <your arguments>': [
    'test/harness-cli.test.ts',
    'runs mocha with the quiet flags and environment',
  ],
  'sudo apt-get install libjemalloc2': ['.ci/run', 'libjemalloc2'],
  'npx nodeleak --where examples/': ['test/where.test.ts', 'the demo through the CLI: the leaking test names its site'],
  'npm rebuild nodeleak': ['test/package.test.ts', "the error's advice, `npm rebuild nodeleak`, builds it"],
  'npm run prebuild': ['test/helpers/pack.ts', "npm(['run', 'prebuild'"],
  'npm pack': ['test/helpers/pack.ts', "npm(['pack', '--json'"],
  'npm install': ['.ci/run', 'npm ci'],
  'npm test': ['.ci/run', 'npm test'],
};

describe('README.md', function () {
  this.timeout(120_000);

  it('lists no command that no test runs', () => {
    const commands = readmeCommands();
    expect(commands.length).to.be.greaterThan(5);
    const untested = commands.filter((command) => !(command in RUN_HERE) && !(command in RUN_ELSEWHERE));
    expect(untested, 'add each to RUN_HERE or RUN_ELSEWHERE with the spec that runs it').to.deep.equal([]);
  });

  for (const [command, [file, title]] of Object.entries(RUN_ELSEWHERE)) {
    it(`${command}: run by ${file}`, () => {
      expect(readmeCommands()).to.include(command);
      expect(fs.readFileSync(path.join(root, file), 'utf8')).to.include(title);
    });
  }

  for (const [command, { args, status, output }] of Object.entries(RUN_HERE)) {
    it(`${command}: runs here`, () => {
      const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).to.equal(status);
      expect(result.stdout + result.stderr).to.match(output);
    });
  }
});
