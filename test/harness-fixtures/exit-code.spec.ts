// Run by test/harness-cli.test.ts through the nodeleak CLI: two failures, so mocha exits with 2.
describe('exit code', () => {
  it('fails once', () => {
    throw new Error('first');
  });
  it('fails twice', () => {
    throw new Error('second');
  });
  it('passes', () => {});
});
