import { localhostAllowedHostnames, localhostAllowedOrigins, validateHostHeader, validateOriginHeader } from "@modelcontextprotocol/server";
import type { MiddlewareHandler } from "hono";
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
 * Rejects requests whose Host (or browser Origin) is not allowed, with 403: a web page on another
 * site cannot reach a local server by rebinding its own domain to 127.0.0.1.
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const { allowedHosts, allowedOrigins } = options;
  return async (c, next) => {
    if (allowedHosts) {
      const host = validateHostHeader(c.req.header("host"), allowedHosts);
      if (!host.ok) return jsonRpcErrorResponse(403, -32000, `Forbidden: ${host.message}`);
    }
    if (allowedOrigins) {
      const origin = validateOriginHeader(c.req.header("origin"), allowedOrigins);
      if (!origin.ok) return jsonRpcErrorResponse(403, -32000, `Forbidden: ${origin.message}`);
    }
    await next();
    return undefined;
  };
}
