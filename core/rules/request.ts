/**
 * A request as rule conditions see it: built once per request, every field computed on first use
 * and kept (a field no rule reads costs nothing; one read by many rules is computed once).
 *
 * Field semantics follow Cloudflare's "Supported fields and operators" for load balancing rules
 * (developers.cloudflare.com/load-balancing/additional-options/load-balancing-rules/reference/)
 * and the Rules language field reference; where a runtime cannot give what Cloudflare gives, the
 * getter says so.
 */
import type { RequestTarget } from '../forward/index.ts';
import type { PlaceFacts } from '../steer/pools.ts';
import { regionOf } from '../steer/regions.ts';
import { parseAddress, type IpAddress } from './ip.ts';

/** What a request view is built from: the parts the proxy (or the routing explainer) already has. */
export interface RuleRequestInit {
  /** Scheme, host and path with query (core/forward `splitUrl`). */
  readonly url: RequestTarget;
  /** The HTTP method as received (upper case for standard methods); read on first use (it may be a getter into the runtime). */
  readonly method: string;
  /** Read on each header lookup (it may be a getter; keep it cheap). */
  readonly headers: Headers;
  /** The client's address (CF-Connecting-IP); undefined when unknown: then `ip.src` is missing. */
  readonly clientIp?: string | undefined;
  /** Where the request comes from (request.cf), read only when a rule asks. `region` may be given;
   * otherwise it is derived from country, continent and longitude (core/steer/regions). */
  readonly place?: (PlaceFacts & { readonly region?: string | undefined }) | undefined;
  /** The name of the load balancer whose rules run (`cf.load_balancer.name`). */
  readonly loadBalancer: string;
  /**
   * How many distinct header names are read with one `get()` each before every field is read in
   * one pass (default 0: the pass at the first read). Which is cheaper depends on the runtime: in
   * Node a field of the pass costs about what a get() does, so one pass serves any rule set; in
   * workerd the pass calls back into JS per field (~4.5 µs over a browser's 15 fields, ~0.3 µs a
   * get()), so the few names a small rule set or ACL reads are cheaper apart (worker/proxy/facts.ts).
   */
  readonly headerGets?: number;
}

const UNSET = Symbol('unset');
/** A header key with an upper-case letter is never present (Cloudflare's keys are lower case). */
const UPPER = /[A-Z]/;
type Lazy<T> = T | typeof UNSET;

export class RuleRequest {
  readonly #init: RuleRequestInit;
  #path: Lazy<string> = UNSET;
  #query: Lazy<string> = UNSET;
  #ip: Lazy<IpAddress | undefined> = UNSET;
  #region: Lazy<string | undefined> = UNSET;
  #method: string | undefined;
  #headers: Map<string, readonly string[] | undefined> | undefined;
  /** Whether `#headers` holds every field (the one pass ran). */
  #allHeaders = false;
  #headerNames: Lazy<string[]> = UNSET;
  #headerValues: Lazy<string[]> = UNSET;
  #cookie: Lazy<string> = UNSET;
  #cookies: Lazy<Map<string, string[]>> = UNSET;
  #args: Lazy<Map<string, string[]>> = UNSET;
  #argNames: Lazy<string[]> = UNSET;
  #argValues: Lazy<string[]> = UNSET;

  /** `http.host`: the hostname of the request URI (lower case, without port). */
  readonly host: string;
  /** `http.request.uri`: path and query (`/articles/index?section=539061`). */
  readonly uri: string;
  /** `cf.load_balancer.name`. */
  readonly loadBalancer: string;

  /**
   * Copies the fields that cost nothing to copy (plain property reads are the cheapest for rules);
   * the rest is lazy, the method too (in workerd `request.method` is a call into the runtime, and
   * most requests meet no rule that reads it).
   */
  constructor(init: RuleRequestInit) {
    this.#init = init;
    this.host = init.url.hostname;
    this.uri = init.url.path;
    this.loadBalancer = init.loadBalancer;
  }
  /** `http.request.method`, as received (upper case for the standard methods). */
  get method(): string {
    return (this.#method ??= this.#init.method);
  }
  /** `http.request.uri.path`: the path, not decoded. */
  get path(): string {
    if (this.#path !== UNSET) return this.#path;
    const p = this.#init.url.path;
    const q = p.indexOf('?');
    return (this.#path = q < 0 ? p : p.slice(0, q));
  }
  /** `http.request.uri.query`: the query string without `?` ("" when none). */
  get query(): string {
    if (this.#query !== UNSET) return this.#query;
    const p = this.#init.url.path;
    const q = p.indexOf('?');
    return (this.#query = q < 0 ? '' : p.slice(q + 1));
  }
  /** `http.request.full_uri`: scheme, host (as the client wrote it) and URI. */
  get fullUri(): string {
    const u = this.#init.url;
    return `${u.protocol}//${u.host}${u.path}`;
  }
  /** `ssl`: whether the request came over HTTPS. */
  get ssl(): boolean {
    return this.#init.url.protocol === 'https:';
  }

  /**
   * `http.request.headers[name]`: the header's values, or undefined (missing) when absent. Keys are
   * lower case, as Cloudflare's are: a key with an upper-case letter is never present. The Fetch
   * API joins repeated headers with ", " (RFC 9110 §5.3), so this array has one element where
   * Cloudflare would list each occurrence.
   */
  header(name: string): readonly string[] | undefined {
    // The first `headerGets` distinct names one get() each, then every field in one pass (see
    // RuleRequestInit.headerGets). get() and the pass agree: repeated fields (Set-Cookie too)
    // joined with ", ", as Cloudflare's one-element view here.
    let memo = this.#headers;
    if (!memo) memo = this.#headers = new Map();
    else if (memo.has(name) || this.#allHeaders) return memo.get(name);
    if (memo.size < (this.#init.headerGets ?? 0)) {
      const value = UPPER.test(name) ? null : this.#init.headers.get(name);
      const got = value === null ? undefined : [value];
      memo.set(name, got);
      return got;
    }
    const all = memo;
    this.#allHeaders = true;
    all.clear(); // the pass reads every field again, those read apart included
    this.#init.headers.forEach((value, key) => {
      const prior = all.get(key);
      all.set(key, prior ? [`${prior[0]}, ${value}`] : [value]);
    });
    return all.get(name);
  }
  /** `http.request.headers.names`: header names (lower case, sorted by the Fetch API). */
  get headerNames(): string[] {
    if (this.#headerNames === UNSET) {
      const names: string[] = (this.#headerNames = []);
      this.#init.headers.forEach((_, name) => names.push(name));
    }
    return this.#headerNames;
  }
  /** `http.request.headers.values`: header values, in the order of `headerNames`. */
  get headerValues(): string[] {
    if (this.#headerValues === UNSET) {
      const values: string[] = (this.#headerValues = []);
      this.#init.headers.forEach((value) => values.push(value));
    }
    return this.#headerValues;
  }

  /** `http.cookie`: the whole Cookie header ("" when none). */
  get cookie(): string {
    if (this.#cookie === UNSET) this.#cookie = this.header('cookie')?.[0] ?? '';
    return this.#cookie;
  }
  /** `http.request.cookies[name]`: values by name; names are URL-decoded and merged, values kept as sent. */
  cookies(name: string): readonly string[] | undefined {
    if (this.#cookies === UNSET) {
      this.#cookies = new Map();
      for (const part of this.cookie.split(';')) {
        const eq = part.indexOf('=');
        if (eq <= 0) continue;
        pushTo(this.#cookies, decode(part.slice(0, eq).trim()), part.slice(eq + 1).trim());
      }
    }
    return this.#cookies.get(name);
  }
  /** `http.user_agent` ("" when none). */
  get userAgent(): string {
    return this.header('user-agent')?.[0] ?? '';
  }
  /** `http.referer` ("" when none). */
  get referer(): string {
    return this.header('referer')?.[0] ?? '';
  }

  /** `http.request.uri.args[name]`: query argument values by name, not decoded, in request order. */
  arg(name: string): readonly string[] | undefined {
    return this.#argMap().get(name);
  }
  /** `http.request.uri.args.names`: argument names in request order (repeats kept). */
  get argNames(): string[] {
    if (this.#argNames === UNSET) this.#argMap();
    return this.#argNames as string[];
  }
  /** `http.request.uri.args.values`: argument values in request order. */
  get argValues(): string[] {
    if (this.#argValues === UNSET) this.#argMap();
    return this.#argValues as string[];
  }
  #argMap(): Map<string, string[]> {
    if (this.#args !== UNSET) return this.#args;
    const args = new Map<string, string[]>();
    const names: string[] = [];
    const values: string[] = [];
    for (const part of this.query ? this.query.split('&') : []) {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      (names.push(name), values.push(value), pushTo(args, name, value));
    }
    this.#argNames = names;
    this.#argValues = values;
    return (this.#args = args);
  }

  /** `ip.src`: the client's address; undefined (missing) when unknown or not an address. */
  get ip(): IpAddress | undefined {
    if (this.#ip === UNSET) {
      const text = this.#init.clientIp;
      this.#ip = text ? parseAddress(text) : undefined;
    }
    return this.#ip;
  }
  /** `ip.src.country`: ISO 3166-1 alpha-2, upper case as Cloudflare gives it; undefined when unknown. */
  get country(): string | undefined {
    return this.#init.place?.country;
  }
  /** `ip.src.continent`: AF, AN, AS, EU, NA, OC, SA (T1 for Tor); undefined when unknown. */
  get continent(): string | undefined {
    return this.#init.place?.continent;
  }
  /** `cf.colo.name`: the data center handling the request (request.cf.colo, an IATA code such as "SFO"). */
  get colo(): string | undefined {
    return this.#init.place?.colo;
  }
  /** `cf.load_balancer.region`: the Load Balancing region code (ENAM, WEU…) of where the request is handled. */
  get region(): string | undefined {
    if (this.#region !== UNSET) return this.#region;
    const p = this.#init.place;
    return (this.#region = p?.region ?? regionOf(p?.country, p?.continent, p?.longitude));
  }
}

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
