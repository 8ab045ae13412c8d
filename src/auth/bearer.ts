import type { Context as HonoContext } from "hono";
import { requestHeader } from "../server/http/headers.js";
import { hasScopes, type AccessToken } from "./access-token.js";
import { authenticationRequired, bearerError, type ChallengeOptions } from "./challenge.js";
import type { AuthProvider } from "./provider.js";

/** The outcome of checking a request's credentials: the caller's token, or the response refusing it. */
export type BearerOutcome = { token: AccessToken } | { response: Response };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: |$)/;

/**
 * Authenticates a request with an RFC 6750 bearer token from the Authorization header, then
 * checks the server-wide required scopes. Tokens in the query string are refused: URLs end up
 * in logs and browser history.
 */
export async function authenticateBearer(c: HonoContext, provider: AuthProvider, onError: (error: unknown) => void): Promise<BearerOutcome> {
  const challenge: ChallengeOptions = { resourceMetadataUrl: provider.resourceMetadataUrl, scopes: provider.requiredScopes };
  if (c.req.url.includes("access_token=") && new URL(c.req.url).searchParams.has("access_token")) {
    return { response: bearerError("invalid_request", "Access tokens are only accepted in the Authorization header", challenge) };
  }
  const header = requestHeader(c, "authorization");
  if (header === undefined || header.trim() === "") return { response: authenticationRequired(challenge) };
  const match = BEARER.exec(header);
  if (!match) {
    // Another scheme (Basic...) is no credential we understand: challenge as if none was sent.
    if (SCHEME.exec(header)?.[1]?.toLowerCase() !== "bearer") return { response: authenticationRequired(challenge) };
    return { response: bearerError("invalid_token", "The Authorization header is not a well-formed Bearer token", challenge) };
  }
  let token: AccessToken | null;
  try {
    token = await provider.verifyToken(match[1]!);
  } catch (error) {
    onError(error);
    token = null;
  }
  if (!token) return { response: bearerError("invalid_token", "The access token is invalid, expired, or not issued for this server", challenge) };
  if (!hasScopes(token, provider.requiredScopes)) {
    const missing = provider.requiredScopes.filter((scope) => !token.scopes.includes(scope));
    return { response: insufficientScope(provider, token, missing) };
  }
  return { token };
}

/**
 * 403 for a token that lacks scopes. The challenge lists every scope needed, plus those already
 * granted: a client that replaces its scopes instead of adding to them still ends up with enough.
 */
export function insufficientScope(provider: AuthProvider, token: AccessToken, missing: readonly string[]): Response {
  return bearerError("insufficient_scope", `The access token lacks the scopes this request needs: ${missing.join(" ")}`, {
    resourceMetadataUrl: provider.resourceMetadataUrl,
    scopes: [...token.scopes, ...provider.requiredScopes, ...missing],
  });
}
