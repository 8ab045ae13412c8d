import type { AccessToken } from "./access-token.js";
import { challengeScopes } from "./challenge.js";
import { discoverAuthorizationServer, Lazy, type AuthorizationServerMetadata } from "./discovery.js";
import { jsonRoutes, protectedResourceMetadataUrl, protectedResourceRoutes, publicJson, type ProtectedResourceMetadata } from "./metadata.js";
import { AuthProvider, type AuthProviderOptions, type AuthRoute, type TokenVerifier } from "./provider.js";
import { withEnvironmentDefaults, type SettingSpec } from "./settings.js";
import { AuthConfigurationError, endpointUrl, parseUrl } from "./urls.js";
import type { JwtAlgorithm } from "./verifiers/algorithms.js";
import { JWTVerifier } from "./verifiers/jwt.js";
import { reportToStderr } from "./report.js";

export interface RemoteAuthProviderOptions extends AuthProviderOptions {
  /** Validates the tokens the authorization server issues. */
  tokenVerifier?: TokenVerifier;
  /** The authorization servers clients should get tokens from (RFC 9728 `authorization_servers`). */
  authorizationServers?: Array<string | URL>;
  /**
   * The short form: the authorization server's issuer URL. Its metadata (RFC 8414, then OpenID
   * Connect discovery) is fetched on first use, and a JWTVerifier is built from its `issuer` and
   * `jwks_uri`. Replaces `tokenVerifier` and `authorizationServers`.
   */
  authorizationServerUrl?: string | URL;
  /** Short form: the audience tokens must carry. Default: this server's MCP URL (RFC 8707). */
  audience?: string | readonly string[];
  /** Short form: accepted signature algorithms. Default RS256 and ES256. */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  /** Scopes advertised in the metadata. Default: the required scopes. */
  scopesSupported?: string[];
  /** A human-readable name for this server in the metadata. */
  resourceName?: string;
  /** A page documenting this server. */
  resourceDocumentation?: string;
  /**
   * Also serve the authorization server's own metadata at this server's
   * `/.well-known/oauth-authorization-server`, for clients of protocol 2025-03-26 that look there.
   * `true` finds it at the well-known URLs of the first authorization server; a URL names the
   * document exactly (identity providers that publish it elsewhere).
   */
  forwardAuthorizationServerMetadata?: boolean | string;
  allowInsecureHttp?: boolean;
  onError?: (error: unknown) => void;
}

const REMOTE_SETTINGS: SettingSpec<RemoteAuthProviderOptions> = {
  authorizationServerUrl: { env: "AUTHORIZATION_SERVER_URL", kind: "string" },
  audience: { env: "AUDIENCE", kind: "list" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  scopesSupported: { env: "SCOPES_SUPPORTED", kind: "list" },
  resourceName: { env: "RESOURCE_NAME", kind: "string" },
  resourceDocumentation: { env: "RESOURCE_DOCUMENTATION", kind: "string" },
};

/**
 * A resource server whose tokens come from an external authorization server: validates tokens
 * with a verifier, and publishes RFC 9728 protected resource metadata so MCP clients discover
 * where to log in (and register) by themselves.
 */
export class RemoteAuthProvider extends AuthProvider {
  readonly authorizationServers: readonly string[];
  protected readonly options: RemoteAuthProviderOptions;
  private readonly verifier: TokenVerifier | Lazy<TokenVerifier>;
  private readonly onError: (error: unknown) => void;
  private readonly upstreamMetadata: Lazy<AuthorizationServerMetadata> | undefined;

  /** `envPrefix`: where omitted options come from; presets, which read their own, pass null. */
  constructor(options: RemoteAuthProviderOptions = {}, envPrefix: string | null = "REMOTE") {
    // Options left out come from FASTMCP_SERVER_AUTH_REMOTE_* (explicit arguments win).
    if (envPrefix !== null) options = withEnvironmentDefaults(envPrefix, options, REMOTE_SETTINGS);
    super({ ...options, requiredScopes: options.requiredScopes ?? options.tokenVerifier?.requiredScopes });
    this.options = options;
    const onError = (this.onError = options.onError ?? reportToStderr);
    if (options.authorizationServerUrl !== undefined) {
      if (options.tokenVerifier) throw new AuthConfigurationError("Pass either authorizationServerUrl (and the verifier is built from its metadata) or tokenVerifier, not both");
      const issuer = endpointUrl(options.authorizationServerUrl, "authorizationServerUrl", options);
      this.authorizationServers = Object.freeze([issuer.href.replace(/\/$/, "")]);
      this.upstreamMetadata = new Lazy(() => discoverAuthorizationServer(issuer, options));
      this.verifier = new Lazy(async () => this.verifierFromMetadata(await this.upstreamMetadata!.get(), onError));
    } else {
      if (!options.tokenVerifier) throw new AuthConfigurationError("RemoteAuthProvider needs tokenVerifier (or the short form authorizationServerUrl)");
      if (!options.authorizationServers?.length) throw new AuthConfigurationError("RemoteAuthProvider needs at least one authorization server");
      this.authorizationServers = Object.freeze(options.authorizationServers.map((server) => parseUrl(server, "authorizationServers").href.replace(/\/$/, "")));
      this.verifier = options.tokenVerifier;
      const forward = options.forwardAuthorizationServerMetadata;
      if (forward) {
        const issuer = new URL(this.authorizationServers[0]!);
        const exact = typeof forward === "string" ? [endpointUrl(forward, "forwardAuthorizationServerMetadata", options)] : undefined;
        this.upstreamMetadata = new Lazy(() => discoverAuthorizationServer(issuer, options, exact));
      }
    }
  }

  override get scopesSupported(): readonly string[] {
    return this.options.scopesSupported ?? this.requiredScopes;
  }

  /** It publishes discovery documents naming this server's URL: left out, `run()` sets it. */
  protected override get needsBaseUrl(): boolean {
    return true;
  }

  override get resourceMetadataUrl(): string {
    return protectedResourceMetadataUrl(this.resourceUrl!);
  }

  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    if (!(this.verifier instanceof Lazy)) this.verifier.bind(mcpPath);
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    let verifier: TokenVerifier;
    try {
      verifier = this.verifier instanceof Lazy ? await this.verifier.get() : this.verifier;
    } catch (error) {
      this.onError(error);
      return null;
    }
    return verifier.verifyToken(token);
  }

  /** As the verifier names it (the short form's JWTVerifier: the same). */
  override challengeScope(scope: string): string {
    return this.verifier instanceof Lazy ? scope : this.verifier.challengeScope(scope);
  }

  /** The verifier's answer from its cache (nothing before the short form has built its verifier). */
  override cachedToken(token: string): AccessToken | undefined {
    return (this.verifier instanceof Lazy ? this.verifier.peek() : this.verifier)?.cachedToken(token);
  }

  /** The RFC 9728 document this server publishes. */
  protectedResourceMetadata(): ProtectedResourceMetadata {
    const document: ProtectedResourceMetadata = {
      resource: this.resourceUrl!,
      authorization_servers: [...this.authorizationServers],
      bearer_methods_supported: ["header"],
    };
    const scopes = challengeScopes(this.scopesSupported);
    if (scopes.length > 0) document.scopes_supported = scopes;
    if (this.options.resourceName !== undefined) document.resource_name = this.options.resourceName;
    if (this.options.resourceDocumentation !== undefined) document.resource_documentation = this.options.resourceDocumentation;
    return document;
  }

  override routes(): AuthRoute[] {
    const routes = protectedResourceRoutes(() => this.protectedResourceMetadata());
    if (this.upstreamMetadata) routes.push(...this.metadataForwardingRoutes(this.upstreamMetadata));
    return routes;
  }

  /** Serves the authorization server's metadata from this origin (cached; 502 while it is unreachable). */
  protected metadataForwardingRoutes(metadata: Lazy<AuthorizationServerMetadata>): AuthRoute[] {
    return jsonRoutes("/.well-known/oauth-authorization-server", async () => metadata.get()).map((route) =>
      route.method !== "GET" ? route : {
        ...route,
        handler: async (c) => {
          try {
            return await route.handler(c);
          } catch {
            return publicJson({ error: "temporarily_unavailable", error_description: "The authorization server's metadata could not be fetched; try again shortly" }, 0, 502);
          }
        },
      },
    );
  }

  private verifierFromMetadata(metadata: AuthorizationServerMetadata, onError: (error: unknown) => void): TokenVerifier {
    if (typeof metadata.jwks_uri !== "string") throw new Error(`the authorization server ${metadata.issuer} publishes no jwks_uri`);
    // Built on the first request, after bind(): the resource URL is final by then.
    return new JWTVerifier({
      jwksUri: metadata.jwks_uri,
      issuer: metadata.issuer,
      audience: this.options.audience ?? this.resourceUrl!,
      algorithm: this.options.algorithm ?? ["RS256", "ES256"],
      requiredScopes: this.requiredScopes,
      ...(this.options.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
      onError,
    }, null);
  }
}
