import type { Context as HonoContext } from "hono";
import { parseScopes } from "../../access-token.js";
import { authenticateClient, clientCredentialsFrom } from "../clients/registration.js";
import { OAuthError } from "../errors.js";
import { verifyCodeVerifier } from "../pkce.js";
import type { AuthorizationServer } from "../contract.js";
import { OAUTH_CORS_HEADERS } from "./cors.js";
import { BodyError, readForm } from "./request-body.js";
import { jsonResponse, oauthErrorResponse } from "./responses.js";
import type { OAuthClientInformation, OAuthTokenResponse } from "../types.js";

/** A client that authenticated at the token or revocation endpoint, and how it did. */
export interface AuthenticatedClient {
  client: OAuthClientInformation;
  /** Whether the request carried an Authorization header (failures then answer with a Basic challenge). */
  usedBasic: boolean;
}

/**
 * `/token`: the authorization_code and refresh_token grants. Every answer is `no-store`; errors
 * follow RFC 6749 §5.2, with invalid_client and invalid_grant as 401 as MCP clients expect.
 */
export function tokenEndpoint(provider: AuthorizationServer): (c: HonoContext) => Promise<Response> {
  return async (c) => {
    try {
      const form = await readForm(c);
      const { client } = await authenticate(provider, c, form);
      const tokens = await grant(provider, client, form);
      return jsonResponse(tokens, 200, OAUTH_CORS_HEADERS);
    } catch (error) {
      return tokenError(provider, error);
    }
  };
}

export function tokenError(provider: AuthorizationServer, error: unknown): Response {
  if (error instanceof BodyError) return oauthErrorResponse(error, { status: error.status, headers: OAUTH_CORS_HEADERS });
  if (error instanceof ClientAuthenticationError) {
    return oauthErrorResponse(error, { headers: { ...OAUTH_CORS_HEADERS, ...(error.usedBasic ? { "www-authenticate": 'Basic realm="oauth"' } : {}) } });
  }
  if (error instanceof OAuthError) return oauthErrorResponse(error, { headers: OAUTH_CORS_HEADERS });
  provider.report(error);
  return oauthErrorResponse(new OAuthError("server_error", "The authorization server failed to handle the request"), { headers: OAUTH_CORS_HEADERS });
}

class ClientAuthenticationError extends OAuthError {
  constructor(readonly usedBasic: boolean, description: string) {
    super("invalid_client", description);
  }
}

/** RFC 6749 §2.3: the client and its credentials, by the method it registered. */
export async function authenticate(provider: AuthorizationServer, c: HonoContext, form: URLSearchParams): Promise<AuthenticatedClient> {
  const authorization = c.req.header("authorization");
  // RFC 6749 §5.2: a client that tried the Authorization header gets 401 with WWW-Authenticate,
  // whatever was wrong with it (malformed, another scheme, an empty secret for a confidential client).
  const usedBasic = authorization !== undefined && authorization !== "";
  const credentials = clientCredentialsFrom({ authorization }, form);
  if ("error" in credentials) {
    throw credentials.error.error === "invalid_client" ? new ClientAuthenticationError(usedBasic, credentials.error.description) : credentials.error;
  }
  if (!credentials.clientId) throw new ClientAuthenticationError(usedBasic, "The request does not identify the client (client_id)");
  const client = await provider.resolveClient(credentials.clientId);
  if (!client || !authenticateClient(client, credentials)) {
    throw new ClientAuthenticationError(usedBasic, "Client authentication failed: unknown client, wrong secret, or not the authentication method the client registered");
  }
  return { client, usedBasic };
}

async function grant(provider: AuthorizationServer, client: OAuthClientInformation, form: URLSearchParams): Promise<OAuthTokenResponse> {
  const grantType = form.get("grant_type");
  if (!grantType) throw new OAuthError("invalid_request", "grant_type is missing");
  if (grantType !== "authorization_code" && grantType !== "refresh_token") throw new OAuthError("unsupported_grant_type", `grant_type ${grantType} is not supported`);
  const registered = client.grant_types ?? ["authorization_code"];
  if (!registered.includes(grantType)) throw new OAuthError("unauthorized_client", `This client did not register the ${grantType} grant`);
  return grantType === "authorization_code" ? authorizationCodeGrant(provider, client, form) : refreshTokenGrant(provider, client, form);
}

async function authorizationCodeGrant(provider: AuthorizationServer, client: OAuthClientInformation, form: URLSearchParams): Promise<OAuthTokenResponse> {
  const value = form.get("code");
  if (!value) throw new OAuthError("invalid_request", "code is missing");
  const verifier = form.get("code_verifier");
  if (!verifier) throw new OAuthError("invalid_request", "code_verifier is missing: PKCE is required");
  const code = await provider.loadAuthorizationCode(client, value);
  // One message for every way a code can be wrong: the caller learns nothing about which.
  if (!code || code.clientId !== client.client_id || code.expiresAt * 1000 <= Date.now()) throw invalidCode();
  const redirectUri = form.get("redirect_uri");
  if (code.redirectUriProvidedExplicitly || redirectUri !== null) {
    if (redirectUri !== code.redirectUri) throw new OAuthError("invalid_grant", "redirect_uri does not match the one of the authorization request");
  }
  if (!verifyCodeVerifier(verifier, code.codeChallenge)) throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE)");
  checkResource(provider, form, code.resource);
  return provider.exchangeAuthorizationCode(client, code);
}

/** Made only when thrown: an Error captures its stack trace when constructed (about 17 µs here). */
function invalidCode(): OAuthError {
  return new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client");
}

async function refreshTokenGrant(provider: AuthorizationServer, client: OAuthClientInformation, form: URLSearchParams): Promise<OAuthTokenResponse> {
  const value = form.get("refresh_token");
  if (!value) throw new OAuthError("invalid_request", "refresh_token is missing");
  const token = await provider.loadRefreshToken(client, value);
  if (!token || token.clientId !== client.client_id || (token.expiresAt !== undefined && token.expiresAt * 1000 <= Date.now())) {
    throw new OAuthError("invalid_grant", "The refresh token is invalid, expired, revoked, or was issued to another client");
  }
  const asked = form.get("scope");
  const scopes = asked === null ? token.scopes : [...new Set(parseScopes(asked))].filter((scope) => scope !== "offline_access");
  const widened = scopes.filter((scope) => !token.scopes.includes(scope));
  if (widened.length > 0) throw new OAuthError("invalid_scope", `A refresh cannot add scopes the grant does not have: ${widened.join(" ")}`);
  checkResource(provider, form, token.resource);
  return provider.exchangeRefreshToken(client, token, scopes);
}

/** RFC 8707 §2.2: a resource at the token endpoint must be the one the grant is for. */
function checkResource(provider: AuthorizationServer, form: URLSearchParams, granted: string | undefined): void {
  const resource = form.get("resource");
  if (resource === null) return;
  if (provider.resourceFor(resource) !== (granted ?? provider.resourceUrl)) throw new OAuthError("invalid_target", "The grant was issued for another resource");
}
