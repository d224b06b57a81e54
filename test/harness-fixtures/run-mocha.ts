// Runs one suite file through mocha's programmatic API and prints one JSON line per test, then the hook events.
// `--hooks` after the file loads nodeleak's root hooks (nodeleak/mocha), as `npx nodeleak` does.
import Mocha from 'mocha';
import { mochaHooks } from '../../lib/mocha';

const file = process.argv[2];
const withHooks = process.argv.includes('--hooks');
const mocha = new Mocha({ reporter: Mocha.reporters.Base, ...(withHooks ? { rootHooks: mochaHooks as Mocha.RootHookObject } : {}) }); // Base prints nothing by itself
mocha.addFile(file);
const results: object[] = [];
mocha
  .loadFilesAsync()
  .then(() => {
    const runner = mocha.run((failures) => {
      const events = (globalThis as { harnessEvents?: string[] }).harnessEvents ?? [];
      process.stdout.write(`${JSON.stringify({ results, events, failures })}\n`);
    });
    runner.on('test end', (test) => {
      results.push({
        title: test.title,
        suite: test.parent?.title,
        state: test.isPending() ? 'pending' : test.state,
        timeout: test.timeout(),
        error: test.err ? { name: test.err.name, message: test.err.message.split('\n')[0], full: test.err.message } : null,
      });
    });
  })
  .catch((err: Error) => {
    process.stdout.write(`${JSON.stringify({ loadError: { name: err.name, message: err.message } })}\n`);
  });
