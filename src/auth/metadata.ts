import type { Context as HonoContext } from "hono";
import type { AuthRoute } from "./provider.js";

/** RFC 9728 protected resource metadata. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: ["header"];
  resource_name?: string;
  resource_documentation?: string;
}

export const WELL_KNOWN_PRM = "/.well-known/oauth-protected-resource";

/** `https://host/.well-known/oauth-protected-resource/api/mcp` for the resource `https://host/api/mcp` (RFC 9728 §3). */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  return `${url.origin}${WELL_KNOWN_PRM}${url.pathname === "/" ? "" : url.pathname}`;
}

/**
 * The routes serving a protected resource metadata document: at the path-inserted well-known URL
 * and at the root well-known URL (clients try the first, then the second), with CORS so browser
 * clients can read them.
 */
export function protectedResourceRoutes(document: () => ProtectedResourceMetadata): AuthRoute[] {
  const resourcePath = () => new URL(document().resource).pathname;
  const paths = () => [...new Set([`${WELL_KNOWN_PRM}${resourcePath() === "/" ? "" : resourcePath()}`, WELL_KNOWN_PRM])];
  return paths().flatMap((path) => jsonRoutes(path, document));
}

/** GET (the document) and OPTIONS (CORS preflight) for a public JSON document. */
export function jsonRoutes(path: string, document: () => unknown | Promise<unknown>, cacheSeconds = 300): AuthRoute[] {
  return [
    { method: "GET", path, handler: async () => publicJson(await document(), cacheSeconds) },
    { method: "OPTIONS", path, handler: () => new Response(null, { status: 204, headers: CORS_HEADERS }) },
  ];
}

export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, OPTIONS",
  "access-control-allow-headers": "mcp-protocol-version, content-type",
  "access-control-max-age": "86400",
} as const;

/** A JSON document anyone may fetch and cache for a while. */
export function publicJson(body: unknown, cacheSeconds: number, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": status === 200 ? `public, max-age=${cacheSeconds}` : "no-store", ...CORS_HEADERS },
  });
}

export type { HonoContext };
