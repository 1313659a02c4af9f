// Flat config: eslint's recommended rules plus typescript-eslint's, for lib, spec, bench and web.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'reports/**', '.stryker-tmp*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The dashboard's page script runs in the browser, as it is (no build step).
    files: ['web/**/*.js'],
    languageOptions: { globals: { document: 'readonly', Node: 'readonly', EventSource: 'readonly', setInterval: 'readonly' } },
  },
  {
    // CommonJS loaded with --require (scripts/stryker-mocha12.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
