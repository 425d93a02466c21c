/**
 * Cloudflare Load Balancing's export, imported (`POST /admin/v1/import/cloudflare`): its three
 * list answers (monitors, pools, load balancers) as they come, each the v4 envelope
 * `{success, errors, messages, result: [...], result_info}` or the bare `result` array.
 *
 * - planImport: per object, drops Cloudflare's read-only fields and the nulls that mean "unset"
 *   (each listed in `ignored` with its path in the request body, "pools.result[2].disabled_at"),
 *   applies Cloudflare's default where ours differs (`proxied`: false when absent) and collects
 *   warnings (fields stored but not active, monitors that cannot be probed). Ids are kept, so the
 *   references between the lists hold.
 * - mergeImport: an imported object replaces ours of the same id, in place: Cloudflare's fields as
 *   the import gives them (its defaults where absent), but our extension fields (EXTENSIONS), and
 *   an origin steering policy of ours where the import names none, kept from the stored object,
 *   since Cloudflare cannot say anything about them. New ids are appended;
 *   every other object (other ids, DNS zones, webhooks) is kept as it is.
 * - The merged document is written by importDocument (document.ts), all or nothing; `relocate`
 *   turns its errors' document paths back into request-body paths, and `reportOf` says what happened.
 */
import { KINDS, type ConfigDocument } from '../document.ts';
import { ErrorCode, fail, fieldError, joinPath, type ApiError, type Outcome } from '../errors.ts';
import type { Monitor, Pool } from '../schema.ts';
import { CLOUDFLARE_ORIGIN_STEERING, EXTENSIONS } from './export.ts';
import { CLOUDFLARE_READ_ONLY, NULL_MEANS_UNSET } from './fields.ts';
import { objectNotices } from './notices.ts';

export const CLOUDFLARE_KINDS = ['monitors', 'pools', 'load_balancers'] as const;
export type CloudflareKind = (typeof CLOUDFLARE_KINDS)[number];
type Obj = Record<string, unknown>;
type PerKind<T> = Record<CloudflareKind, T[]>;
const perKind = <T>(): PerKind<T> => ({ monitors: [], pools: [], load_balancers: [] });
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A field the import dropped, with its path in the request body and why. */
export interface Ignored {
  path: string;
  reason: string;
}
export interface ImportPlan {
  /** Objects ready for our schemas, in the order given. */
  objects: PerKind<Obj>;
  /** Each object's path in the request body ("pools.result[2]", or "pools[2]" for a bare array). */
  paths: PerKind<string>;
  ignored: Ignored[];
  messages: string[];
}

/** The items of one list (an envelope's `result`, or the array itself) and the path they sit under. */
function itemsOf(kind: CloudflareKind, list: unknown, messages: string[]): { items: unknown[]; base: (string | number)[] } | ApiError {
  if (Array.isArray(list)) return { items: list, base: [kind] };
  if (!isObj(list) || !Array.isArray(list.result)) {
    return fieldError(ErrorCode.invalid, [kind], "must be Cloudflare's list answer ({success, errors, messages, result: [...]}) or its result array");
  }
  if (list.success === false) return fieldError(ErrorCode.invalid, [kind, 'success'], 'is false: a failed Cloudflare answer has nothing to import');
  const info = isObj(list.result_info) ? list.result_info : {};
  if (typeof info.total_count === 'number' && info.total_count > list.result.length) {
    messages.push(`${kind}.result_info: ${list.result.length} of ${info.total_count} objects: only this page was imported (ask Cloudflare for every page)`);
  }
  return { items: list.result, base: [kind, 'result'] };
}

/** Removes `fields` from `obj` where `drop(value)` says so, noting each in `ignored`. */
function dropFields(obj: Obj, fields: readonly string[], path: string, drop: (v: unknown) => boolean, reason: string, ignored: Ignored[]): void {
  for (const f of fields) {
    if (f in obj && drop(obj[f])) {
      ignored.push({ path: `${path}.${f}`, reason });
      delete obj[f];
    }
  }
}
const READ_ONLY_REASON = 'read-only at Cloudflare (it sets this itself)';
const NULL_REASON = 'null: unset at Cloudflare, so our default applies';

/** One Cloudflare object made ready for our schema. */
function prepare(kind: CloudflareKind, raw: Obj, path: string, plan: ImportPlan): Obj {
  const obj = { ...raw };
  dropFields(obj, CLOUDFLARE_READ_ONLY[kind], path, () => true, READ_ONLY_REASON, plan.ignored);
  dropFields(obj, NULL_MEANS_UNSET[kind], path, (v) => v === null, NULL_REASON, plan.ignored);
  if (kind === 'pools' && Array.isArray(obj.origins)) {
    obj.origins = obj.origins.map((o: unknown, j) => {
      if (!isObj(o)) return o;
      const origin = { ...o };
      dropFields(origin, CLOUDFLARE_READ_ONLY.origins, `${path}.origins[${j}]`, () => true, READ_ONLY_REASON, plan.ignored);
      return origin;
    });
  }
  if (kind === 'load_balancers' && obj.proxied === undefined) {
    obj.proxied = false;
    plan.messages.push(`${path}.proxied: absent, so Cloudflare's default applies: false (DNS-only); ours is true`);
  }
  plan.messages.push(...objectNotices(kind, obj, path));
  return obj;
}

/**
 * Reads the request body `{monitors?, pools?, load_balancers?}`; 400 with one error per problem
 * (an unknown key, a list that is neither an envelope nor an array, a failed envelope, an item
 * that is no object, an id given twice), each naming its path in the body.
 */
export function planImport(body: unknown): Outcome<ImportPlan> {
  if (!isObj(body)) return fail(400, [fieldError(ErrorCode.invalid, '', 'must be an object {monitors, pools, load_balancers}')]);
  const errors: ApiError[] = [];
  for (const key of Object.keys(body)) {
    if (!(CLOUDFLARE_KINDS as readonly string[]).includes(key)) errors.push(fieldError(ErrorCode.invalid, [key], 'unknown field'));
  }
  const plan: ImportPlan = { objects: perKind(), paths: perKind(), ignored: [], messages: [] };
  for (const kind of CLOUDFLARE_KINDS) {
    if (body[kind] === undefined) continue;
    const list = itemsOf(kind, body[kind], plan.messages);
    if ('code' in list) {
      errors.push(list);
      continue;
    }
    const seen = new Map<unknown, string>();
    list.items.forEach((raw, i) => {
      const path = joinPath([...list.base, i]);
      if (!isObj(raw)) return errors.push(fieldError(ErrorCode.invalid, path, 'must be an object'));
      if (raw.id !== undefined && seen.has(raw.id)) {
        return errors.push(fieldError(ErrorCode.conflict, `${path}.id`, `duplicate id ${JSON.stringify(raw.id)} (also at ${seen.get(raw.id)})`));
      }
      if (raw.id !== undefined) seen.set(raw.id, path);
      plan.objects[kind].push(prepare(kind, raw, path, plan));
      plan.paths[kind].push(path);
    });
  }
  return errors.length ? fail(400, errors) : { ok: true, value: plan };
}

/** `next`, with the extension fields it lacks taken from `old` (the stored object it replaces). */
function keepExtensions(kind: CloudflareKind, old: Obj, next: Obj): Obj {
  if (kind === 'monitors') return next;
  const out = { ...next };
  for (const f of kind === 'pools' ? EXTENSIONS.pools : EXTENSIONS.load_balancers) if (out[f] === undefined) out[f] = old[f];
  if (kind !== 'pools') return out;
  const steering = out.origin_steering;
  if (steering === undefined || isObj(steering)) {
    const kept = { ...(steering ?? {}) };
    const before = old.origin_steering as Obj;
    for (const f of EXTENSIONS.origin_steering) if (kept[f] === undefined) kept[f] = before[f];
    // A policy of ours (round_robin, ...) is an extension value: kept unless the import names a policy.
    if (kept.policy === undefined && !CLOUDFLARE_ORIGIN_STEERING.includes(String(before.policy))) kept.policy = before.policy;
    out.origin_steering = kept;
  }
  if (Array.isArray(out.origins)) {
    const before = new Map((old.origins as Obj[]).map((o) => [o.name, o]));
    out.origins = out.origins.map((o: unknown) => {
      if (!isObj(o)) return o;
      const was = before.get(o.name);
      const kept = { ...o };
      for (const f of EXTENSIONS.origins) if (kept[f] === undefined && was?.[f] !== undefined) kept[f] = was[f];
      return kept;
    });
  }
  return out;
}

export interface Merged {
  /** The whole document to write (importDocument's input). */
  input: Record<keyof ConfigDocument, unknown[]>;
  /** For each position of `input`'s lists: the request-body path of an imported object, or "config.pools[3]" for a kept one. */
  at: PerKind<string>;
  /** Where each imported object landed in `input`, in the plan's order. */
  positions: PerKind<number>;
  /** Ids of ours that an imported object replaced. */
  replaced: PerKind<string>;
}

/** `current` with the plan's objects merged in (see the module doc). */
export function mergeImport(current: ConfigDocument, plan: ImportPlan): Merged {
  const merged: Merged = { input: { ...current }, at: perKind(), positions: perKind(), replaced: perKind() };
  for (const kind of CLOUDFLARE_KINDS) {
    const stored = current[kind] as unknown as Obj[];
    const list: unknown[] = [...stored];
    merged.at[kind] = stored.map((_, k) => `config.${kind}[${k}]`);
    const index = new Map(stored.map((r, k) => [r.id, k]));
    plan.objects[kind].forEach((obj, i) => {
      const k = index.get(obj.id);
      if (k === undefined) {
        merged.positions[kind].push(list.push(obj) - 1);
        merged.at[kind].push(plan.paths[kind][i]!);
        return;
      }
      list[k] = keepExtensions(kind, stored[k]!, obj);
      merged.at[kind][k] = plan.paths[kind][i]!;
      merged.positions[kind].push(k);
      merged.replaced[kind].push(String(obj.id));
    });
    merged.input[kind] = list;
  }
  return merged;
}

/** A document path's kind and index: every kind of the config (KINDS), so none is missed as one is added. */
const KIND_PATH = new RegExp(`^(${KINDS.join('|')})\\[(\\d+)\\]`);

/** importDocument's errors, their document paths ("pools[3].origins[0].address") turned into the paths of `at` ("config.dns_zones[0]…" for the kinds an import never holds). */
export function relocate(errors: readonly ApiError[], at: PerKind<string>): ApiError[] {
  return errors.map((e) => {
    const m = KIND_PATH.exec(e.path ?? '');
    if (!m || e.path === undefined) return e;
    const to = at[m[1] as CloudflareKind]?.[Number(m[2])] ?? `config.${m[0]}`;
    const path = to + e.path.slice(m[0].length);
    return { ...e, path, message: e.message.startsWith(e.path) ? path + e.message.slice(e.path.length) : e.message };
  });
}

/** What an import did: ids imported (in the order given), replaced, and kept (ours, untouched), and the fields dropped. */
export interface ImportReport {
  imported: PerKind<string>;
  replaced: PerKind<string>;
  kept: PerKind<string>;
  ignored: Ignored[];
}

/**
 * The report of a written import (`stored`: the document importDocument made), and its messages:
 * the plan's, plus one per imported HTTP(S) monitor with port 0 used by a pool whose origins set a
 * port (Cloudflare probes the protocol's default port then; we probe the origin's).
 */
export function reportOf(plan: ImportPlan, merged: Merged, stored: ConfigDocument): { report: ImportReport; messages: string[] } {
  const report: ImportReport = { imported: perKind(), replaced: merged.replaced, kept: perKind(), ignored: plan.ignored };
  for (const kind of CLOUDFLARE_KINDS) {
    const positions = new Set(merged.positions[kind]);
    report.imported[kind] = merged.positions[kind].map((k) => stored[kind][k]!.id);
    report.kept[kind] = stored[kind].filter((_, k) => !positions.has(k)).map((r) => r.id);
  }
  const messages = [...plan.messages];
  merged.positions.monitors.forEach((k, i) => {
    const m: Monitor = stored.monitors[k]!;
    if (m.port !== 0 || (m.type !== 'http' && m.type !== 'https')) return;
    const pools = stored.pools.filter((p: Pool) => p.monitor === m.id && p.origins.some((o) => o.port !== 0)).map((p) => p.name);
    if (pools.length) {
      messages.push(
        `${plan.paths.monitors[i]}.port: 0 probes the protocol's default port at Cloudflare, but each origin's port here (set in pools ${pools.join(', ')}): set the port to keep Cloudflare's behaviour`,
      );
    }
  });
  return { report, messages };
}
