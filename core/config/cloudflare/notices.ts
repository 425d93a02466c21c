/**
 * Warnings for the `messages` of a write's answer: what a configuration stores but does not act
 * on. A field is "not yet active" when its schema's description starts with NOT_YET_ACTIVE (the
 * schema is the one place that says so), and a monitor whose type a Worker cannot probe counts
 * as no monitor. Values that say nothing (absent, null, "", [] or {}) are not worth a warning.
 */
import type { z } from 'zod';
import { LoadBalancerSchema, MonitorSchema, OriginSchema, PoolSchema } from '../schema.ts';
import { NOT_YET_ACTIVE, isProbed } from './fields.ts';

/** The kinds whose objects can carry inactive fields. */
export type NoticeKind = 'monitors' | 'pools' | 'load_balancers';

/** The top-level fields of an object schema, through refinements, transforms and defaults. */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  const def = schema._zod.def as { type: string; in?: z.ZodType; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
  if (def.type === 'pipe' && def.in) return shapeOf(def.in);
  if (def.innerType) return shapeOf(def.innerType);
  return def.shape ?? {};
}

/** Fields of `schema` described as stored but not active. */
function inactiveFields(schema: z.ZodType): string[] {
  return Object.entries(shapeOf(schema))
    .filter(([, field]) => field.description?.startsWith(NOT_YET_ACTIVE))
    .map(([name]) => name);
}

let inactive: Record<NoticeKind | 'origins', string[]> | undefined;
/** Each kind's inactive fields (computed once, from the schemas' descriptions). */
export function inactiveFieldsOf(kind: NoticeKind | 'origins'): readonly string[] {
  inactive ??= {
    monitors: inactiveFields(MonitorSchema),
    pools: inactiveFields(PoolSchema),
    origins: inactiveFields(OriginSchema),
    load_balancers: inactiveFields(LoadBalancerSchema),
  };
  return inactive[kind];
}

/** Whether a value says something: not absent, null, "", [] or {}. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

const at = (path: string, field: string) => (path ? `${path}.${field}` : field);

/**
 * The warnings about one object of `kind` whose path is `path` ("" for the object itself, as a
 * resource route answers; "pools[2]" in a document): one per inactive field that is set, and one
 * for a monitor whose type cannot be probed here.
 */
export function objectNotices(kind: NoticeKind, item: Readonly<Record<string, unknown>>, path = ''): string[] {
  const notes = inactiveFieldsOf(kind)
    .filter((f) => isSet(item[f]))
    .map((f) => `${at(path, f)}: ${NOT_YET_ACTIVE}`);
  if (kind === 'monitors' && typeof item.type === 'string' && !isProbed(item.type)) {
    notes.push(
      `${at(path, 'type')}: ${item.type} cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)`,
    );
  }
  if (kind === 'pools' && Array.isArray(item.origins)) {
    (item.origins as Record<string, unknown>[]).forEach((o, j) => {
      for (const f of inactiveFieldsOf('origins')) if (isSet(o?.[f])) notes.push(`${at(path, `origins[${j}].${f}`)}: ${NOT_YET_ACTIVE}`);
    });
  }
  return notes;
}

/** The warnings about one stored object of any kind, as a resource route answers them (none for DNS zones and webhooks). */
export function resourceNotices(kind: string, item: object): string[] {
  return kind === 'monitors' || kind === 'pools' || kind === 'load_balancers' ? objectNotices(kind, item as Record<string, unknown>) : [];
}

/** The warnings about every monitor, pool and load balancer of a document, with document paths ("pools[2].networks"). */
export function documentNotices(doc: Partial<Record<NoticeKind, readonly object[]>>): string[] {
  return (['monitors', 'pools', 'load_balancers'] as const).flatMap((kind) =>
    (doc[kind] ?? []).flatMap((item, i) => objectNotices(kind, item as Record<string, unknown>, `${kind}[${i}]`)),
  );
}
