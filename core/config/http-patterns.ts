/**
 * HTTP field patterns shared by the config schemas (core/config/schema.ts, core/acl/schema.ts,
 * which schema.ts imports, so neither can take them from the other) and the admin API's routing
 * explainer (header names). A leaf: it imports nothing.
 */

/** An HTTP field name (RFC 9110 §5.1: a token, here 1-256 characters), also a cookie name (RFC 6265). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** An HTTP field value (RFC 9110 §5.5): no control characters but HTAB, Latin-1 only (what the runtime's Headers accepts). */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
