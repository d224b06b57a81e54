import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const runMocha = path.join(root, 'test', 'harness-fixtures', 'run-mocha.ts');

export interface TestResult {
  title: string;
  suite: string;
  state: 'passed' | 'failed' | 'pending';
  timeout: number;
  error: { name: string; message: string; full: string } | null;
}
export interface SuiteRun {
  results: TestResult[];
  events: string[];
  failures: number;
  loadError?: { name: string; message: string };
}

/**
 * Runs a fixture suite in a child through mocha's programmatic API (test/harness-fixtures/run-mocha.ts); `hooks`
 * loads nodeleak's root hooks as `npx nodeleak` does.
 */
export function runSuite(file: string, options: { hooks?: boolean; env?: NodeJS.ProcessEnv; nodeFlags?: string[] } = {}): Promise<SuiteRun> {
  const argv = [...(options.nodeFlags ?? []), '--import', 'tsx', runMocha, file, ...(options.hooks ? ['--hooks'] : [])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { cwd: root, timeout: 180_000, env: options.env ?? process.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as SuiteRun);
      } catch {
        reject(new Error(`${file} gave no JSON (${err?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** The result of the test titled `title`. */
export function resultOf(run: SuiteRun, title: string): TestResult {
  const result = run.results.find((test) => test.title === title);
  if (!result) throw new Error(`no test titled ${title} in ${JSON.stringify(run.results.map((test) => test.title))}`);
  return result;
}
