let adminHosts: { raw: string | undefined; set: Set<string> } | undefined;

/** Whether `hostname` serves the admin API (ADMIN_HOSTS, comma separated, no ports; default "localhost,127.0.0.1"). */
export function isAdminHost(env: Pick<Env, 'ADMIN_HOSTS'>, hostname: string): boolean {
  const raw = env.ADMIN_HOSTS;
  if (!adminHosts || adminHosts.raw !== raw) {
    const list = (raw ?? 'localhost,127.0.0.1')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    adminHosts = { raw, set: new Set(list) };
  }
  return adminHosts.set.has(hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname);
}

let dohHosts: { raw: string | undefined; set: Set<string> } | undefined;

/** Whether `hostname` answers DNS-over-HTTPS at /dns-query (DOH_HOSTS, comma separated, no ports; default none). */
export function isDohHost(env: Pick<Env, 'DOH_HOSTS'>, hostname: string): boolean {
  const raw = env.DOH_HOSTS;
  if (!dohHosts || dohHosts.raw !== raw) {
    const list = (raw ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    dohHosts = { raw, set: new Set(list) };
  }
  return dohHosts.set.has(hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname);
}
