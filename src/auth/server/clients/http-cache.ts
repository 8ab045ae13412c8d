/**
 * How long a fetched document may be used before it is fetched again, from its HTTP caching
 * headers (RFC 9111 §4.2, the parts a private cache of one JSON document needs).
 */
import type { IncomingHttpHeaders } from "node:http";

export interface FreshnessOptions {
  /** Lifetime of a response without `Cache-Control: max-age` or `Expires`. */
  defaultSeconds: number;
  /** Upper bound of any lifetime a server asks for. */
  maxSeconds: number;
}

/**
 * Seconds the response stays fresh (0: revalidate on every use), or `undefined` when it must not
 * be stored (`no-store`). `no-cache` means 0; `max-age` (minus `Age`) wins over `Expires`; an
 * unparsable `max-age` or `Expires` means already stale (RFC 9111 §5.2.2.1, §5.3).
 */
export function freshnessLifetime(headers: IncomingHttpHeaders, now: number, options: FreshnessOptions): number | undefined {
  const directives = cacheControl(headers["cache-control"]);
  if (directives.has("no-store")) return undefined;
  if (directives.has("no-cache")) return 0;
  return Math.min(options.maxSeconds, Math.max(0, declaredLifetime(headers, directives, now) ?? options.defaultSeconds));
}

/** Whether a response (a 304, typically) says anything about its own lifetime. */
export function hasFreshnessHeaders(headers: IncomingHttpHeaders): boolean {
  return headers["cache-control"] !== undefined || headers.expires !== undefined;
}

function declaredLifetime(headers: IncomingHttpHeaders, directives: Map<string, string | undefined>, now: number): number | undefined {
  if (directives.has("max-age")) {
    const maxAge = deltaSeconds(directives.get("max-age"));
    if (maxAge === undefined) return 0;
    return maxAge - (deltaSeconds(single(headers.age)) ?? 0);
  }
  if (headers.expires !== undefined) {
    const expires = Date.parse(headers.expires);
    if (Number.isNaN(expires)) return 0;
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
    return Math.floor((expires - (Number.isNaN(date) ? now : date)) / 1000);
  }
  return undefined;
}

function cacheControl(header: string | undefined): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of (header ?? "").split(",")) {
    const [name = "", ...value] = part.split("=");
    const key = name.trim().toLowerCase();
    if (key) directives.set(key, value.length > 0 ? value.join("=").trim().replace(/^"(.*)"$/, "$1") : undefined);
  }
  return directives;
}

function deltaSeconds(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
