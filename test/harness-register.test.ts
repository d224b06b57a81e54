import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, MemoryLeakTestCase } from '../lib';
import { runSuite as runFixtureSuite } from './helpers/suite';
import type { SuiteRun } from './helpers/suite';

const run = promisify(execFile);
const fixtures = path.join(__dirname, 'harness-fixtures');
const runSuite = (file: string): Promise<SuiteRun> => runFixtureSuite(path.join(fixtures, file));

describe('MemoryLeakTestCase.register()', function () {
  this.timeout(120_000);
  let suite: SuiteRun;

  before(async () => {
    suite = await runSuite('register-suite.ts');
  });

  it('declares one describe named after the class with one it() per test* method, base class first, then the auto table', () => {
    expect(suite.results.map((result) => result.suite)).to.satisfy((names: string[]) => names.every((name) => name === 'RegisterSuite'));
    expect(suite.results.map((result) => result.title)).to.deep.equal([
      'testFromBase',
      'testClean',
      'testLeak',
      'testOverride',
      'testThrows',
      'testSkipped',
      'autoClean',
      'autoLeak',
    ]);
  });

  it('fails the leaking tests with MemoryLeakError and passes the clean ones', () => {
    const state = Object.fromEntries(suite.results.map((result) => [result.title, result.state]));
    expect(state).to.deep.equal({
      testFromBase: 'passed',
      testClean: 'passed',
      testLeak: 'failed',
      testOverride: 'passed', // per-call options: memory not checked
      testThrows: 'passed',
      testSkipped: 'pending',
      autoClean: 'passed',
      autoLeak: 'failed',
    });
    for (const title of ['testLeak', 'autoLeak']) {
      const error = suite.results.find((result) => result.title === title)?.error;
      expect(error?.name).to.equal('MemoryLeakError');
      expect(error?.message).to.match(/^v8heap leaks about/);
    }
    expect(suite.failures).to.equal(2);
  });

  it('runs setUp/tearDown around every test (a fresh instance each) and setUpClass/tearDownClass once', () => {
    const { events } = suite;
    expect(events[0]).to.equal('setUpClass');
    expect(events[events.length - 1]).to.equal('tearDownClass');
    expect(events.filter((event) => event === 'setUpClass')).to.have.length(1);
    const ran = suite.results.filter((result) => result.state !== 'pending').length;
    expect(events.filter((event) => event === 'setUp')).to.have.length(ran);
    expect(events.filter((event) => event === 'tearDown')).to.have.length(ran);
    expect(events.slice(1, 5)).to.deep.equal(['setUp', 'testFromBase', 'tearDown', 'setUp']);
    expect(events).to.include('testClean:clean');
    expect(events).to.not.include('testSkipped ran');
    expect(events).to.not.include('helper ran');
  });

  it('gives every test the class’s mocha timeout', () => {
    expect(suite.results.every((result) => result.timeout === 45_000)).to.equal(true);
    expect(MemoryLeakTestCase.timeout).to.be.at.least(60_000);
  });

  it('runs only the tests named in static only', async () => {
    const only = await runSuite('only-suite.ts');
    expect(only.results.map((result) => [result.title, result.state])).to.deep.equal([['testChosen', 'passed']]);
  });

  it('throws InvalidArgumentError outside mocha', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(fixtures, 'register-outside-mocha.ts')]);
    expect(stdout.trim()).to.equal(
      'InvalidArgumentError: Outside.register() must run while mocha loads the test file (with its BDD interface): ' +
        'describe, it, before, after, beforeEach, afterEach not defined',
    );
  });

  it('throws InvalidArgumentError for only/skip names that are not tests and for a bad auto table', () => {
    class Misnamed extends MemoryLeakTestCase {
      static override only = ['testMissing'];
      async testPresent(): Promise<void> {}
    }
    expect(() => Misnamed.register()).to.throw(InvalidArgumentError, /static only names 'testMissing', which is not a test \(tests: testPresent\)/);
    class BadAuto extends MemoryLeakTestCase {
      static override auto = { notAFunction: 42 as unknown as () => unknown };
    }
    expect(() => BadAuto.register()).to.throw(InvalidArgumentError, /static auto.notAFunction must be a function, got number/);
    expect(() => MemoryLeakTestCase.register()).to.throw(InvalidArgumentError, /subclass/);
  });
});
