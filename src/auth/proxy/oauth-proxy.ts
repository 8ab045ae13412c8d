import type { TokenVerifier } from "../provider.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import { ProxyProvider, type ProxyProviderOptions, type ResolvedUpstream } from "./proxy-provider.js";

export interface OAuthProxyOptions extends ProxyProviderOptions {
  /** The upstream identity provider's authorization endpoint (a query in it is kept). */
  upstreamAuthorizationEndpoint: string | URL;
  /** Its token endpoint. */
  upstreamTokenEndpoint: string | URL;
  /** Its revocation endpoint (RFC 7009): revoking a grant here then revokes its upstream tokens too. */
  upstreamRevocationEndpoint?: string | URL;
  /** The upstream's issuer identifier: its callbacks' `iss` (RFC 9207) and its ID tokens are checked against it. */
  upstreamIssuer?: string;
  /** Verifies the upstream's tokens (on every request, cached for `upstreamVerificationCacheSeconds`). Its `requiredScopes` are this server's by default. */
  tokenVerifier: TokenVerifier;
}

/**
 * An OAuth 2.1 authorization server towards MCP clients (dynamic registration, Client ID Metadata
 * Documents, PKCE, RFC 8707, RFC 9207, consent) in front of one app registered at an identity
 * provider that has none of that (GitHub, Google, Discord...), configured with its endpoints and
 * a verifier of its tokens. People sign in upstream; the proxy swaps codes and tokens at each hop,
 * so upstream tokens never reach an MCP client (they stay sealed in the store), and issues its own
 * JWTs, signed by its key ring like LocalOAuthProvider's. Every MCP request checks the upstream
 * token behind the JWT with `tokenVerifier` (cached), refreshing it upstream when it expires, once
 * across instances. For an OpenID Connect provider, {@link OIDCProxy} reads all that from its
 * discovery document.
 */
export class OAuthProxy extends ProxyProvider {
  private readonly upstream: Omit<ResolvedUpstream, "tokenVerifier">;
  private readonly tokenVerifier: TokenVerifier;

  constructor(options: OAuthProxyOptions) {
    const tokenVerifier = options?.tokenVerifier;
    if (!tokenVerifier) throw new AuthConfigurationError("OAuthProxy needs tokenVerifier: what verifies the upstream identity provider's tokens");
    super({ ...options, requiredScopes: options.requiredScopes ?? tokenVerifier.requiredScopes });
    this.tokenVerifier = tokenVerifier;
    const url = (value: string | URL | undefined, name: string) => (value === undefined ? undefined : endpointUrl(value, name, { allowInsecureHttp: options.allowInsecureHttp ?? false }));
    const authorizationEndpoint = url(options.upstreamAuthorizationEndpoint, "upstreamAuthorizationEndpoint");
    const tokenEndpoint = url(options.upstreamTokenEndpoint, "upstreamTokenEndpoint");
    if (!authorizationEndpoint || !tokenEndpoint) throw new AuthConfigurationError(`${this.constructor.name} needs upstreamAuthorizationEndpoint and upstreamTokenEndpoint`);
    this.upstream = { authorizationEndpoint, tokenEndpoint, revocationEndpoint: url(options.upstreamRevocationEndpoint, "upstreamRevocationEndpoint"), issuer: options.upstreamIssuer };
    this.startIfReady();
  }

  protected get upstreamHost(): string {
    return this.upstream.authorizationEndpoint.host;
  }

  protected async resolveUpstream(): Promise<ResolvedUpstream> {
    return { ...this.upstream, tokenVerifier: this.tokenVerifier };
  }
}
