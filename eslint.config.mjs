// The linter: typescript-eslint's recommended rules everywhere, and for code
// that runs inside njs the same constructs the build's syntax gate refuses
// (build/njs-syntax.mjs), so an editor shows them before a build does.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { njsForbiddenSelectors } from './build/njs-syntax.mjs';

const njsRules = {
  'no-restricted-syntax': ['error', ...njsForbiddenSelectors.map(([selector, what]) => ({ selector, message: what + ' is not supported by njs 0.7.9' }))],
};

export default tseslint.config(
  { ignores: ['build/dist/**', 'node_modules/**', '.engines/**', 'tools/bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The code checks for control characters on purpose (header injection, ASCII bundles).
      'no-control-regex': 'off',
      // Variables are declared once, initialised, where njs wants them (a binding in a loop
      // costs it each time round); tsc already reports a read before any assignment.
      'no-useless-assignment': 'off',
    },
  },
  // Tests and tools read JSON answers loosely.
  { files: ['test/**/*.ts', 'tools/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['njs/**/*.ts', 'test/njs/**/*.ts', 'nginx/**/*.js'],
    // Declarations describe the platform; they never run in njs.
    ignores: ['**/*.d.ts'],
    // `FAULT:` labels mark test-only fault injection that the build drops (build/build.mjs, dropLabels).
    rules: { ...njsRules, 'no-unused-labels': 'off' },
  },
);
