/**
 * Config, certificates and pool health from the admin API, with a read-only token, and the last
 * good copy on disk.
 *
 * - `GET /admin/v1/config` with `If-None-Match` (304 while nothing changed), validated whole by
 *   core/config importDocument before use: a document that fails is logged and ignored.
 * - Certificates the enabled TCP apps name: `GET /certificates` (metadata) and, for each whose
 *   fingerprint changed, `GET /certificates/{id}/key` (the token needs the key scope,
 *   CERT_KEY_TOKENS). Rotation (PUT) keeps the id but changes the fingerprint, so the metadata is
 *   re-read every CERT_POLL_EVERY config polls even when the config did not change.
 * - `GET /pools/{id}/health`: origin name → healthy.
 * - The last good config and certificates are written to `<stateDir>/state.json` (mode 0600: it
 *   holds private keys, as a TLS server's key files do) through a temporary file and a rename, so
 *   a crash never leaves half a file; at start it is read back when the admin API cannot be reached.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EMPTY_DOCUMENT, importDocument, type ConfigDocument } from '../../core/config/index.ts';
import type { CertificateMaterial } from '../../core/rpc/index.ts';
import type { Log } from './log.ts';

/** Each request to the admin API gives up after this long (ms). */
export const ADMIN_TIMEOUT_MS = 3000;
/** Certificate metadata is re-read every this many polls. */
export const CERT_POLL_EVERY = 5;

export interface Loaded {
  version: number;
  doc: ConfigDocument;
  /** By certificate id. */
  certificates: ReadonlyMap<string, CertificateMaterial>;
}

const Envelope = <T extends z.ZodType>(result: T) => z.object({ success: z.literal(true), result });
const ConfigReply = Envelope(z.looseObject({ version: z.int() }));
const CertList = Envelope(z.array(z.object({ id: z.string(), fingerprint_sha256: z.string() })));
const Material = Envelope(z.object({ id: z.string(), fingerprint_sha256: z.string(), certificate: z.string(), private_key: z.string() }));
const PoolHealth = Envelope(
  z.object({ pop_health: z.object({ global: z.object({ origins: z.array(z.record(z.string(), z.object({ healthy: z.boolean() }))) }) }) }),
);
const Saved = z.object({ etag: z.string(), config: z.looseObject({ version: z.int() }), certificates: z.array(Material.shape.result) });

/** Certificates an enabled TCP app of `doc` names. */
export const certificateIds = (doc: ConfigDocument) =>
  new Set(doc.tcp_apps.filter((a) => a.enabled && a.tls === 'terminate').flatMap((a) => [a.certificate!, ...a.additional_certificates]));

export class AdminSource {
  loaded: Loaded | undefined;
  #etag = '';
  #raw: z.infer<typeof Saved>['config'] | undefined;
  #polls = 0;
  readonly #base: string;
  readonly #token: string;
  readonly #file: string;
  readonly #log: Log;

  constructor(opts: { adminUrl: string; token: string; stateDir: string; log: Log }) {
    this.#base = `${opts.adminUrl.replace(/\/$/, '')}/admin/v1`;
    this.#token = opts.token;
    this.#file = join(opts.stateDir, 'state.json');
    this.#log = opts.log;
  }

  #get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.#base}${path}`, {
      headers: { authorization: `Bearer ${this.#token}`, ...headers },
      signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
    });
  }

  /** Reads the last good state from disk; false when there is none or it does not validate. */
  async loadCache(): Promise<boolean> {
    let saved: z.infer<typeof Saved>;
    try {
      saved = Saved.parse(JSON.parse(await readFile(this.#file, 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#log('state_unreadable', { file: this.#file, reason: e instanceof Error ? e.message : String(e) });
      return false;
    }
    const doc = validated(saved.config);
    if (!doc) return false;
    this.#etag = saved.etag;
    this.#raw = saved.config;
    this.loaded = { version: saved.config.version, doc, certificates: new Map(saved.certificates.map((c) => [c.id, c])) };
    this.#log('state_loaded', { file: this.#file, version: saved.config.version });
    return true;
  }

  /** One poll: the config (If-None-Match) and, when due, certificates. Resolves true when what is loaded changed; throws when the admin API cannot be read. */
  async refresh(): Promise<boolean> {
    const res = await this.#get('/config', this.#etag ? { 'if-none-match': this.#etag } : {});
    let changed = false;
    let doc = this.loaded?.doc;
    if (res.status === 200) {
      const body = ConfigReply.parse(await res.json());
      const next = validated(body.result);
      if (!next) throw new Error(`config version ${body.result.version} does not validate`);
      [doc, this.#raw, this.#etag, changed] = [next, body.result, res.headers.get('etag') ?? '', true];
    } else if (res.status !== 304) {
      throw new Error(`GET /config answered ${res.status}`);
    }
    if (!doc || !this.#raw) return false;
    let certificates = this.loaded?.certificates ?? new Map<string, CertificateMaterial>();
    if (changed || this.#polls++ % CERT_POLL_EVERY === 0) {
      const fresh = await this.#certificates(doc, certificates);
      if (fresh) [certificates, changed] = [fresh, true];
    }
    if (!changed) return false;
    this.loaded = { version: this.#raw.version, doc, certificates };
    await this.#save();
    return true;
  }

  /** The certificates `doc` needs, fetching those whose fingerprint changed; undefined when nothing changed. */
  async #certificates(doc: ConfigDocument, have: ReadonlyMap<string, CertificateMaterial>): Promise<Map<string, CertificateMaterial> | undefined> {
    const wanted = certificateIds(doc);
    if (!wanted.size && !have.size) return undefined;
    const listed = CertList.parse(await (await this.#get('/certificates')).json()).result;
    const next = new Map<string, CertificateMaterial>();
    let changed = false;
    for (const { id, fingerprint_sha256 } of listed.filter((c) => wanted.has(c.id))) {
      const old = have.get(id);
      if (old?.fingerprint_sha256 === fingerprint_sha256) {
        next.set(id, old);
        continue;
      }
      const res = await this.#get(`/certificates/${encodeURIComponent(id)}/key`);
      if (res.status !== 200) {
        this.#log('certificate_unavailable', { certificate: id, status: res.status });
        if (old) next.set(id, old);
        continue;
      }
      next.set(id, Material.parse(await res.json()).result);
      changed = true;
    }
    return changed || next.size !== have.size ? next : undefined;
  }

  /** Origin name → healthy for `poolId`, as the admin API sees it; undefined when it cannot be read. */
  async poolHealth(poolId: string): Promise<Map<string, boolean> | undefined> {
    const res = await this.#get(`/pools/${encodeURIComponent(poolId)}/health`);
    if (res.status !== 200) return undefined;
    const origins = PoolHealth.parse(await res.json()).result.pop_health.global.origins;
    return new Map(origins.flatMap((o) => Object.entries(o).map(([name, h]) => [name, h.healthy] as const)));
  }

  async #save(): Promise<void> {
    const dir = join(this.#file, '..');
    await mkdir(dir, { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    const body = { etag: this.#etag, config: this.#raw, certificates: [...(this.loaded?.certificates.values() ?? [])] };
    await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
    await rename(tmp, this.#file);
  }
}

/** The document, validated whole by core (as an import into an empty config); undefined when it fails. */
function validated(config: object): ConfigDocument | undefined {
  const { version: _, ...rest } = config as { version?: number };
  const out = importDocument(EMPTY_DOCUMENT, rest, { newId: () => 'unused', now: () => new Date().toISOString() });
  return out.ok ? out.value : undefined;
}
