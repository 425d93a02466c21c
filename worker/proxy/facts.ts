/** Request facts for routing and affinity, read lazily: nothing is parsed unless a policy asks. */
import { cookieValue } from '../../core/affinity/index.ts';
import type { RequestTarget } from '../../core/forward/index.ts';
import type { RequestFacts } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import type { PlaceMemo } from '../../core/steer/place-memo.ts';
import { RuleRequest, type RuleRequestInit } from '../../core/rules/index.ts';

/** A request as routing sees it: hash-key facts, where it comes from, and what affinity reads. */
export interface Incoming {
  readonly url: RequestTarget;
  readonly clientIp: string | undefined;
  readonly uri: string;
  readonly place: PlaceFacts;
  header(name: string): string | null;
  cookie(name: string): string | undefined;
  /** The request as load balancing rules and ACLs see it (core/rules), for the load balancer named `lbName`; built on first use and kept (one load balancer per request). */
  ruleView(lbName: string): RuleRequest;
}

/**
 * Header names rules and ACLs read with one get() each before reading every field in one pass
 * (RuleRequestInit.headerGets): in workerd a forEach over a browser request's 15 fields cost
 * ~4.5 µs and a get() ~0.3 µs (a Worker looping over each, 100,000 times), and the 10-ACL set of
 * bench/rules.ts reads one name.
 */
const HEADER_GETS = 4;

/** Remembered places by client address (none: request.cf is read for each request that asks) and the clock they are judged by. */
export interface PlaceSource {
  readonly places?: PlaceMemo | undefined;
  /** Epoch ms. */
  now(): number;
}

/**
 * Where the request comes from (request.cf), read only if pool steering or a rule asks. With a
 * PlaceSource and a client address, a place read from `request.cf` in the last few minutes for the
 * same address is used instead (core/steer place-memo.ts says why).
 */
export class CfPlace implements PlaceFacts {
  readonly #request: Request;
  readonly #clientIp: string | undefined;
  readonly #source: PlaceSource | undefined;
  #place: PlaceFacts | undefined;
  constructor(request: Request, clientIp?: string, source?: PlaceSource) {
    this.#request = request;
    this.#clientIp = clientIp;
    this.#source = source;
  }
  get #props(): PlaceFacts {
    if (this.#place) return this.#place;
    const ip = this.#clientIp;
    const source = this.#source;
    const memo = ip ? source?.places : undefined; // set: so are ip and source
    const known = memo?.get(ip!, source!.now());
    if (known) return (this.#place = known);
    const cf = this.#request.cf as IncomingRequestCfProperties | undefined;
    const place: PlaceFacts = {
      colo: cf?.colo,
      country: cf?.country ?? undefined,
      continent: cf?.continent ?? undefined,
      latitude: coordinate(cf?.latitude),
      longitude: coordinate(cf?.longitude),
    };
    memo?.set(ip!, place, source!.now());
    return (this.#place = place);
  }
  get colo(): string | undefined {
    return this.#props.colo;
  }
  get country(): string | undefined {
    return this.#props.country;
  }
  get continent(): string | undefined {
    return this.#props.continent;
  }
  get latitude(): number | undefined {
    return this.#props.latitude;
  }
  get longitude(): number | undefined {
    return this.#props.longitude;
  }
}

function coordinate(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A live request's facts, read lazily from the request (no work unless a policy asks). In workerd
 * every `request.headers`, `request.method` and `headers.get()` is a call into the runtime: the
 * headers object and CF-Connecting-IP are read once per request, the method only when a rule asks.
 */
export class HttpFacts implements Incoming, RequestFacts {
  readonly request: Request;
  readonly url: RequestTarget;
  readonly #places: PlaceSource | undefined;
  #place: CfPlace | undefined;
  #headers: Headers | undefined;
  /** `places`: where places read from request.cf are remembered by client address. */
  constructor(request: Request, url: RequestTarget, places?: PlaceSource) {
    this.request = request;
    this.url = url;
    this.#places = places;
  }
  /** The request's headers (`request.headers`, read once). */
  get headers(): Headers {
    return (this.#headers ??= this.request.headers);
  }
  get place(): PlaceFacts {
    return (this.#place ??= new CfPlace(this.request, this.clientIp, this.#places));
  }
  #clientIp: string | undefined | null = null;
  /** CF-Connecting-IP, read once: the proxy asks for it several times per request (rules, ACLs, hashing, X-Forwarded-For). */
  get clientIp(): string | undefined {
    if (this.#clientIp === null) this.#clientIp = this.headers.get('cf-connecting-ip') ?? undefined;
    return this.#clientIp;
  }
  get uri(): string {
    return this.url.path;
  }
  header(name: string): string | null {
    return this.headers.get(name);
  }
  cookie(name: string): string | undefined {
    return cookieValue(this.headers.get('cookie'), name);
  }
  #view: RuleRequest | undefined;
  ruleView(lbName: string): RuleRequest {
    if (this.#view?.loadBalancer === lbName) return this.#view;
    return (this.#view = new RuleRequest(new LiveRuleInit(this, lbName)));
  }
}

/** What a live request's rule view is built from: each part read from the request only when a rule asks (the method, the place, the client address). */
class LiveRuleInit implements RuleRequestInit {
  readonly #facts: HttpFacts;
  readonly url: RequestTarget;
  readonly loadBalancer: string;
  readonly headerGets = HEADER_GETS;
  constructor(facts: HttpFacts, loadBalancer: string) {
    this.#facts = facts;
    this.url = facts.url;
    this.loadBalancer = loadBalancer;
  }
  get method(): string {
    return this.#facts.request.method;
  }
  get headers(): Headers {
    return this.#facts.headers;
  }
  get clientIp(): string | undefined {
    return this.#facts.clientIp;
  }
  get place(): PlaceFacts {
    return this.#facts.place;
  }
}

/** The facts of a request that did not happen (the routing explainer's input). */
export interface HypotheticalFacts {
  colo?: string;
  country?: string;
  continent?: string;
  latitude?: number;
  longitude?: number;
  client_ip?: string;
  /** The HTTP method rules see (default GET). */
  method?: string;
  path: string;
  headers: Record<string, string>;
  cookies: Record<string, string>;
}

/** A hypothetical request as routing sees it: the same interface as a live one. */
export class ExplainedFacts implements Incoming, RequestFacts {
  readonly url: RequestTarget;
  readonly place: PlaceFacts;
  readonly clientIp: string | undefined;
  readonly #headers: Headers;
  readonly #cookies: Record<string, string>;
  readonly #method: string;
  constructor(hostname: string, f: HypotheticalFacts) {
    this.#method = f.method ?? 'GET';
    this.url = { protocol: 'https:', host: hostname, hostname, path: f.path };
    this.place = { colo: f.colo, country: f.country, continent: f.continent, latitude: f.latitude, longitude: f.longitude };
    this.clientIp = f.client_ip;
    this.#headers = new Headers(f.headers);
    this.#cookies = f.cookies;
  }
  get uri(): string {
    return this.url.path;
  }
  header(name: string): string | null {
    return this.#headers.get(name);
  }
  cookie(name: string): string | undefined {
    return Object.hasOwn(this.#cookies, name) ? this.#cookies[name] : cookieValue(this.#headers.get('cookie'), name);
  }
  #view: RuleRequest | undefined;
  /** `cookies` are seen by `http.cookie` too (joined after any Cookie header). */
  ruleView(lbName: string): RuleRequest {
    if (this.#view?.loadBalancer === lbName) return this.#view;
    const headers = new Headers(this.#headers);
    const jar = Object.entries(this.#cookies).map(([k, v]) => `${k}=${v}`);
    if (jar.length) headers.set('cookie', [headers.get('cookie'), ...jar].filter(Boolean).join('; '));
    return (this.#view = new RuleRequest({ url: this.url, method: this.#method, headers, clientIp: this.clientIp, place: this.place, loadBalancer: lbName }));
  }
}
