import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `node` for pure code and end-to-end tests that drive the real Worker under
 * wrangler dev with real origins on 127.0.0.1; `workers` runs inside workerd through
 * @cloudflare/vitest-plugin (Durable Objects, the Worker's fetch and scheduled handlers).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          // worker/**/*.node.test.ts: the proxy driven through its dependencies in plain Node (fake fetch and clock).
          include: ['core/**/*.test.ts', 'dns/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts', 'worker/**/*.node.test.ts', 'tcp-proxy/**/*.test.ts'],
          // One file at a time: each end-to-end file runs its own wrangler dev, and health timing
          // on 2 cores should not depend on what else happens to run.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            // FUZZ_*: `npm run fuzz` (worker/fuzz) runs more generated inputs than the suite's 1,000.
            miniflare: {
              bindings: {
                ADMIN_TOKEN: 'test-admin-token',
                ADMIN_READ_TOKENS: 'test-read-token,test-read-token-2',
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
                FUZZ_SEED: process.env.FUZZ_SEED ?? '',
                // Webhook signing secrets (durable-objects/lb-state/notify.test.ts): the Standard Webhooks test secret, and a malformed one.
                WEBHOOK_TEST_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
                WEBHOOK_SHORT_SECRET: 'whsec_c2hvcnQ=',
                // The API token of the Cloudflare zones in durable-objects/dns-zone tests (test/fixtures/cloudflare-control.ts).
                CF_TEST_TOKEN: 'cf-test-token-5e2a',
                // TLS certificates of TCP apps (worker/admin/certificates.test.ts): the key-encryption secret, and the read-only token that may fetch keys.
                CERT_KEY_SECRET: 'test-cert-key-secret',
                CERT_KEY_TOKENS: 'test-read-token-2',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          // Off for workerd: with it, each new test file's runner is sent every cached module of its
          // import graph in one WebSocket message (vitest's fetchWarmModules, inlined by the plugin),
          // and workerd refuses messages over 32 MiB ("Message is too large", the runner exits). The
          // Worker's graph (the Cloudflare SDK, zod, @peculiar/x509 for certificates) is past that.
          fsModuleCache: false,
          include: ['worker/**/*.test.ts', 'durable-objects/**/*.test.ts'],
          exclude: ['worker/**/*.node.test.ts'],
          globalSetup: ['test/fixtures/probe-servers.ts', 'test/fixtures/webhook-receiver.ts', 'test/fixtures/cloudflare-control.ts'],
        },
      },
    ],
  },
});
