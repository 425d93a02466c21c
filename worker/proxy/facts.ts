/** Request facts for steering, read lazily: nothing is parsed unless a policy asks. */
import { cookieValue } from '../../core/affinity/index.ts';
import type { RequestFacts } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';

/** Where the request comes from (request.cf), read only if pool steering asks. */
export class CfPlace implements PlaceFacts {
  readonly #cf: IncomingRequestCfProperties | undefined;
  constructor(request: Request) {
    this.#cf = request.cf as IncomingRequestCfProperties | undefined;
  }
  get colo(): string | undefined {
    return this.#cf?.colo;
  }
  get country(): string | undefined {
    return this.#cf?.country ?? undefined;
  }
  get continent(): string | undefined {
    return this.#cf?.continent ?? undefined;
  }
  get latitude(): number | undefined {
    return coordinate(this.#cf?.latitude);
  }
  get longitude(): number | undefined {
    return coordinate(this.#cf?.longitude);
  }
}

function coordinate(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Request facts for hash keys, read lazily from the request (no work unless a hash pool asks). */
export class HttpFacts implements RequestFacts {
  readonly request: Request;
  readonly url: URL;
  constructor(request: Request, url: URL) {
    this.request = request;
    this.url = url;
  }
  get clientIp(): string | undefined {
    return this.request.headers.get('cf-connecting-ip') ?? undefined;
  }
  get uri(): string {
    return this.url.pathname + this.url.search;
  }
  header(name: string): string | null {
    return this.request.headers.get(name);
  }
  cookie(name: string): string | undefined {
    return cookieValue(this.request.headers.get('cookie'), name);
  }
}

