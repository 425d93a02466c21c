// The second baseline: the least any rewriting reverse proxy does in a Worker, with no load
// balancing (issue #13). It forwards to one origin (ORIGIN = "host:port") as worker/proxy/forward.ts
// does to the origin it picked: a copy of the request's fields without the hop-by-hop and
// client-sent forwarding ones (RFC 9110 §7.6.1; one visit of the fields), X-Forwarded-For/-Proto/
// -Host set, redirects passed through, a per-try timeout, and the response checked for hop-by-hop
// fields and its Content-Length read. The pass-through (passthrough.js) does none of this, so the
// gap between the two is what the runtime charges for the mechanics alone. It is served
// unbundled, as passthrough.js is, so DROP repeats core/forward's HOP_BY_HOP and FORWARDING_NAMES.
const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-forwarded-port',
]);
const TIMEOUT_MS = 30_000;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const host = url.host;
    url.host = env.ORIGIN;
    const incoming = request.headers;
    const headers = new Headers(incoming);
    let prior = null;
    incoming.forEach((value, name) => {
      if (name === 'x-forwarded-for') prior = value;
      if (DROP.has(name)) headers.delete(name);
    });
    const client = incoming.get('cf-connecting-ip') ?? '127.0.0.1';
    headers.set('x-forwarded-for', prior ? `${prior}, ${client}` : client);
    headers.set('x-forwarded-proto', url.protocol === 'https:' ? 'https' : 'http');
    headers.set('x-forwarded-host', host);
    const res = await fetch(url, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const out = res.headers;
    if (out.has('proxy-connection') || (out.get('connection') ?? 'keep-alive') !== 'keep-alive') {
      const copy = new Response(res.body, res);
      for (const name of DROP) copy.headers.delete(name);
      return copy;
    }
    Number(out.get('content-length')); // what forward.ts reads for its byte counts
    return res;
  },
};
