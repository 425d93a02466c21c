/**
 * The demo configuration `npm start` seeds: one monitor, a primary pool of three weighted
 * origins, a fallback pool, and a load balancer for `demo.localhost`.
 */
export function demoConfig(ports: number[], hostname = 'demo.localhost') {
  const [a, b, c] = ports as [number, number, number];
  return {
    monitors: [{ id: 'mon-http', type: 'http', path: '/', expected_codes: '2xx', interval: 10, timeout: 2 }],
    pools: [
      {
        id: 'pool-primary',
        name: 'primary',
        monitor: 'mon-http',
        origins: [
          { name: 'origin-a', address: '127.0.0.1', port: a, weight: 1 },
          { name: 'origin-b', address: '127.0.0.1', port: b, weight: 0.5 },
          { name: 'origin-c', address: '127.0.0.1', port: c, weight: 0.5 },
        ],
      },
      { id: 'pool-fallback', name: 'fallback', origins: [{ name: 'origin-c', address: '127.0.0.1', port: c }] },
    ],
    load_balancers: [{ id: 'lb-demo', name: hostname, default_pools: ['pool-primary'], fallback_pool: 'pool-fallback', steering_policy: 'off' }],
  };
}
