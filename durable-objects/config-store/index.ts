/**
 * ConfigStore: the one durable, transactional home of the configuration (a single instance,
 * named "global"). SQLite-backed; the whole document is also held in memory, and every change
 * is computed by core/config first and persisted in one `transactionSync`, so a write lands
 * whole or not at all. Each successful write bumps `version`, which edges poll cheaply.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  EMPTY_DOCUMENT,
  emptyDocument,
  ErrorCode,
  KINDS,
  NOUN,
  createResource,
  deleteResource,
  etagOf,
  fail,
  ifMatchAdmits,
  importDocument,
  patchOrigin,
  patchResource,
  replaceResource,
  type ConfigDocument,
  type Kind,
  type Outcome,
  type Resource,
  type CertificateMeta,
  type WriteContext,
} from '../../core/config/index.ts';
import type { CertificateMaterial, CheckedCertificate, ConfigExport, ConfigStoreApi, SnapshotReply, Versioned } from '../../core/rpc/index.ts';
import { migrate } from '../migrate.ts';
import { healthTargets } from '../../core/health/targets.ts';
import { MIGRATIONS } from './migrations.ts';
import { CertificateStore } from './certificates.ts';

const configEtag = (version: number) => `"config-${version}"`;

export class ConfigStore extends DurableObject<Env> implements ConfigStoreApi {
  #doc: ConfigDocument = EMPTY_DOCUMENT;
  #version = 0;
  /** Affinity cookie secrets (random, 32 bytes, base64url), newest first: generated once, rotated through the admin API. */
  #affinityKeys: string[] = [];
  readonly #sql: SqlStorage;
  /** TLS certificates of TCP apps, outside the document (certificates.ts). */
  readonly #certificates: CertificateStore;
  readonly #clock: WriteContext = {
    newId: () => crypto.randomUUID().replaceAll('-', ''),
    now: () => new Date().toISOString(),
    hasSecret: (name) => {
      const value: unknown = (this.env as unknown as Record<string, unknown>)[name];
      return typeof value === 'string' && value.length > 0;
    },
    hasCertificate: (id) => this.#certificates.has(id),
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#certificates = new CertificateStore(this.#sql, () => env.CERT_KEY_SECRET);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.#sql, MIGRATIONS);
      this.#load();
    });
  }

  #load(): void {
    const doc = emptyDocument();
    for (const row of this.#sql.exec<{ kind: Kind; body: string }>('SELECT kind, body FROM resources ORDER BY kind, position')) {
      (doc[row.kind] as unknown[]).push(JSON.parse(row.body));
    }
    this.#doc = doc;
    this.#version = Number(this.#meta('version') ?? 0);
    this.#affinityKeys = JSON.parse(this.#meta('affinity_keys') ?? '[]') as string[];
    if (!this.#affinityKeys.length) {
      this.#affinityKeys = [randomKey()];
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('affinity_keys', ?)", JSON.stringify(this.#affinityKeys));
    }
  }

  #meta(key: string): string | undefined {
    return this.#sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value;
  }

  /** A new affinity cookie key first; the previous one kept so cookies it sealed still read. */
  rotateAffinityKey(): { version: number; keys: number } {
    const keys = [randomKey(), this.#affinityKeys[0]!];
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('affinity_keys', ?), ('version', ?)", JSON.stringify(keys), String(this.#version + 1));
    });
    this.#affinityKeys = keys;
    this.#version += 1;
    return { version: this.#version, keys: keys.length };
  }

  /** Writes `next` (only rows that changed) and bumps the version, in one transaction. */
  #persist(next: ConfigDocument): void {
    this.ctx.storage.transactionSync(() => {
      for (const kind of KINDS) {
        const before = new Map((this.#doc[kind] as Resource<Kind>[]).map((r) => [r.id, JSON.stringify(r)]));
        (next[kind] as Resource<Kind>[]).forEach((r, position) => {
          const body = JSON.stringify(r);
          if (before.get(r.id) !== body) {
            this.#sql.exec('INSERT OR REPLACE INTO resources (kind, id, body, position) VALUES (?, ?, ?, ?)', kind, r.id, body, position);
          } else {
            this.#sql.exec('UPDATE resources SET position = ? WHERE kind = ? AND id = ?', position, kind, r.id);
          }
          before.delete(r.id);
        });
        for (const id of before.keys()) this.#sql.exec('DELETE FROM resources WHERE kind = ? AND id = ?', kind, id);
      }
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", String(this.#version + 1));
    });
    const before = this.#doc;
    this.#doc = next;
    this.#version += 1;
    this.#syncHealth(before, next);
  }

  /** Tells every load balancer's LbState what to watch now (deleted ones: nothing). In the
   * background: the cron watchdog re-syncs anything a failed call missed. */
  #syncHealth(before: ConfigDocument, next: ConfigDocument): void {
    if (!this.env.LB_STATE) return;
    const ids = new Set([...before.load_balancers, ...next.load_balancers].map((lb) => lb.id));
    for (const id of ids) {
      const targets = healthTargets(next, id);
      const stub = this.env.LB_STATE.getByName(id);
      this.ctx.waitUntil(
        stub.sync(targets).then(
          () => undefined,
          (e: unknown) => console.error('LbState sync failed', id, String(e)),
        ),
      );
    }
  }

  /** The current version, and the document unless the caller already has `knownVersion`. */
  snapshot(knownVersion = -1): SnapshotReply {
    return knownVersion === this.#version ? { version: this.#version } : { version: this.#version, doc: this.#doc, affinityKeys: this.#affinityKeys };
  }

  list<K extends Kind>(kind: K): Versioned<Resource<K>[]> {
    return { value: this.#doc[kind] as Resource<K>[], etag: configEtag(this.#version) };
  }

  get<K extends Kind>(kind: K, id: string): Outcome<Versioned<Resource<K>>> {
    const item = (this.#doc[kind] as Resource<K>[]).find((r) => r.id === id);
    if (!item) return fail(404, [{ code: ErrorCode.notFound, message: `${NOUN[kind]} ${id} not found` }]);
    return { ok: true, value: { value: item, etag: etagOf(item) } };
  }

  create<K extends Kind>(kind: K, input: unknown): Outcome<Versioned<Resource<K>>> {
    return this.#write(createResource(this.#doc, kind, input, this.#clock));
  }

  replace<K extends Kind>(kind: K, id: string, input: unknown, ifMatch?: string): Outcome<Versioned<Resource<K>>> {
    return this.#checked(kind, id, ifMatch) ?? this.#write(replaceResource(this.#doc, kind, id, input, this.#clock));
  }

  patch<K extends Kind>(kind: K, id: string, patch: unknown, ifMatch?: string): Outcome<Versioned<Resource<K>>> {
    return this.#checked(kind, id, ifMatch) ?? this.#write(patchResource(this.#doc, kind, id, patch, this.#clock));
  }

  /** Merge-patches one origin of a pool; `ifMatch` is compared with the pool's ETag. */
  patchOrigin(poolId: string, name: string, patch: unknown, ifMatch?: string): Outcome<Versioned<Resource<'pools'>>> {
    return this.#checked('pools', poolId, ifMatch) ?? this.#write<'pools'>(patchOrigin(this.#doc, poolId, name, patch, this.#clock));
  }

  remove(kind: Kind, id: string, ifMatch?: string): Outcome<{ id: string }> {
    const refused = this.#checked(kind, id, ifMatch);
    if (refused) return refused;
    const outcome = deleteResource(this.#doc, kind, id);
    if (!outcome.ok) return outcome;
    this.#persist(outcome.value.doc);
    return { ok: true, value: { id } };
  }

  listCertificates(): CertificateMeta[] {
    return this.#certificates.list();
  }

  getCertificate(id: string): Outcome<CertificateMeta> {
    return this.#certificates.get(id);
  }

  /** Stores a certificate the Worker validated, under a new id or replacing `replaceId`. */
  putCertificate(cert: CheckedCertificate, replaceId?: string): Promise<Outcome<CertificateMeta>> {
    return this.#certificates.put(cert, this.#clock.newId(), replaceId);
  }

  removeCertificate(id: string): Outcome<{ id: string }> {
    return this.#certificates.remove(id, this.#doc);
  }

  certificateMaterial(id: string): Promise<Outcome<CertificateMaterial>> {
    return this.#certificates.material(id);
  }

  /** The whole configuration, with `version`, as `GET /config` returns it. */
  exportConfig(): Versioned<ConfigExport> {
    return { value: { version: this.#version, ...this.#doc }, etag: configEtag(this.#version) };
  }

  /** Replaces the whole configuration (all or nothing); `ifMatch` is compared with the config ETag. */
  importConfig(input: unknown, ifMatch?: string): Outcome<Versioned<ConfigExport>> {
    if (!ifMatchAdmits(ifMatch, configEtag(this.#version))) return stale();
    const outcome = importDocument(this.#doc, input, this.#clock);
    if (!outcome.ok) return outcome;
    this.#persist(outcome.value);
    return { ok: true, value: this.exportConfig() };
  }

  /** 404 when absent, 412 when `ifMatch` names another version; undefined when the write may go on. */
  #checked(kind: Kind, id: string, ifMatch?: string): Outcome<never> | undefined {
    const current = this.get(kind, id);
    if (!current.ok) return current;
    return ifMatchAdmits(ifMatch, current.value.etag) ? undefined : stale();
  }

  #write<K extends Kind>(outcome: Outcome<{ doc: ConfigDocument; item: Resource<K> }>): Outcome<Versioned<Resource<K>>> {
    if (!outcome.ok) return outcome;
    this.#persist(outcome.value.doc);
    return { ok: true, value: { value: outcome.value.item, etag: etagOf(outcome.value.item) } };
  }
}

function randomKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function stale(): Outcome<never> {
  return fail(412, [{ code: ErrorCode.preconditionFailed, message: 'If-Match does not match the current ETag: read the object again and retry' }]);
}
