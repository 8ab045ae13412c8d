import * as oauth from "oauth4webapi";
import { isLoopbackUrl } from "./urls.js";

/** Authorization server metadata (RFC 8414 / OpenID Connect Discovery). */
export type AuthorizationServerMetadata = oauth.AuthorizationServer;

export interface DiscoveryOptions {
  timeoutMs?: number;
  /** Allow plain http for a non-loopback issuer (private networks only). */
  allowInsecureHttp?: boolean;
}

/**
 * The URLs where an issuer's metadata may live, in the order MCP clients try them: RFC 8414 with
 * path insertion, then OIDC Discovery with path insertion, then OIDC with the path appended.
 */
export function metadataUrls(issuer: URL): URL[] {
  const path = issuer.pathname === "/" ? "" : issuer.pathname.replace(/\/$/, "");
  const urls = [
    new URL(`/.well-known/oauth-authorization-server${path}`, issuer.origin),
    new URL(`/.well-known/openid-configuration${path}`, issuer.origin),
    new URL(`${path}/.well-known/openid-configuration`, issuer.origin),
  ];
  return urls.filter((url, index) => urls.findIndex((other) => other.href === url.href) === index);
}

/**
 * Fetches an issuer's metadata from the first well-known URL that serves it, checking that the
 * document's `issuer` is exactly the one asked for (a mismatch is a mix-up attempt, not a detail).
 */
export async function discoverAuthorizationServer(issuer: URL, options: DiscoveryOptions = {}, urls = metadataUrls(issuer)): Promise<AuthorizationServerMetadata> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000), redirect: "manual" });
      if (response.status === 404 || response.status === 405) {
        failures.push(`${url.href}: HTTP ${response.status}`);
        continue;
      }
      return await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      failures.push(`${url.href}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no authorization server metadata for ${issuer.href} (${failures.join("; ")})`);
}

/** Options for oauth4webapi requests to `url`: plain http only where it is allowed. */
export function requestOptions(url: URL, allowInsecureHttp: boolean | undefined): { [oauth.allowInsecureRequests]?: boolean } {
  return url.protocol === "http:" && (isLoopbackUrl(url) || allowInsecureHttp) ? { [oauth.allowInsecureRequests]: true } : {};
}

/**
 * A value fetched on first use and kept: metadata discovered lazily, so a server starts while
 * its identity provider is unreachable. Failures are retried with exponential backoff (1 s up to
 * 60 s) instead of on every request.
 */
export class Lazy<T> {
  private value: T | undefined;
  private inflight: Promise<T> | undefined;
  private failedAtMs = 0;
  private backoffMs = 0;
  private lastError: unknown;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (this.value !== undefined) return Promise.resolve(this.value);
    if (this.inflight) return this.inflight;
    if (this.backoffMs > 0 && Date.now() - this.failedAtMs < this.backoffMs) return Promise.reject(this.lastError);
    this.inflight = this.load().then(
      (value) => {
        this.value = value;
        this.backoffMs = 0;
        return value;
      },
      (error: unknown) => {
        this.failedAtMs = Date.now();
        this.backoffMs = Math.min(60_000, this.backoffMs === 0 ? 1_000 : this.backoffMs * 2);
        this.lastError = error;
        throw error;
      },
    ).finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  /** The value if it has been loaded, without loading it. */
  peek(): T | undefined {
    return this.value;
  }

  /** Forget the value (after an upstream change). */
  reset(): void {
    this.value = undefined;
  }
}
