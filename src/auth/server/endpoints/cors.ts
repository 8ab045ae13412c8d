/** Browser-based MCP clients call the token, registration and revocation endpoints cross-origin. */
export const OAUTH_CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
  "access-control-max-age": "86400",
} as const;

/** The answer to a CORS preflight of those endpoints. */
export function preflight(): Response {
  return new Response(null, { status: 204, headers: OAUTH_CORS_HEADERS });
}
