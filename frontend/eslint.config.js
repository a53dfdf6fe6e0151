// ESLint's recommended rules and eslint-plugin-lit's for the templates; Prettier owns the layout.
import js from '@eslint/js';
import lit from 'eslint-plugin-lit';
import globals from 'globals';

export default [
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  lit.configs['flat/recommended'],
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: globals.browser },
    rules: {
      'no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
          caughtErrors: 'none',
        },
      ],
    },
  },
  {
    files: ['scripts/**', '*.config.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['test/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
];
