/**
 * Access control lists on a load balancer (our extension, shaped after Scaleway Load Balancer's
 * ACLs: `name`, `index`, `action.type`, `match.ip_subnet`, `match.http_filter`,
 * `match.http_filter_value`, `match.http_filter_option`, `match.invert`). Applied by
 * core/acl/index.ts, before rules and steering.
 *
 * Header-name and header-value patterns come from core/config/http-patterns.ts, a leaf (this
 * module must not import core/config/schema.ts, which imports it).
 */
import { z } from 'zod';
import { FIELD_VALUE, TOKEN } from '../config/http-patterns.ts';
import { subnetError } from '../rules/ip.ts';
import { compileRegex } from '../rules/regex.ts';

/** Caps: entries per load balancer, subnets and filter values per entry, characters per value. */
export const ACL_LIMITS = { entries: 100, subnets: 100, values: 100, valueLength: 1024 } as const;

/** HTTP filters (Scaleway's names; `host` is ours). `acl_http_filter_none`: the subnets alone decide. */
export const HTTP_FILTERS = ['acl_http_filter_none', 'path_begin', 'path_end', 'regex', 'http_header_match', 'host'] as const;
export type HttpFilter = (typeof HTTP_FILTERS)[number];

const subnet = z
  .string()
  .max(64)
  .superRefine((s, ctx) => {
    const message = subnetError(s);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

const MatchSchema = z
  .strictObject({
    ip_subnet: z
      .array(subnet)
      .max(ACL_LIMITS.subnets)
      .default([])
      .describe("client addresses or CIDRs, IPv4 and IPv6 (the client's address is CF-Connecting-IP); empty = any client"),
    http_filter: z.enum(HTTP_FILTERS).default('acl_http_filter_none'),
    http_filter_value: z
      .array(z.string().min(1).max(ACL_LIMITS.valueLength))
      .max(ACL_LIMITS.values)
      .default([])
      .describe('any one matching is enough: path prefixes or suffixes, regexes (re2js, on the path), header values, hostnames'),
    http_filter_option: z.string().regex(TOKEN, 'must be a header name (RFC 9110 token)').optional().describe('the header name of http_header_match'),
    invert: z.boolean().default(false).describe('true: the entry applies when its match fails (HAProxy `unless`)'),
  })
  .superRefine((m, ctx) => {
    const none = m.http_filter === 'acl_http_filter_none';
    if (none && m.http_filter_value.length) {
      ctx.addIssue({ code: 'custom', path: ['http_filter_value'], message: 'must be empty with http_filter acl_http_filter_none' });
    }
    if (!none && !m.http_filter_value.length) {
      ctx.addIssue({ code: 'custom', path: ['http_filter_value'], message: `needs at least one value for http_filter ${m.http_filter}` });
    }
    if ((m.http_filter === 'http_header_match') !== (m.http_filter_option !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['http_filter_option'], message: 'is required for http_header_match (the header name), and only for it' });
    }
    m.http_filter_value.forEach((v, i) => {
      const message =
        m.http_filter === 'regex'
          ? compileRegex(v)
          : m.http_filter === 'http_header_match' && !FIELD_VALUE.test(v)
            ? 'must be a header value: no control characters (CR, LF, NUL)'
            : m.http_filter === 'path_begin' && !v.startsWith('/')
              ? 'must start with /'
              : undefined;
      if (typeof message === 'string') ctx.addIssue({ code: 'custom', path: ['http_filter_value', i], message });
    });
  });

const ActionSchema = z
  .strictObject({
    type: z.enum(['allow', 'deny', 'redirect']),
    redirect: z
      .strictObject({
        code: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]).default(302),
        location: z.string().min(1).max(2048).regex(FIELD_VALUE, 'must be a header value: no control characters (CR, LF, NUL)'),
      })
      .optional(),
  })
  .refine((a) => (a.type === 'redirect') === (a.redirect !== undefined), {
    path: ['redirect'],
    message: 'is required for type redirect ({ code, location }), and only for it',
  });

/** One ACL entry. */
export const AclSchema = z.strictObject({
  name: z.string().max(256).default('').describe('for people only'),
  index: z.int().min(0).max(2147483647).describe('evaluation order, lower first; unique within the load balancer'),
  action: ActionSchema.describe('allow: route as usual; deny: a 403 of ours; redirect: the code and Location given'),
  match: MatchSchema.default({ ip_subnet: [], http_filter: 'acl_http_filter_none', http_filter_value: [], invert: false }),
});
export type Acl = z.output<typeof AclSchema>;

/** A load balancer's `acls`: at most ACL_LIMITS.entries, indices unique (errors name `acls[i].index`). */
export const AclListSchema = z
  .array(AclSchema)
  .max(ACL_LIMITS.entries)
  .superRefine((acls, ctx) => {
    const seen = new Map<number, number>();
    acls.forEach((a, i) => {
      const first = seen.get(a.index);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'index'], message: `duplicate index ${a.index} (also acls[${first}])` });
      else seen.set(a.index, i);
    });
  })
  .default([])
  .describe('our extension: access control lists (core/acl), first matching entry by index decides; before rules and steering');
