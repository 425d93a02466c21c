/** Request views and a compile-or-throw helper shared by core/rules tests. */
import { compileCondition, RuleRequest, type Predicate, type RuleRequestInit } from './index.ts';

export interface Sample {
  url?: string;
  method?: string;
  headers?: HeadersInit;
  clientIp?: string;
  place?: RuleRequestInit['place'];
  loadBalancer?: string;
}

/** A view of a request to `url` (default https://app.example.com/api/v2/users?id=7&id=8&flag). */
export function view(s: Sample = {}): RuleRequest {
  const url = new URL(s.url ?? 'https://app.example.com/api/v2/users?id=7&id=8&flag');
  return new RuleRequest({
    url: { protocol: url.protocol, host: url.host, hostname: url.hostname, path: url.pathname + url.search },
    method: s.method ?? 'GET',
    headers: new Headers(s.headers ?? {}),
    clientIp: s.clientIp,
    place: s.place,
    loadBalancer: s.loadBalancer ?? 'app.example.com',
  });
}

/** Compiles `expression`, failing the test with the error when it does not compile. */
export function compiled(expression: string): Predicate {
  const c = compileCondition(expression);
  if (!c.ok) throw new Error(`${expression}: ${JSON.stringify(c.error)}`);
  return c.predicate;
}
