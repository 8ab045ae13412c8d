import { FastMCPError } from "../errors.js";

/** A configuration value that is not what a setting expects. */
export class AuthConfigurationError extends FastMCPError {
  override name = "AuthConfigurationError";
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK.test(url.hostname) || url.hostname === "::1";
}

/**
 * Parses a URL setting. Remote endpoints we fetch keys or metadata from must be https, except on
 * loopback (development) or when `allowInsecureHttp` says otherwise: over plain http anyone on the
 * path could swap the keys we trust.
 */
export function endpointUrl(value: string | URL, setting: string, options: { allowInsecureHttp?: boolean } = {}): URL {
  const url = parseUrl(value, setting);
  if (url.protocol === "http:" && !isLoopbackUrl(url) && !options.allowInsecureHttp) {
    throw new AuthConfigurationError(`${setting} must use https (got ${url.href}); pass allowInsecureHttp: true only for a private network you trust`);
  }
  return url;
}

/** Parses an absolute http(s) URL setting. */
export function parseUrl(value: string | URL, setting: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new AuthConfigurationError(`${setting} must be an absolute URL, got ${JSON.stringify(String(value))}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new AuthConfigurationError(`${setting} must be an http(s) URL, got ${url.href}`);
  }
  if (url.hash || url.username || url.password) throw new AuthConfigurationError(`${setting} must not contain a fragment or credentials`);
  return url;
}

/** A base URL without its trailing slash: `https://mcp.example.com/` → `https://mcp.example.com`. */
export function baseUrlOf(value: string | URL, setting: string): string {
  const url = parseUrl(value, setting);
  if (url.search) throw new AuthConfigurationError(`${setting} must not contain a query string`);
  return url.href.replace(/\/+$/, "");
}

/** `base` + `path`, with exactly one slash between them and none at the end: the canonical resource URL. */
export function joinUrl(base: string, path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed ? `${base}/${trimmed}` : base;
}

/**
 * When `configured` is a loopback URL whose port differs from the one of `listening` (both
 * absolute http(s) URLs), the two ports; otherwise undefined. A public baseUrl is left alone:
 * behind a proxy the public port rarely is the one the server listens on.
 */
export function loopbackPortMismatch(configured: string, listening: string): { configured: string; listening: string } | undefined {
  const url = new URL(configured);
  if (!isLoopbackUrl(url)) return undefined;
  const port = (u: URL) => u.port || (u.protocol === "https:" ? "443" : "80");
  const served = new URL(listening);
  return port(url) === port(served) ? undefined : { configured: port(url), listening: port(served) };
}
