/**
 * What the bundle gets for zod's `locales` namespace (wrangler.toml [alias]): English only.
 * @hono/zod-openapi re-exports zod's `z` namespace object, so esbuild cannot drop any of its
 * members and would carry all 64 of zod's message locales (~259 KB of the 1.3 MB minified bundle).
 * Every byte of the script stays in each isolate's heap as its source string, and the size of that
 * heap sets the pauses of the collector (BENCHMARKS.md, "The tail is the heap's size"). English
 * is the locale zod registers by default (zod/v4/classic/schemas.js) and the only one we use.
 */
export { default as en } from 'zod/v4/locales/en.js';
