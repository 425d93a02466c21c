/**
 * A strong entity tag for a JSON value (RFC 9110 section 8.8.3): FNV-1a (64-bit) of its
 * serialisation, quoted. Content-derived, so equal bodies share a tag; not a security hash.
 */
export function etagOf(value: unknown): string {
  const text = JSON.stringify(value);
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `"${h.toString(16).padStart(16, '0')}"`;
}

/**
 * Whether an `If-Match` header value (RFC 9110 section 13.1.1) admits the current tag: absent
 * header admits anything, `*` admits an existing resource, otherwise one of the listed tags must
 * match by strong comparison (a weak `W/` tag never matches).
 */
export function ifMatchAdmits(header: string | null | undefined, current: string): boolean {
  if (header == null) return true;
  const h = header.trim();
  if (h === '*') return true;
  return h
    .split(',')
    .map((t) => t.trim())
    .includes(current);
}
