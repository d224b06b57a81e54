import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = Object.fromEntries(
  ['require', 'module', 'exports', 'process', 'console', '__dirname', '__filename', 'Buffer', 'globalThis',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate']
    .map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'prebuilds/', '.cache/', 'node_modules/', '**/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: nodeGlobals } },
  {
    // Scripts run by plain node (cross checks), and tests and benchmarks, which load .node addons with require().
    files: ['**/*.js', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // jest's test files get its globals.
    files: ['test/runner-fixtures/jest/**/*.js'],
    languageOptions: { globals: { test: 'readonly', expect: 'readonly', jest: 'readonly' } },
  },
  {
    // The suite test:cross's oldest-node target runs with mocha 10 gets mocha's globals.
    files: ['test/cross/fixtures/oldest-node/**/*.js'],
    languageOptions: { globals: { describe: 'readonly', it: 'readonly' } },
  },
);
