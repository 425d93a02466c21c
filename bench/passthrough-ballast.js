// bench/passthrough.js holding ~6 MB of live objects for the isolate's life (bench/gc.ts
// BENCH_BASELINE): a baseline whose heap is the size of the load balancer's.
globalThis.ballast = Array.from({ length: 5 * 16384 }, (_, i) => ({ i, s: `k${i}`, o: { a: i } }));

export default {
  fetch(request, env) {
    const url = new URL(request.url);
    url.host = env.ORIGIN;
    return fetch(url, request);
  },
};
