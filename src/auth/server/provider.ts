import type { AccessToken } from "../access-token.js";
import { challengeScopes } from "../challenge.js";
import { protectedResourceMetadataUrl, protectedResourceRoutes, type ProtectedResourceMetadata } from "../metadata.js";
import { AuthProvider, type AuthProviderOptions, type AuthRoute } from "../provider.js";
import { reportToStderr } from "../report.js";
import { AuthConfigurationError, baseUrlOf, joinUrl } from "../urls.js";
import { ClientMetadataDocumentFetcher, isClientMetadataDocumentUrl, type ClientMetadataDocumentFetcherOptions } from "./clients/metadata-document.js";
import { appendQuery } from "./clients/redirect-uri.js";
import type { AuthorizationServer, RegistrationPolicy } from "./contract.js";
import { authorizeEndpoint } from "./endpoints/authorize.js";
import { preflight } from "./endpoints/cors.js";
import { authorizationServerMetadataRoutes, type OAuthServerMetadata } from "./endpoints/metadata.js";
import { registerEndpoint } from "./endpoints/register.js";
import { revokeEndpoint } from "./endpoints/revoke.js";
import { tokenEndpoint } from "./endpoints/token.js";
import { OAuthError } from "./errors.js";
import { RateLimiter, type RateLimitOptions } from "./rate-limit.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken, TokenEndpointAuthMethod } from "./types.js";

export interface ClientRegistrationOptions {
  /** Serve `/register` (RFC 7591 dynamic client registration). Default true. */
  enabled?: boolean;
  /** Scopes clients may register and request. Default: the provider's supported scopes. */
  validScopes?: readonly string[];
  /** Scopes a client that registers none gets. */
  defaultScopes?: readonly string[];
  /** Registrations per client IP address. Default 20 per minute; `false` turns the limit off. */
  rateLimit?: RateLimitOptions | false;
  /** Token endpoint authentication methods clients may register. Default all three. */
  allowedAuthMethods?: readonly TokenEndpointAuthMethod[];
  /**
   * How long a registered client that has not been used yet (no grant) is kept, in seconds; a
   * client that got a grant lives as long as its grants. Default 86,400 (a day). For providers
   * that keep clients in a store (LocalOAuthProvider).
   */
  unusedClientTtlSeconds?: number;
  /**
   * Most registered clients not used yet: past it `/register` answers 429 until some expire or
   * get used. Default 10,000. Clients identified by a metadata document are not counted (nothing
   * is stored for them). For providers that keep clients in a store (LocalOAuthProvider).
   */
  maxUnusedClients?: number;
}

export interface RevocationOptions {
  /** Serve `/revoke` (RFC 7009). Default true. */
  enabled?: boolean;
}

export interface OAuthProviderOptions extends AuthProviderOptions {
  /**
   * Where this server's OAuth endpoints live: `https://mcp.example.com` (include any mount prefix).
   * Left out, `mcp.run()` sets it to where it listens (a loopback server in development).
   */
  baseUrl?: string | URL;
  /** The issuer identifier (metadata `issuer`, token `iss`, RFC 9207 `iss`). Default `baseUrl`. */
  issuerUrl?: string | URL;
  /** A page documenting this server for developers (`service_documentation`). */
  serviceDocumentationUrl?: string | URL;
  /** `/register`: true (default), false, or its options. */
  clientRegistration?: boolean | ClientRegistrationOptions;
  /** `/revoke`: true (default), false, or its options. */
  revocation?: boolean | RevocationOptions;
  /**
   * Clients identified by the URL of their Client ID Metadata Document (a `client_id` that is an
   * https URL): fetched with SSRF protection and cached per HTTP caching. Default on.
   */
  clientMetadataDocuments?: boolean | ClientMetadataDocumentFetcherOptions;
  /**
   * Take the client address for rate limits from `X-Forwarded-For` (the address the nearest proxy
   * saw). Only behind a proxy you run: anyone else can write that header. Default false.
   */
  trustProxyHeaders?: boolean;
  /**
   * Other resource servers (their MCP URLs) this server issues tokens for, besides its own MCP
   * endpoint: MCP servers that trust it as their authorization server (RemoteAuthProvider).
   * Any other RFC 8707 `resource` is refused with invalid_target.
   */
  additionalResources?: ReadonlyArray<string | URL>;
  /** Where unexpected failures are reported. Default: one line on stderr. */
  onError?: (error: unknown) => void;
}

const DEFAULT_REGISTRATION_RATE: RateLimitOptions = { requests: 20, windowSeconds: 60 };

/**
 * The base of an OAuth 2.1 authorization server inside the MCP server. The endpoints are shared
 * by every subclass and do every protocol check (client authentication, PKCE S256, exact redirect
 * URIs, RFC 8707 resources, RFC 9207 `iss`, single-use codes, scope rules); a subclass decides
 * how clients, codes and tokens are stored and how a user approves a request.
 *
 * Serves `/.well-known/oauth-authorization-server` (with RFC 8414 path insertion and the OIDC
 * aliases), `/authorize`, `/token`, `/register`, `/revoke`, and the RFC 9728 protected resource
 * metadata of the MCP endpoint, which names this server as its authorization server.
 */
export abstract class OAuthProvider extends AuthProvider implements AuthorizationServer {
  readonly serviceDocumentationUrl: string | undefined;
  /** What `/register` accepts, settled from `clientRegistration`. */
  readonly registration: RegistrationPolicy;
  /** Registrations per client address (undefined: unlimited). */
  readonly registrationLimiter: RateLimiter | undefined;
  /** @internal */ readonly revocationEnabled: boolean;
  /** Whether client addresses come from X-Forwarded-For. */
  readonly trustProxyHeaders: boolean;
  readonly additionalResources: readonly string[];
  protected readonly onError: (error: unknown) => void;
  private readonly configuredIssuerUrl: string | undefined;
  private readonly metadataDocuments: ClientMetadataDocumentFetcher | undefined;
  private readonly metadataDocumentsOverHttp: boolean;

  constructor(options: OAuthProviderOptions = {}) {
    super(options);
    this.configuredIssuerUrl = options.issuerUrl === undefined ? undefined : baseUrlOf(options.issuerUrl, "issuerUrl");
    this.serviceDocumentationUrl = options.serviceDocumentationUrl === undefined ? undefined : String(options.serviceDocumentationUrl);
    const registration = typeof options.clientRegistration === "object" ? options.clientRegistration : { enabled: options.clientRegistration !== false };
    this.registration = {
      enabled: registration.enabled !== false,
      validScopes: registration.validScopes,
      defaultScopes: registration.defaultScopes,
      allowedAuthMethods: registration.allowedAuthMethods ?? ["none", "client_secret_basic", "client_secret_post"],
    };
    const rate = registration.rateLimit === undefined ? DEFAULT_REGISTRATION_RATE : registration.rateLimit;
    this.registrationLimiter = rate === false ? undefined : new RateLimiter(rate);
    this.revocationEnabled = typeof options.revocation === "object" ? options.revocation.enabled !== false : options.revocation !== false;
    this.trustProxyHeaders = options.trustProxyHeaders ?? false;
    this.onError = options.onError ?? reportToStderr;
    this.additionalResources = Object.freeze((options.additionalResources ?? []).map((resource) => {
      const canonical = canonicalResource(String(resource));
      if (canonical === undefined) throw new AuthConfigurationError(`additionalResources: ${String(resource)} is not an absolute URL without a fragment`);
      return canonical;
    }));
    const cimd = options.clientMetadataDocuments ?? true;
    this.metadataDocuments = cimd === false ? undefined : new ClientMetadataDocumentFetcher({ report: this.onError, ...(cimd === true ? {} : cimd) });
    this.metadataDocumentsOverHttp = typeof cimd === "object" && cimd.allowHttp === true;
  }

  /** Where this server's OAuth endpoints live. Throws until it is known (set, or taken from `run()`). */
  override get baseUrl(): string {
    const url = super.baseUrl;
    if (url === undefined) throw new AuthConfigurationError(`${this.constructor.name} has no baseUrl yet: pass baseUrl, or serve it with mcp.run(), which sets it to where it listens`);
    return url;
  }

  /** Whether the base URL is known yet. */
  get hasBaseUrl(): boolean {
    return super.baseUrl !== undefined;
  }

  /** The issuer identifier (metadata `issuer`, token `iss`, RFC 9207 `iss`): `issuerUrl`, else `baseUrl`. */
  get issuerUrl(): string {
    return this.configuredIssuerUrl ?? this.baseUrl;
  }

  protected override get needsBaseUrl(): boolean {
    return true;
  }

  // ---- The contract a subclass implements ----------------------------------------------------

  /** A registered client, or undefined. */
  abstract getClient(clientId: string): Promise<OAuthClientInformation | undefined>;

  /** Stores a client that `/register` validated (its secret, if any, only as a hash). */
  abstract registerClient(client: OAuthClientInformation): Promise<void>;

  /**
   * Starts an authorization the endpoint has validated: returns where to send the browser. That is
   * a page of the provider (login, consent), or, to approve at once, the client's redirect URI
   * built with {@link authorizationRedirect}. Throw an {@link OAuthError} to refuse.
   */
  abstract authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string>;

  /** The code, if it exists, was issued to `client`, and was not used yet. A used code must come back undefined. */
  abstract loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<AuthorizationCode | undefined>;

  /** Redeems a code the endpoint checked (client, expiry, redirect URI, PKCE): consume it, issue tokens. */
  abstract exchangeAuthorizationCode(client: OAuthClientInformation, code: AuthorizationCode): Promise<OAuthTokenResponse>;

  /** The refresh token, if it exists and was issued to `client`. */
  abstract loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<RefreshToken | undefined>;

  /** Issues new tokens for a refresh token the endpoint checked, with `scopes` ⊆ its scopes; rotates it. */
  abstract exchangeRefreshToken(client: OAuthClientInformation, refreshToken: RefreshToken, scopes: string[]): Promise<OAuthTokenResponse>;

  /** The access token, if this server issued it for this resource and it is still valid. */
  abstract loadAccessToken(token: string): Promise<AccessToken | undefined>;

  /** Revokes a token and what was issued with it. */
  abstract revokeToken(token: AccessToken | RefreshToken): Promise<void>;

  // ---- Resource server side ------------------------------------------------------------------

  async verifyToken(token: string): Promise<AccessToken | null> {
    try {
      const accessToken = await this.loadAccessToken(token);
      // RFC 8707: a token this server issued for another resource (additionalResources) is not
      // for this MCP endpoint, whether or not the subclass's lookup checked it.
      if (!accessToken || (accessToken.resource !== undefined && !this.isThisResource(accessToken.resource))) return null;
      return accessToken;
    } catch (error) {
      this.onError(error);
      return null;
    }
  }

  /** Scopes clients may request: the registration's valid scopes, else the required scopes. */
  override get scopesSupported(): readonly string[] {
    return this.registration.validScopes ?? this.requiredScopes;
  }

  override get resourceMetadataUrl(): string {
    return protectedResourceMetadataUrl(this.resourceUrl!);
  }

  /** The MCP endpoint's URL, which every token is bound to (RFC 8707). */
  override get resourceUrl(): string {
    return super.resourceUrl!;
  }

  protectedResourceMetadata(): ProtectedResourceMetadata {
    const document: ProtectedResourceMetadata = { resource: this.resourceUrl, authorization_servers: [this.issuerUrl], bearer_methods_supported: ["header"] };
    const scopes = challengeScopes(this.scopesSupported);
    if (scopes.length > 0) document.scopes_supported = scopes;
    return document;
  }

  // ---- Authorization server side -------------------------------------------------------------

  /** An endpoint's public URL: `baseUrl` + `path`. */
  endpointUrl(path: string): string {
    return joinUrl(this.baseUrl, path);
  }

  /** The RFC 8414 document. Subclasses add fields (`jwks_uri`...). */
  authorizationServerMetadata(): OAuthServerMetadata {
    const metadata: OAuthServerMetadata = {
      issuer: this.issuerUrl,
      authorization_endpoint: this.endpointUrl("/authorize"),
      token_endpoint: this.endpointUrl("/token"),
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      token_endpoint_auth_methods_supported: [...this.registration.allowedAuthMethods],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    };
    const scopes = this.scopesSupported;
    if (scopes.length > 0) metadata.scopes_supported = [...new Set([...scopes, "offline_access"])];
    if (this.registration.enabled) metadata.registration_endpoint = this.endpointUrl("/register");
    if (this.revocationEnabled) {
      metadata.revocation_endpoint = this.endpointUrl("/revoke");
      metadata.revocation_endpoint_auth_methods_supported = [...this.registration.allowedAuthMethods];
    }
    if (this.metadataDocuments) metadata.client_id_metadata_document_supported = true;
    if (this.serviceDocumentationUrl) metadata.service_documentation = this.serviceDocumentationUrl;
    return metadata;
  }

  /**
   * The redirect that completes an authorization: the client's redirect URI with `code` (or
   * `error`), the request's `state`, and this server's `iss` (RFC 9207), exactly once each.
   */
  authorizationRedirect(params: Pick<AuthorizationParams, "redirectUri" | "state">, fields: { code: string } | { error: string; error_description?: string }): string {
    return appendQuery(params.redirectUri, { ...fields, state: params.state, iss: this.issuerUrl });
  }

  /**
   * A client by id: registered with this server, or, for an https URL, from its Client ID
   * Metadata Document. Undefined when unknown or when the document cannot be used.
   */
  async resolveClient(clientId: string): Promise<OAuthClientInformation | undefined> {
    const registered = await this.getClient(clientId);
    if (registered) return registered;
    if (!this.metadataDocuments || !isClientMetadataDocumentUrl(clientId, { allowHttp: this.metadataDocumentsOverHttp })) return undefined;
    // The fetcher reports its failures itself, at most once per URL and period.
    return this.metadataDocuments.get(clientId).catch(() => undefined);
  }

  /** Whether `resource` (RFC 8707) names this server's MCP endpoint. */
  isThisResource(resource: string): boolean {
    return canonicalResource(resource) === canonicalResource(this.resourceUrl);
  }

  /**
   * The resource a token will be bound to: this server's MCP endpoint when the request names none
   * or names it, one of `additionalResources`, or invalid_target.
   */
  resourceFor(resource: string | null | undefined): string {
    if (resource === null || resource === undefined || this.isThisResource(resource)) return this.resourceUrl;
    const canonical = canonicalResource(resource);
    const known = this.additionalResources.find((candidate) => candidate === canonical);
    if (known === undefined) throw new OAuthError("invalid_target", `This server does not issue tokens for ${resource.slice(0, 200)}`);
    return known;
  }

  override routes(): AuthRoute[] {
    const routes: AuthRoute[] = [
      ...protectedResourceRoutes(() => this.protectedResourceMetadata()),
      ...authorizationServerMetadataRoutes(this.issuerUrl, () => this.authorizationServerMetadata()),
      { method: "GET", path: "/authorize", handler: authorizeEndpoint(this) },
      { method: "POST", path: "/authorize", handler: authorizeEndpoint(this) },
      { method: "POST", path: "/token", handler: tokenEndpoint(this) },
      { method: "OPTIONS", path: "/token", handler: preflight },
    ];
    if (this.registration.enabled) {
      routes.push({ method: "POST", path: "/register", handler: registerEndpoint(this) }, { method: "OPTIONS", path: "/register", handler: preflight });
    }
    if (this.revocationEnabled) {
      routes.push({ method: "POST", path: "/revoke", handler: revokeEndpoint(this) }, { method: "OPTIONS", path: "/revoke", handler: preflight });
    }
    return routes;
  }

  /** Reports a failure an endpoint answers as server_error (to `onError`). */
  report(error: unknown): void {
    this.onError(error);
  }
}

/** Scheme and host lower-cased, no fragment, no trailing slash (RFC 8707 / MCP canonical URI). */
function canonicalResource(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.hash) return undefined;
  return url.href.replace(/\/+$/, "");
}

export { OAuthError };
