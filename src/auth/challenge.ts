/**
 * RFC 6750 §3 challenges. A request without credentials gets `Bearer` with the metadata URL and
 * the scopes it needs, and no error code; a bad token gets `invalid_token`; a token without the
 * needed scopes gets 403 `insufficient_scope` naming them, so the client can step up.
 */
export interface ChallengeOptions {
  /** RFC 9728 protected resource metadata URL. */
  resourceMetadataUrl?: string | undefined;
  /** Scopes the request needs. */
  scopes?: readonly string[] | undefined;
}

export type BearerErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope";

/** `offline_access` is the client's business, never part of what a resource asks for (SEP-2207). */
export function challengeScopes(scopes: Iterable<string>): string[] {
  return [...new Set(scopes)].filter((scope) => scope !== "offline_access");
}

export function wwwAuthenticate(options: ChallengeOptions, error?: { code: BearerErrorCode; description: string }): string {
  const params: string[] = [];
  if (error) params.push(`error="${error.code}"`, `error_description="${quoted(error.description)}"`);
  const scopes = challengeScopes(options.scopes ?? []);
  if (scopes.length > 0) params.push(`scope="${quoted(scopes.join(" "))}"`);
  if (options.resourceMetadataUrl) params.push(`resource_metadata="${quoted(options.resourceMetadataUrl)}"`);
  return params.length > 0 ? `Bearer ${params.join(", ")}` : "Bearer";
}

/** 401 for a request that carried no usable credentials. */
export function authenticationRequired(options: ChallengeOptions): Response {
  return respond(401, wwwAuthenticate(options), {
    error_description: "This MCP server requires an access token: send Authorization: Bearer <token> (see resource_metadata for where to get one)",
  });
}

/** 401 (or 403 for insufficient_scope) naming the problem. */
export function bearerError(code: BearerErrorCode, description: string, options: ChallengeOptions): Response {
  return respond(code === "insufficient_scope" ? 403 : 401, wwwAuthenticate(options, { code, description }), { error: code, error_description: description });
}

function respond(status: number, challenge: string, body: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "www-authenticate": challenge, "cache-control": "no-store" },
  });
}

function quoted(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`);
}
