/**
 * `.dev.vars` (wrangler's local secrets file): created with a random ADMIN_TOKEN when missing,
 * never overwritten. The token is 32 random bytes, hex.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function ensureDevVars(path = '.dev.vars'): { token: string; created: boolean } {
  if (existsSync(path)) {
    const token = /^ADMIN_TOKEN\s*=\s*"?([^"\n]*)"?\s*$/m.exec(readFileSync(path, 'utf8'))?.[1];
    if (token) return { token, created: false };
    throw new Error(`${path} exists but sets no ADMIN_TOKEN: add a line ADMIN_TOKEN=<secret>`);
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(path, `# Local secrets for wrangler dev (gitignored).\nADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  return { token, created: true };
}
