/** Request facts for steering, read lazily: nothing is parsed unless a policy asks. */
import { cookieValue } from '../../core/affinity/index.ts';
import type { RequestTarget } from '../../core/forward/index.ts';
import type { RequestFacts } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';

/** Where the request comes from (request.cf), read only if pool steering asks. */
export class CfPlace implements PlaceFacts {
  readonly #request: Request;
  #cf: IncomingRequestCfProperties | undefined | null = null;
  /** Reads `request.cf` only when a fact is asked for: building that object costs ~4% of
   * throughput (BENCH_PROFILE=1), and most steering policies never ask. */
  constructor(request: Request) {
    this.#request = request;
  }
  get #props(): IncomingRequestCfProperties | undefined {
    if (this.#cf === null) this.#cf = this.#request.cf as IncomingRequestCfProperties | undefined;
    return this.#cf;
  }
  get colo(): string | undefined {
    return this.#props?.colo;
  }
  get country(): string | undefined {
    return this.#props?.country ?? undefined;
  }
  get continent(): string | undefined {
    return this.#props?.continent ?? undefined;
  }
  get latitude(): number | undefined {
    return coordinate(this.#props?.latitude);
  }
  get longitude(): number | undefined {
    return coordinate(this.#props?.longitude);
  }
}

function coordinate(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Request facts for hash keys, read lazily from the request (no work unless a hash pool asks). */
export class HttpFacts implements RequestFacts {
  readonly request: Request;
  readonly url: RequestTarget;
  constructor(request: Request, url: RequestTarget) {
    this.request = request;
    this.url = url;
  }
  get clientIp(): string | undefined {
    return this.request.headers.get('cf-connecting-ip') ?? undefined;
  }
  get uri(): string {
    return this.url.path;
  }
  header(name: string): string | null {
    return this.request.headers.get(name);
  }
  cookie(name: string): string | undefined {
    return cookieValue(this.request.headers.get('cookie'), name);
  }
}

