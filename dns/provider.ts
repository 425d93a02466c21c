/**
 * The one interface every DNS provider implements (Cloudflare's DNS API, RFC 2136 dynamic update,
 * the in-memory reference), after kubernetes-sigs/external-dns's Provider and Registry: read what
 * we own at a name, apply a change set to it, and never touch a record we did not create.
 *
 * Ownership: a provider marks every record it creates for a load balancer with the zone's
 * `owner_id` and the load balancer's id (Cloudflare: the record comment; RFC 2136: a TXT record
 * in external-dns's registry style beside it), and `read` returns only records carrying that
 * mark. Records at the name that are not ours are counted in `foreign`, never returned, never
 * changed: reconcile refuses to publish a name whose address records belong to someone else.
 *
 * No runtime imports: the providers' network access comes in through their factories.
 */

/** The record types a load balancer publishes. */
export type RecordType = 'A' | 'AAAA' | 'CNAME';

/** One resource record. `name`: lower-case FQDN without the trailing dot; `ttl` in seconds. */
export interface DnsRecord {
  name: string;
  type: RecordType;
  /** A: dotted quad; AAAA: RFC 5952 text; CNAME: lower-case target without the trailing dot. */
  content: string;
  ttl: number;
  /** The provider's id of a record it holds (Cloudflare's record id); absent in desired records. */
  id?: string;
}

/** Who owns a name's records: the zone's owner id and the load balancer whose records they are. */
export interface Owner {
  /** external-dns's `txt-owner-id`: one per installation of edge-lb sharing a zone. */
  ownerId: string;
  lbId: string;
}

/** What a provider holds at one name. */
export interface NameState {
  /** Our records at the name (A/AAAA/CNAME marked with `owner`), in any order. */
  records: DnsRecord[];
  /** Address or CNAME records at the name that are not ours (nobody's, or another owner's). */
  foreign: number;
  /** Opaque to callers; what `apply` needs to apply only to this state (RFC 2136 prerequisites). */
  revision?: string;
}

/** A change set for one name, planned against `before` (what `read` answered). Applied all or nothing. */
export interface ChangeSet {
  name: string;
  owner: Owner;
  before: NameState;
  /** Records to remove (from `before.records`, with their ids where the provider gave them). */
  remove: DnsRecord[];
  /** Records to add. */
  add: DnsRecord[];
}

/** Why a provider call failed. `kind` decides what the caller does; `message` is for the event log (never a secret). */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  /** When the provider asked us to wait (429 retry-after), in ms. */
  readonly retryAfterMs?: number;

  constructor(kind: ProviderErrorKind, message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'ProviderError';
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}

export type ProviderErrorKind = 'auth' | 'rate_limited' | 'conflict' | 'refused' | 'unreachable' | 'invalid';

/**
 * A DNS provider for one zone.
 *
 * - `read(name, owner)`: our records at `name` and the count of foreign ones. Throws ProviderError.
 * - `apply(changes)`: applies the whole change set or nothing. `conflict` when the name changed
 *   since `changes.before` was read (the caller reads again and re-plans); `auth` for a refused
 *   credential; `rate_limited` with `retryAfterMs`; `unreachable` for transport failures.
 */
export interface DnsProvider {
  readonly kind: string;
  read(name: string, owner: Owner): Promise<NameState>;
  apply(changes: ChangeSet): Promise<void>;
}
