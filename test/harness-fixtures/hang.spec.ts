// Run by test/harness-cli.test.ts through the nodeleak CLI: waits until killed.
describe('hang', () => {
  it('waits', function (done) {
    this.timeout(0);
    process.stdout.write('HANGING\n');
    setTimeout(done, 600_000);
  });
});
