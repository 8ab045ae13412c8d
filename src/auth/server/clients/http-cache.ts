/**
 * How long a fetched document may be used before it is fetched again, and how to ask its server
 * whether it changed: http-cache-semantics (RFC 9111) from the point of view of a private cache
 * (this server fetches documents for its own use and hands them to no one, so `private`
 * responses are kept and `s-maxage` is not for it), within bounds of our own.
 *
 * Only the freshness lifetime is taken, never `stale-if-error` or `stale-while-revalidate`: a
 * document past its lifetime is not used until its server confirms it.
 */
import type { IncomingHttpHeaders } from "node:http";
import CachePolicy from "http-cache-semantics";

export interface CacheBounds {
  /** Lifetime of a response that states none (no `max-age`, no `Expires`), in place of the library's heuristic. */
  defaultSeconds: number;
  /** Upper bound of any lifetime a server asks for. */
  maxSeconds: number;
}

/** A 200, or the 304 that answered a conditional request. */
export interface CacheableResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Conditional request headers that let the server answer 304. */
export interface Validators {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
}

/** The caching rules of one document fetched from `url` (a GET asking for JSON). */
export class DocumentCachePolicy {
  private constructor(
    private readonly url: string,
    private readonly policy: CachePolicy,
    private readonly bounds: CacheBounds,
  ) {}

  static of(url: string, response: CacheableResponse, bounds: CacheBounds): DocumentCachePolicy {
    const stored = normalized(response);
    return new DocumentCachePolicy(url, new CachePolicy(documentRequest(url), { ...stored, headers: { ...CACHING_FIELDS, ...stored.headers } }, { shared: false }), bounds);
  }

  /**
   * The rules after the server answered 304: its headers update the stored ones. A 304 that
   * names another validator than the stored response's leaves rules that keep nothing.
   */
  revalidated(response: CacheableResponse): DocumentCachePolicy {
    const confirmation = normalized({ status: response.status, headers: { ...this.storedValidators(), ...response.headers } });
    return new DocumentCachePolicy(this.url, this.policy.revalidatedPolicy(documentRequest(this.url), confirmation).policy, this.bounds);
  }

  /**
   * Seconds the document stays fresh from now (0: revalidate before every use), or `undefined`
   * when it must not be stored (`no-store`).
   */
  freshnessSeconds(): number | undefined {
    if (!this.policy.storable()) return undefined;
    const seconds = statesNoLifetime(this.policy.responseHeaders()) ? this.bounds.defaultSeconds : this.policy.maxAge() - this.policy.age();
    return Math.min(this.bounds.maxSeconds, Math.max(0, seconds));
  }

  /** What to send to learn whether the document changed; both undefined when it has no validator. */
  validators(): Validators {
    const headers = this.policy.revalidationHeaders(documentRequest(this.url));
    return { ifNoneMatch: single(headers["if-none-match"]), ifModifiedSince: single(headers["if-modified-since"]) };
  }

  /**
   * The stored response's validators, for a 304 that leaves them out (RFC 9110 says it must not):
   * it answers a request that carried them, for the only response stored for this URL, so the
   * library may match it to that response instead of discarding it.
   */
  private storedValidators(): IncomingHttpHeaders {
    const stored = this.policy.responseHeaders();
    return Object.fromEntries(["etag", "last-modified"].flatMap((name) => (stored[name] === undefined ? [] : [[name, stored[name]]])));
  }
}

/**
 * The header fields that decide caching, present (undefined) in every stored response: the library
 * updates a stored response with a 304's fields only where it had them already, where RFC 9111
 * §3.2 adds the others too.
 */
const CACHING_FIELDS: CachePolicy.Headers = Object.fromEntries(["cache-control", "expires", "pragma", "age", "date", "vary", "etag", "last-modified"].map((name) => [name, undefined]));

/** The request every document is fetched with, as the policy needs to see it (the same one each time). */
function documentRequest(url: string): CachePolicy.HttpRequest {
  return { url, method: "GET", headers: { accept: "application/json" } };
}

/** Cache directives are case-insensitive (RFC 9111 §5.2, §5.4); the library compares them as written. */
function normalized(response: CacheableResponse): CachePolicy.HttpResponse {
  const headers: CachePolicy.Headers = { ...response.headers };
  for (const name of ["cache-control", "pragma"]) {
    const value = single(headers[name]);
    if (value !== undefined) headers[name] = value.toLowerCase();
  }
  return { status: response.status, headers };
}

/**
 * Whether a response leaves its lifetime to the cache (RFC 9111 §4.2.2): no `max-age`, no
 * `Expires`, and nothing that makes the library answer 0 whatever the lifetime (`no-cache`, or
 * `Pragma: no-cache` without Cache-Control, or `Vary: *`). The library would then guess from
 * Last-Modified; we use `defaultSeconds`.
 */
function statesNoLifetime(headers: CachePolicy.Headers): boolean {
  const cacheControl = single(headers["cache-control"]);
  const directives = new Set((cacheControl ?? "").split(",").map((part) => part.split("=")[0]?.trim()));
  if (directives.has("max-age") || directives.has("no-cache") || headers.expires !== undefined) return false;
  if (cacheControl === undefined && single(headers.pragma)?.includes("no-cache")) return false;
  return single(headers.vary)?.trim() !== "*";
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
