/**
 * `wrangler deploy --dry-run`: the Worker bundles for deployment with its Durable Object binding,
 * migrations and vars, without reaching Cloudflare.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('bundles for deployment (wrangler deploy --dry-run)', () => {
  const out = mkdtempSync(join(tmpdir(), 'edge-lb-dry-'));
  try {
    const bin = join(process.cwd(), 'node_modules', '.bin');
    const run = spawnSync(join(bin, 'wrangler'), ['deploy', '--dry-run', '--outdir', out], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      timeout: 120_000,
    });
    const log = run.stdout + run.stderr;
    expect(run.status, log).toBe(0);
    expect(log).toMatch(/env\.CONFIG_STORE \(ConfigStore\)\s+Durable Object/);
    expect(log).toContain('--dry-run: exiting now.');
    const bundle = readFileSync(join(out, 'index.js'), 'utf8');
    // Minified (wrangler.toml): the class keeps its exported name.
    expect(bundle, 'ConfigStore exported by the bundle').toMatch(/export\s*\{[^}]*\bConfigStore\b/);
    expect(bundle.length, 'minified: well under the 2.6 MB of the unminified bundle').toBeLessThan(1_800_000);
    // zod's messages in English only (wrangler.toml [alias]): its other 63 locales were 259 KB.
    expect(bundle, "zod's English messages").toContain('Invalid input: more than one option matched');
    expect(bundle, "zod's Indonesian messages, one of the 63 left out").not.toContain('Input tidak valid');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
