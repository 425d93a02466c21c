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
