import { OAuthLimitError, type OAuthError, type OAuthErrorCode } from "../errors.js";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;

/**
 * Token endpoint errors that MCP clients must treat as "log in again": the MCP authorization spec
 * wants 401 for invalid or expired grants, where RFC 6749 §5.2 says 400.
 */
const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_grant: 401,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** A JSON OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2). */
export function oauthErrorResponse(error: OAuthError, options: { status?: number; headers?: Record<string, string> } = {}): Response {
  if (error instanceof OAuthLimitError) return jsonResponse(error.toJSON(), 429, { ...options.headers, "retry-after": String(error.retryAfterSeconds) });
  const status = options.status ?? STATUS[error.error] ?? 400;
  // The rest of a refused body is left unread: the connection cannot carry another request.
  return jsonResponse(error.toJSON(), status, status === 413 ? { ...options.headers, connection: "close" } : options.headers);
}

/** A JSON response that no cache keeps: every token endpoint answer carries credentials or says why not. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...NO_STORE, ...headers } });
}

/** A 302 to `location` that is not cached. */
export function redirectResponse(location: string): Response {
  return new Response(null, { status: 302, headers: { location, ...NO_STORE } });
}
