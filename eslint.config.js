// @ts-check
// Lint rules, and the layering that tsconfig.core.json cannot see: core/ is pure logic shared by
// the Worker, the Durable Objects and Node, so it imports neither a runtime (cloudflare:*, node:*),
// nor the HTTP framework, nor the layers above it; durable-objects/ does not import worker/.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// What core/ must not import (no-restricted-imports patterns): the Workers runtime's modules,
// Node's builtins (with or without `node:`), Hono, and the layers built on core.
const runtimeImports = [
  { regex: '^cloudflare:', message: 'core/ runs on every runtime: take what the Workers runtime gives as a parameter (see core/rpc, worker/).' },
];
const nodeImports = [
  { regex: '^node:', message: 'core/ runs on every runtime: use web-standard APIs (crypto.subtle, TextEncoder, URL…).' },
  { regex: `^(${builtinModules.filter((m) => !m.startsWith('_')).join('|')})(/|$)`, message: 'core/ runs on every runtime: use web-standard APIs.' },
];
const frameworkImports = [{ regex: '^(hono|@hono/[^/]+)(/|$)', message: 'HTTP handling (Hono) belongs in worker/, not core/.' }];
const upperLayers = [
  { regex: '^(\\.\\./)+(worker|durable-objects|test|scripts|bench|tcp-proxy)(/|$)', message: 'core/ and dns/ must not import the layers built on them.' },
];

export default defineConfig(
  { ignores: ['node_modules/', '.wrangler/', 'dist/', '.bench/', '.bench-*/', 'tmp/', 'worker-configuration.d.ts'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // Node globals for the .js files (scripts, this config); no-undef is off for TypeScript.
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names are deliberately unused (placeholders in destructuring and signatures).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: the code pairs short statements with the comma operator (`res.writeHead(404), res.end()`,
      // `if (l) (l.sumMs += ms), l.count++`), which this rule reports whatever its options.
      '@typescript-eslint/no-unused-expressions': 'off',
      // `declare global { namespace Cloudflare { … } }` merges into the Workers types' namespace.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  // The baseline Worker of the benchmarks runs in workerd, not Node.
  { files: ['bench/passthrough.js'], languageOptions: { globals: { ...globals.serviceworker } } },
  {
    files: ['core/**/*.ts', 'dns/**/*.ts'],
    ignores: ['core/**/*.test.ts', 'dns/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...runtimeImports, ...nodeImports, ...frameworkImports, ...upperLayers] }] },
  },
  // core's tests run under Node (vitest's node project), so they may use Node's modules.
  {
    files: ['core/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...runtimeImports, ...frameworkImports, ...upperLayers] }] },
  },
  // dns/'s provider tests run against real servers that test/fixtures starts (BIND9, the Cloudflare API contract server).
  {
    files: ['dns/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...runtimeImports, ...frameworkImports] }] },
  },
  // tcp-proxy/ runs under Node (node:* allowed) beside the Worker, not on it: it talks to the Worker
  // only through the admin API, so it imports neither worker/ nor durable-objects/.
  {
    files: ['tcp-proxy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(worker|durable-objects)(/|$)',
              message: 'tcp-proxy/ reaches the Worker only through the admin API: import core/, never worker/ or durable-objects/.',
            },
          ],
        },
      ],
    },
  },
  // Durable Objects sit below the Worker; their workerd tests may still use the Worker's helpers.
  {
    files: ['durable-objects/**/*.ts'],
    ignores: ['durable-objects/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+worker(/|$)',
              message: 'durable-objects/ must not import worker/ (the Worker is built on the Durable Objects, not the reverse).',
            },
          ],
        },
      ],
    },
  },
);
