/**
 * `npm run dev [-- wrangler dev args]`: only the Worker, under wrangler dev, with whatever config
 * it has stored (empty at first). Creates .dev.vars with a random ADMIN_TOKEN when missing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureDevVars } from './lib/dev-vars.ts';

const { created } = ensureDevVars();
if (created) console.log('Created .dev.vars with a random ADMIN_TOKEN (gitignored).');
const bin = join(process.cwd(), 'node_modules', '.bin');
const result = spawnSync(join(bin, 'wrangler'), ['dev', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false' },
});
process.exit(result.status ?? 1);
