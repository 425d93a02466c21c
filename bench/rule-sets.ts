/**
 * Load balancing rules and ACL entries the way operators write them, for bench/decisions.ts and
 * bench/rules.ts: a deterministic mix of conditions over hosts, paths, methods, headers, cookies,
 * countries and client subnets, none of which matches the benchmark's request (`GET /` from
 * 127.0.0.1 with no cookie) unless `matchLast` is set. The candidate indexes (core/rules
 * rule-index.ts) skip most of them: what is paid is the lookups plus the rules or entries whose
 * requirement the request meets or that have none.
 */

/**
 * `n` rules (Cloudflare's shape). Kinds rotate: host eq, path starts_with, method + path, country
 * in, header matches, ip.src in CIDR set, cookie contains, query contains, path matches (regex),
 * user agent contains. With `matchLast`, the last rule matches every request and overrides
 * `default_pools` with `pool` (the same pool: the route is unchanged, the override is paid).
 */
export function ruleMix(n: number, pool: string, matchLast = false): object[] {
  const rules = Array.from({ length: n }, (_, i) => ({
    name: `rule ${i}`,
    condition: condition(i),
    overrides: { default_pools: [pool] },
  }));
  if (matchLast && n > 0)
    rules[n - 1] = {
      name: `rule ${n - 1} (matches)`,
      condition: 'http.request.uri.path eq "/" or http.request.uri.path eq "/index.html"',
      overrides: { default_pools: [pool] },
    };
  return rules;
}

function condition(i: number): string {
  switch (i % 10) {
    case 0:
      return `http.host eq "tenant-${i}.example.com"`;
    case 1:
      return `starts_with(http.request.uri.path, "/svc-${i}/")`;
    case 2:
      return `http.request.method eq "POST" and starts_with(http.request.uri.path, "/upload-${i}")`;
    case 3:
      return `ip.src.country in {"DE" "FR" "N${i % 10}"}`;
    case 4:
      return `http.request.headers["x-canary-${i}"][0] matches "^(1|true)$"`;
    case 5:
      return `ip.src in {198.51.${i % 256}.0/24 2001:db8:${i.toString(16)}::/48}`;
    case 6:
      return `http.cookie contains "beta-${i}=1"`;
    case 7:
      return `http.request.uri.query contains "variant=${i}"`;
    case 8:
      return `http.request.uri.path matches "^/v${i}/(api|rpc)/"`;
    default:
      return `lower(http.user_agent) contains "crawler-${i}"`;
  }
}

/**
 * `n` ACL entries (our extension's shape), indices 0..n-1. Kinds rotate (six, none inverted):
 * deny a client subnet (IPv4 and IPv6), deny a path prefix, redirect a host, deny on a header
 * value, deny a path suffix, deny by an anchored regex.
 */
export function aclMix(n: number): object[] {
  return Array.from({ length: n }, (_, i) => ({ name: `acl ${i}`, index: i, ...entry(i) }));
}

function entry(i: number): object {
  const deny = { type: 'deny' };
  switch (i % 6) {
    case 0:
      return { action: deny, match: { ip_subnet: [`203.0.${i % 256}.0/24`, `2001:db8:${i.toString(16)}::/48`] } };
    case 1:
      return { action: deny, match: { http_filter: 'path_begin', http_filter_value: [`/admin-${i}/`, `/internal-${i}/`] } };
    case 2:
      return {
        action: { type: 'redirect', redirect: { code: 301, location: `https://new-${i}.example.com/` } },
        match: { http_filter: 'host', http_filter_value: [`old-${i}.example.com`] },
      };
    case 3:
      return { action: deny, match: { http_filter: 'http_header_match', http_filter_option: 'x-block', http_filter_value: [`reason-${i}`] } };
    case 4:
      return { action: deny, match: { http_filter: 'path_end', http_filter_value: [`.bak${i}`, `.old${i}`] } };
    default:
      return { action: deny, match: { http_filter: 'regex', http_filter_value: [`^/wp-${i}/.*\\.php$`] } };
  }
}
