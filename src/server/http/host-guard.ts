import { localhostAllowedHostnames, localhostAllowedOrigins, validateHostHeader, validateOriginHeader } from "@modelcontextprotocol/server";
import type { MiddlewareHandler } from "hono";
import { jsonRpcErrorResponse } from "./json-rpc.js";
import { requestHeader } from "./headers.js";

export interface HostGuardOptions {
  /** Hostnames (no port) the Host header may name. */
  allowedHosts?: string[];
  /** Hostnames (no scheme, no port) a browser Origin header may name. */
  allowedOrigins?: string[];
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith("127.");
}

/** The allowlists that protect a server bound to a loopback address from DNS rebinding. */
export function loopbackGuard(): Required<HostGuardOptions> {
  return { allowedHosts: localhostAllowedHostnames(), allowedOrigins: localhostAllowedOrigins() };
}

/**
 * Rejects requests whose Host (or browser Origin) is not allowed, with 403: a web page on another
 * site cannot reach a local server by rebinding its own domain to 127.0.0.1.
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const { allowedHosts, allowedOrigins } = options;
  // Validation parses a URL; clients send the same few Host/Origin values, so remember verdicts.
  const hostVerdict = memoize((value: string | undefined) => refusal(validateHostHeader(value, allowedHosts!)));
  const originVerdict = memoize((value: string | undefined) => refusal(validateOriginHeader(value, allowedOrigins!)));
  return async (c, next) => {
    const refused = (allowedHosts && hostVerdict(requestHeader(c, "host"))) || (allowedOrigins && originVerdict(requestHeader(c, "origin")));
    if (refused) return jsonRpcErrorResponse(403, -32000, `Forbidden: ${refused}`);
    await next();
    return undefined;
  };
}

function refusal(result: { ok: true } | { ok: false; message: string }): string | undefined {
  return result.ok ? undefined : result.message;
}

/** Caches a pure function of a header value; bounded, so random values cannot grow it. */
function memoize(verdict: (value: string | undefined) => string | undefined): (value: string | undefined) => string | undefined {
  const cache = new Map<string | undefined, string | undefined>();
  return (value) => {
    if (cache.has(value)) return cache.get(value);
    const result = verdict(value);
    if (cache.size >= 256) cache.clear();
    cache.set(value, result);
    return result;
  };
}
