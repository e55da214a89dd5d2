// ESLint enforces the connector boundary: connectors/ imports reflex only through src/sdk.
// typescript-eslint does not load with TypeScript 7 (no JS compiler API), so TypeScript is parsed by
// Babel's parser; no type-aware rules are needed for this rule.
import babelParser from '@babel/eslint-parser';

export const CONNECTOR_IMPORTS = {
  patterns: [{
    // Any path into src/ but the SDK's entry (relative or not).
    regex: '(^|/)src/(?!sdk/index\\.js$)',
    message: 'connectors import reflex only through src/sdk/index.js (the connector SDK)',
  }],
};

export default [
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: babelParser,
      parserOptions: { requireConfigFile: false, babelOptions: { babelrc: false, configFile: false, presets: ['@babel/preset-typescript'] } },
    },
  },
  {
    files: ['connectors/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', CONNECTOR_IMPORTS] },
  },
];
