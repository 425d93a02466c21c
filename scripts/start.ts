/**
 * `npm start`: the whole thing locally, nothing else to set up. Starts three demo origins on
 * loopback, the Worker under wrangler dev, seeds the demo config through the admin API, and
 * prints what to try. Ctrl-C stops everything it started.
 */
import { ensureDevVars } from './lib/dev-vars.ts';
import { startOrigins } from './lib/origin-server.ts';
import { startWranglerDev } from './lib/wrangler-dev.ts';
import { demoConfig } from './demo-config.ts';

const port = Number(process.env.PORT ?? 8787);
const { token, created } = ensureDevVars();
if (created) console.log('Created .dev.vars with a random ADMIN_TOKEN (gitignored).');

const origins = await startOrigins(['origin-a', 'origin-b', 'origin-c']);
console.log(`Demo origins: ${origins.map((o) => `${o.name} on 127.0.0.1:${o.port}`).join(', ')}`);
console.log('Starting the Worker under wrangler dev...');
const worker = await startWranglerDev({ port });

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${worker.url}/admin/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
const seeded = await admin('/config', { method: 'PUT', body: JSON.stringify(demoConfig(origins.map((o) => o.port))) });
if (!seeded.ok) {
  console.error('Seeding the demo config failed:', seeded.status, await seeded.text());
  await worker.stop();
  process.exit(1);
}

const lbUrl = `http://demo.localhost:${worker.port}`;
console.log(`
edge-lb is running.

  Load-balanced URL : ${lbUrl}/   (Host demo.localhost; weights a=1, b=0.5, c=0.5)
  Admin API         : ${worker.url}/admin/v1   (admin hosts: localhost, 127.0.0.1)
  Admin token       : ${token}   (from .dev.vars)

Try:
  curl -s ${lbUrl}/hello
  curl -s -H 'Host: demo.localhost' ${worker.url}/hello
  for i in $(seq 20); do curl -s -D - -o /dev/null ${lbUrl}/ | grep -i x-origin; done | sort | uniq -c
  curl -s -H 'Authorization: Bearer ${token}' ${worker.url}/admin/v1/config
  curl -s -H 'Authorization: Bearer ${token}' ${worker.url}/admin/v1/openapi.json

Ctrl-C stops the Worker and the origins.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await worker.stop();
  await Promise.all(origins.map((o) => o.stop()));
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
worker.process.once('exit', (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code})`);
    void Promise.all(origins.map((o) => o.stop())).then(() => process.exit(1));
  }
});
