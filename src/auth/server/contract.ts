import type { AccessToken } from "../access-token.js";
import type { RateLimiter } from "./rate-limit.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken, TokenEndpointAuthMethod } from "./types.js";

/** What `/register` accepts, as an authorization server settled it from its options. */
export interface RegistrationPolicy {
  readonly enabled: boolean;
  /** Scopes clients may register and request; undefined: the server's supported scopes. */
  readonly validScopes: readonly string[] | undefined;
  /** Scopes a client that registers none gets. */
  readonly defaultScopes: readonly string[] | undefined;
  readonly allowedAuthMethods: readonly TokenEndpointAuthMethod[];
}

/**
 * What the endpoints (`/authorize`, `/token`, `/register`, `/revoke`) need from an authorization
 * server: the protocol checks live in the endpoints, the records and decisions behind this
 * contract. {@link OAuthProvider} implements it; the endpoints know nothing else of it.
 */
export interface AuthorizationServer {
  /** The MCP endpoint's URL: the resource every token is bound to unless another is named. */
  readonly resourceUrl: string;
  readonly requiredScopes: readonly string[];
  /** Scopes clients may request. */
  readonly scopesSupported: readonly string[];
  readonly registration: RegistrationPolicy;
  /** Registrations per client address; undefined: unlimited. */
  readonly registrationLimiter: RateLimiter | undefined;
  /** Take client addresses from X-Forwarded-For. */
  readonly trustProxyHeaders: boolean;

  /** An endpoint's public URL. */
  endpointUrl(path: string): string;
  /** A client by id (registered, or described by its metadata document), or undefined. */
  resolveClient(clientId: string): Promise<OAuthClientInformation | undefined>;
  /** Stores a client `/register` validated; may refuse with an OAuthError (a full registry). */
  registerClient(client: OAuthClientInformation): Promise<void>;
  /** Where to send the browser for a validated authorization request. */
  authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string>;
  /** The client's redirect URI carrying `code` or `error`, `state` and `iss` (RFC 9207). */
  authorizationRedirect(params: Pick<AuthorizationParams, "redirectUri" | "state">, fields: { code: string } | { error: string; error_description?: string }): string;
  /** The resource a token will be bound to (RFC 8707), or an invalid_target OAuthError. */
  resourceFor(resource: string | null | undefined): string;

  loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<AuthorizationCode | undefined>;
  exchangeAuthorizationCode(client: OAuthClientInformation, code: AuthorizationCode): Promise<OAuthTokenResponse>;
  loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<RefreshToken | undefined>;
  exchangeRefreshToken(client: OAuthClientInformation, refreshToken: RefreshToken, scopes: string[]): Promise<OAuthTokenResponse>;
  loadAccessToken(token: string): Promise<AccessToken | undefined>;
  revokeToken(token: AccessToken | RefreshToken): Promise<void>;

  /** Reports a failure an endpoint answers as server_error. */
  report(error: unknown): void;
}
