/**
 * One object at a time between Cloudflare's shapes and ours, through core/config/cloudflare's
 * whole-document mapping (nothing is mapped here): an object is put alone in a document and the
 * document mapped, so a `/client/v4` write means exactly what importing it would mean.
 *
 * - `fromCloudflare`: planImport (read-only fields and "unset" nulls dropped, `proxied` false when
 *   absent, warnings), its paths ("pools[0].origins[1]") made the body's ("origins[1]").
 * - `keepOurs`: mergeImport against the stored object, so a replace keeps our extension fields
 *   (outlier_detection, drain, …) that Cloudflare's shape cannot carry.
 * - `toCloudflareList`: toCloudflare, its notes' paths made the answer's ("result[2].drain").
 */
import {
  emptyDocument,
  mergeImport,
  planImport,
  resourceNotices,
  toCloudflare,
  type ApiError,
  type CloudflareKind,
  type ConfigDocument,
  type Ignored,
} from '../../core/config/index.ts';

type Obj = Record<string, unknown>;

/** A document holding `items` as its `kind` list and nothing else. */
function alone(kind: CloudflareKind, items: readonly object[]): ConfigDocument {
  return { ...emptyDocument(), [kind]: items } as ConfigDocument;
}

/** `text` with `from` at its start made `to` ("pools[0].origins" → "origins", "pools[0]" → ""). */
function rebase(text: string, from: string, to: string): string {
  if (!text.startsWith(from)) return text;
  const rest = text.slice(from.length);
  if (to) return to + rest;
  return rest.startsWith('.') ? rest.slice(1) : rest.startsWith(': ') ? rest.slice(2) : rest;
}

export interface Prepared {
  /** Ready for our schema (the ConfigStore judges it). */
  obj: Obj;
  /** Warnings, and each ignored field with why. */
  messages: string[];
}

/**
 * A Cloudflare-shaped body made ready for our schema (see the module doc); `only`: report ignored
 * fields only when they are among these keys (a PATCH's, whose other fields come from the store).
 * Errors name paths in the body.
 */
export function fromCloudflare(
  kind: CloudflareKind,
  body: unknown,
  only?: ReadonlySet<string>,
): { ok: true; value: Prepared } | { ok: false; errors: ApiError[] } {
  const plan = planImport({ [kind]: [body] });
  const at = `${kind}[0]`;
  if (!plan.ok) {
    return {
      ok: false,
      errors: plan.errors.map((e) => ({ ...e, path: e.path === undefined ? undefined : rebase(e.path, at, ''), message: rebase(e.message, at, '') })),
    };
  }
  const named = (i: Ignored) => !only || only.has(rebase(i.path, at, '').split(/[.[]/)[0]!);
  const ignored = plan.value.ignored.filter(named).map((i) => `${rebase(i.path, at, '')}: ignored, ${i.reason}`);
  const messages = plan.value.messages.map((m) => rebase(m, at, ''));
  return { ok: true, value: { obj: plan.value.objects[kind][0]!, messages: [...messages, ...ignored] } };
}

/** `next` (fromCloudflare's, for the object `stored`) with our extension fields of `stored` kept where `next` lacks them. */
export function keepOurs(kind: CloudflareKind, stored: object, next: Obj): unknown {
  const id = (stored as { id: string }).id;
  const merged = mergeImport(alone(kind, [stored]), {
    objects: { monitors: [], pools: [], load_balancers: [], [kind]: [{ ...next, id }] },
    paths: { monitors: [], pools: [], load_balancers: [], [kind]: [''] },
    ignored: [],
    messages: [],
  });
  return merged.input[kind][0];
}

/** Stored objects of ours in Cloudflare's shapes, with notes on what was left out, their paths under `result`. */
export function toCloudflareList(kind: CloudflareKind, items: readonly object[]): { result: Obj[]; messages: string[] } {
  const { messages, ...lists } = toCloudflare(alone(kind, items));
  const notes = messages.slice(1).map((m) => (m.startsWith(`${kind}[`) ? 'result' + m.slice(kind.length) : m));
  return { result: lists[kind] as unknown as Obj[], messages: notes };
}

/** One stored object in Cloudflare's shape, with its warnings: fields not active, extensions left out (paths in the object). */
export function toCloudflareOne(kind: CloudflareKind, item: object): { result: Obj; messages: string[] } {
  const { result, messages } = toCloudflareList(kind, [item]);
  return { result: result[0]!, messages: [...resourceNotices(kind, item), ...messages.map((m) => rebase(m, 'result[0]', ''))] };
}
