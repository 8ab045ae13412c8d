import { localhostAllowedHostnames, localhostAllowedOrigins, validateHostHeader, validateOriginHeader } from "@modelcontextprotocol/server";
import type { Context as HonoContext, MiddlewareHandler } from "hono";
import { requestHeader } from "../../http/headers.js";
import { jsonRpcErrorResponse } from "./json-rpc.js";

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
 * The DNS-rebinding check: a 403 response for a request whose Host (or browser Origin) is not
 * allowed, undefined otherwise. A web page on another site cannot reach a local server by
 * rebinding its own domain to 127.0.0.1.
 */
export function hostCheck(options: HostGuardOptions): (c: HonoContext) => Response | undefined {
  const { allowedHosts, allowedOrigins } = options;
  // Validation parses a URL; clients send the same few Host/Origin values, so remember verdicts.
  const hostVerdict = allowedHosts && memoize((value) => refusal(validateHostHeader(value, allowedHosts)));
  const originVerdict = allowedOrigins && memoize((value) => refusal(validateOriginHeader(value, allowedOrigins)));
  return (c) => {
    const refused = hostVerdict?.(requestHeader(c, "host")) ?? originVerdict?.(requestHeader(c, "origin"));
    return refused === undefined ? undefined : jsonRpcErrorResponse(403, -32000, `Forbidden: ${refused}`);
  };
}

/** The same check as Hono middleware, for the custom routes. */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const check = hostCheck(options);
  return async (c, next) => {
    const refused = check(c);
    if (refused) return refused;
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
