export { accessToken, hasScopes, parseScopes, type AccessToken, type AccessTokenInit } from "./access-token.js";
export { AuthProvider, TokenVerifier, type AuthProviderOptions, type AuthRoute } from "./provider.js";
export { requireScopes, type AuthCheck, type AuthContext } from "./authorization.js";
export { RemoteAuthProvider, type RemoteAuthProviderOptions } from "./remote.js";
export { MultiAuth, type MultiAuthOptions } from "./multi-auth.js";
export { DownstreamTokenError, type DownstreamTokenRequest, type DownstreamTokenSource } from "./downstream.js";
export { protectedResourceMetadataUrl, type ProtectedResourceMetadata } from "./metadata.js";
export { discoverAuthorizationServer, type AuthorizationServerMetadata } from "./discovery.js";
export { authFromEnvironment } from "./env.js";
export { AuthConfigurationError } from "./urls.js";
export { JWTVerifier, type JWTVerifierOptions } from "./verifiers/jwt.js";
export { JWTKeyPair, RSAKeyPair, type CreateTokenOptions, type KeyPairAlgorithm } from "./verifiers/key-pair.js";
export { IntrospectionTokenVerifier, type IntrospectionTokenVerifierOptions } from "./verifiers/introspection.js";
export { StaticTokenVerifier, type StaticTokenEntry, type StaticTokenVerifierOptions } from "./verifiers/static.js";
export { DebugTokenVerifier, type DebugTokenVerifierOptions } from "./verifiers/debug.js";
export type { JwtAlgorithm } from "./verifiers/algorithms.js";
export { OAuthProvider, type OAuthProviderOptions, type ClientRegistrationOptions, type RevocationOptions } from "./server/provider.js";
export { InMemoryOAuthProvider, type InMemoryOAuthProviderOptions } from "./server/in-memory.js";
export { LocalOAuthProvider, type LocalOAuthProviderOptions } from "./server/local/provider.js";
export { StoredOAuthProvider, type StoredOAuthProviderOptions } from "./server/stored-provider.js";
export { ProxyProvider, type ProxyProviderOptions, type ResolvedUpstream } from "./proxy/proxy-provider.js";
export type { DownstreamGrant } from "./proxy/downstream-tokens.js";
export { OAuthProxy, type OAuthProxyOptions } from "./proxy/oauth-proxy.js";
export { OIDCProxy, type OIDCProxyOptions } from "./proxy/oidc-proxy.js";
export type { ConsentMode, ConsentView, RenderConsent } from "./proxy/port.js";
export { UpstreamError, type UpstreamAuthMethod, type UpstreamTokens } from "./proxy/upstream.js";
export type { Authenticate, LocalUser, UserTable } from "./server/local/users.js";
export { OAuthError, type OAuthErrorCode } from "./server/errors.js";
export type { OAuthServerMetadata } from "./server/endpoints/metadata.js";
export type {
  AuthorizationCode,
  AuthorizationParams,
  OAuthClientInformation,
  OAuthClientMetadata,
  OAuthTokenResponse,
  RefreshToken,
  TokenEndpointAuthMethod,
} from "./server/types.js";
