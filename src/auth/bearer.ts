import type { Context as HonoContext } from "hono";
import type { AccessToken } from "./access-token.js";
import type { TokenVerifier } from "./provider.js";
import { requestHeader } from "../server/http/headers.js";

/** The outcome of checking a request's credentials: the caller's token, or the response refusing it. */
export type BearerOutcome = { token: AccessToken } | { response: Response };

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/**
 * Authenticates a request with an RFC 6750 bearer token from the Authorization header.
 * Tokens in the query string are refused (RFC 6750 §2.3 is not supported: URLs end up in logs).
 */
export async function authenticateBearer(c: HonoContext, verifier: TokenVerifier, onError: (error: unknown) => void): Promise<BearerOutcome> {
  if (new URL(c.req.url).searchParams.has("access_token")) {
    return { response: challenge(401, "invalid_request", "Access tokens are only accepted in the Authorization header") };
  }
  const header = requestHeader(c, "authorization");
  if (header === undefined) return { response: challenge(401, undefined, "Authentication required: send an Authorization: Bearer <token> header") };
  const match = BEARER.exec(header);
  if (!match) return { response: challenge(401, "invalid_request", "The Authorization header must use the Bearer scheme") };
  let token: AccessToken | null;
  try {
    token = await verifier.verifyToken(match[1]!);
  } catch (error) {
    onError(error);
    token = null;
  }
  if (!token) return { response: challenge(401, "invalid_token", "The access token is invalid or expired") };
  const missing = (verifier.requiredScopes ?? []).filter((scope) => !token.scopes.includes(scope));
  if (missing.length > 0) return { response: challenge(403, "insufficient_scope", `The access token lacks the required scopes: ${missing.join(" ")}`, missing) };
  return { token };
}

function challenge(status: 401 | 403, error: string | undefined, description: string, scopes?: string[]): Response {
  const params: string[] = [];
  if (error) params.push(`error="${error}"`, `error_description="${description.replaceAll('"', "'")}"`);
  if (scopes) params.push(`scope="${scopes.join(" ")}"`);
  return new Response(JSON.stringify({ error: error ?? "unauthorized", error_description: description }), {
    status,
    headers: { "content-type": "application/json", "www-authenticate": params.length ? `Bearer ${params.join(", ")}` : "Bearer" },
  });
}
