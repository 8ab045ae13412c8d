import type { Context as HonoContext } from "hono";
import { requestHeader } from "../http/headers.js";
import { hasScopes, type AccessToken } from "./access-token.js";
import { authenticationRequired, bearerError, type ChallengeOptions } from "./challenge.js";
import type { AuthProvider } from "./provider.js";

/** The outcome of checking a request's credentials: the caller's token, or the response refusing it. */
export type BearerOutcome = { token: AccessToken } | { response: Response };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: |$)/;

const BEARER_PREFIX = "Bearer ";

/**
 * Authenticates a request with an RFC 6750 bearer token from the Authorization header, then
 * checks the server-wide required scopes. Tokens in the query string are refused: URLs end up
 * in logs and browser history.
 *
 * A token the provider already verified is answered synchronously (`cachedToken`): clients send
 * one token for its whole lifetime, so that is nearly every request, and it then costs neither
 * a promise nor a trip through the microtask queue. The header is parsed in full only when the
 * provider does not know the token: `cachedToken` only knows well-formed tokens, so "Bearer "
 * followed by one of them is exactly what the full parse would accept.
 */
export function authenticateBearer(c: HonoContext, provider: AuthProvider, onError: (error: unknown) => void): BearerOutcome | Promise<BearerOutcome> {
  if (c.req.url.includes("access_token=") && new URL(c.req.url).searchParams.has("access_token")) {
    return { response: bearerError("invalid_request", "Access tokens are only accepted in the Authorization header", challengeOf(provider)) };
  }
  const header = requestHeader(c, "authorization");
  if (header !== undefined && header.startsWith(BEARER_PREFIX)) {
    let cached: AccessToken | undefined;
    try {
      cached = provider.cachedToken(header.slice(BEARER_PREFIX.length));
    } catch (error) {
      onError(error);
    }
    if (cached !== undefined) return withRequiredScopes(provider, cached);
  }
  return verifyHeader(header, provider, onError);
}

async function verifyHeader(header: string | undefined, provider: AuthProvider, onError: (error: unknown) => void): Promise<BearerOutcome> {
  if (header === undefined || header.trim() === "") return { response: authenticationRequired(challengeOf(provider)) };
  const match = BEARER.exec(header);
  if (!match) {
    // Another scheme (Basic...) is no credential we understand: challenge as if none was sent.
    if (SCHEME.exec(header)?.[1]?.toLowerCase() !== "bearer") return { response: authenticationRequired(challengeOf(provider)) };
    return { response: bearerError("invalid_token", "The Authorization header is not a well-formed Bearer token", challengeOf(provider)) };
  }
  let token: AccessToken | null;
  try {
    token = await provider.verifyToken(match[1]!);
  } catch (error) {
    onError(error);
    token = null;
  }
  if (!token) return { response: bearerError("invalid_token", "The access token is invalid, expired, or not issued for this server", challengeOf(provider)) };
  return withRequiredScopes(provider, token);
}

function withRequiredScopes(provider: AuthProvider, token: AccessToken): BearerOutcome {
  if (!hasScopes(token, provider.requiredScopes)) {
    const missing = provider.requiredScopes.filter((scope) => !token.scopes.includes(scope));
    return { response: insufficientScope(provider, token, missing) };
  }
  return { token };
}

function challengeOf(provider: AuthProvider): ChallengeOptions {
  return { resourceMetadataUrl: provider.resourceMetadataUrl, scopes: provider.requiredScopes };
}

/**
 * 403 for a token that lacks scopes. The challenge lists every scope needed, plus those already
 * granted: a client that replaces its scopes instead of adding to them still ends up with enough.
 */
export function insufficientScope(provider: AuthProvider, token: AccessToken, missing: readonly string[]): Response {
  return bearerError("insufficient_scope", `The access token lacks the scopes this request needs: ${missing.join(" ")}`, {
    resourceMetadataUrl: provider.resourceMetadataUrl,
    scopes: [...token.scopes, ...provider.requiredScopes, ...missing].map((scope) => provider.challengeScope(scope)),
  });
}
