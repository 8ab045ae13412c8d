import { discoverAuthorizationServer, metadataUrls, type AuthorizationServerMetadata } from "../discovery.js";
import type { TokenVerifier } from "../provider.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import type { JwtAlgorithm } from "../verifiers/algorithms.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import { ProxyProvider, type ProxyProviderOptions, type ResolvedUpstream } from "./proxy-provider.js";
import { PROXY_SETTINGS } from "./settings.js";

export interface OIDCProxyOptions extends Omit<ProxyProviderOptions, "upstreamClientId" | "upstreamClientSecret"> {
  /**
   * The identity provider's discovery document (`https://idp.example.com/.well-known/openid-configuration`),
   * or its issuer URL. Fetched once, when the server starts.
   */
  configUrl: string | URL;
  /** The id of the app registered at the identity provider for this server. */
  clientId: string;
  /** That app's secret; leave it out for a public app (PKCE only). */
  clientSecret?: string;
  /**
   * The API audience to ask tokens for (Auth0's `audience`), sent with every authorization and
   * token request, and required in the access tokens. Default: this server's MCP URL (RFC 8707).
   */
  audience?: string;
  /** Verifies the upstream's tokens. Default: a JWTVerifier over the discovered issuer and JWKS. */
  tokenVerifier?: TokenVerifier;
  /** Signature algorithms the default verifier accepts. Default RS256 and ES256. */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  /** Refuse a discovery document without the fields OpenID Connect requires. Default true. */
  strict?: boolean;
  /** Send `audience` upstream with every authorization and token request (Auth0 needs it). Default true; false only checks it in tokens. */
  sendAudience?: boolean;
}

const SETTINGS: SettingSpec<OIDCProxyOptions> = {
  configUrl: { env: "CONFIG_URL", kind: "string" },
  ...PROXY_SETTINGS,
  audience: { env: "AUDIENCE", kind: "string" },
  verifyIdToken: { env: "VERIFY_ID_TOKEN", kind: "boolean" },
};

const WELL_KNOWN_OIDC = "/.well-known/openid-configuration";
const WELL_KNOWN_OAUTH = "/.well-known/oauth-authorization-server";

/**
 * An {@link OAuthProxy} configured from an OpenID Connect provider's discovery document: its
 * endpoints, its issuer (checked in callbacks and ID tokens) and, unless another is given, a
 * JWTVerifier over its JWKS. The document is fetched once, when the server starts; a provider
 * that cannot be reached, or a document that is not what it should be, stops the server there
 * with an error that says which.
 */
export class OIDCProxy extends ProxyProvider {
  private readonly configUrl: URL;
  private readonly oidcOptions: OIDCProxyOptions;

  /**
   * Options left out come from `FASTMCP_SERVER_AUTH_<envPrefix>_*` (`OIDCPROXY` by default:
   * CONFIG_URL, CLIENT_ID, CLIENT_SECRET, AUDIENCE, BASE_URL, REQUIRED_SCOPES, VALID_SCOPES...).
   * Presets pass their own prefix, or null when they read their settings themselves.
   */
  constructor(options: Partial<OIDCProxyOptions> = {}, envPrefix: string | null = "OIDCPROXY") {
    if (envPrefix !== null) options = withEnvironmentDefaults(envPrefix, options, SETTINGS);
    const owner = new.target.name;
    required(options.configUrl, "configUrl (the identity provider's discovery document URL)", envPrefix ?? "OIDCPROXY", "CONFIG_URL", owner);
    required(options.clientId, "clientId (the id of the app registered at the identity provider)", envPrefix ?? "OIDCPROXY", "CLIENT_ID", owner);
    if (options.tokenVerifier && options.algorithm !== undefined) {
      throw new AuthConfigurationError(`${owner}: algorithm configures the default verifier, which tokenVerifier replaces; give the algorithms to that verifier instead`);
    }
    const audience: Record<string, string> = options.audience === undefined || options.sendAudience === false ? {} : { audience: options.audience };
    super({
      ...options,
      upstreamClientId: options.clientId!,
      ...(options.clientSecret !== undefined ? { upstreamClientSecret: options.clientSecret } : {}),
      requiredScopes: options.requiredScopes ?? options.tokenVerifier?.requiredScopes,
      // Explicit parameters win over the audience.
      extraAuthorizeParams: { ...audience, ...options.extraAuthorizeParams },
      extraTokenParams: { ...audience, ...options.extraTokenParams },
    });
    this.configUrl = endpointUrl(options.configUrl!, "configUrl", { allowInsecureHttp: options.allowInsecureHttp ?? false });
    this.oidcOptions = options as OIDCProxyOptions;
    this.startIfReady();
  }

  protected get upstreamHost(): string {
    return this.configUrl.host;
  }

  protected async resolveUpstream(): Promise<ResolvedUpstream> {
    const metadata = await this.discover();
    const endpoint = (value: unknown, name: string, required: boolean): URL | undefined => {
      if (value === undefined && !required) return undefined;
      if (typeof value !== "string") throw this.invalid(`it has no ${name}`);
      try {
        return endpointUrl(value, name, { allowInsecureHttp: this.oidcOptions.allowInsecureHttp ?? false });
      } catch (error) {
        throw this.invalid(`its ${name} is not usable: ${(error as Error).message}`);
      }
    };
    if (this.oidcOptions.strict !== false) this.checkStrict(metadata);
    return {
      authorizationEndpoint: endpoint(metadata.authorization_endpoint, "authorization_endpoint", true)!,
      tokenEndpoint: endpoint(metadata.token_endpoint, "token_endpoint", true)!,
      revocationEndpoint: endpoint(metadata.revocation_endpoint, "revocation_endpoint", false),
      issuer: metadata.issuer,
      issRequired: metadata.authorization_response_iss_parameter_supported === true,
      tokenVerifier: this.oidcOptions.tokenVerifier ?? this.defaultVerifier(metadata, endpoint(metadata.jwks_uri, "jwks_uri", true)!),
    };
  }

  private async discover(): Promise<AuthorizationServerMetadata> {
    const { issuer, urls } = issuerOf(this.configUrl);
    try {
      return await discoverAuthorizationServer(issuer, { allowInsecureHttp: this.oidcOptions.allowInsecureHttp ?? false, timeoutMs: this.oidcOptions.upstreamTimeoutMs ?? 10_000 }, urls);
    } catch (error) {
      throw new AuthConfigurationError(`${this.constructor.name} could not read the identity provider's discovery document ${this.configUrl.href}: ${(error as Error).message}`, { cause: error });
    }
  }

  private checkStrict(metadata: AuthorizationServerMetadata): void {
    for (const field of ["response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"] as const) {
      if (!Array.isArray(metadata[field])) throw this.invalid(`it has no ${field} (pass strict: false for a provider that leaves it out)`);
    }
    if (!(metadata.response_types_supported as string[]).includes("code")) throw this.invalid("it does not support the code response type");
  }

  /** The upstream's tokens as JWTs over its JWKS: its access tokens, or with `verifyIdToken` its ID tokens (audience: the client). */
  private defaultVerifier(metadata: AuthorizationServerMetadata, jwksUri: URL): TokenVerifier {
    const idToken = this.oidcOptions.verifyIdToken === true;
    return new JWTVerifier({
      jwksUri,
      issuer: metadata.issuer,
      algorithm: this.oidcOptions.algorithm ?? ["RS256", "ES256"],
      ...(idToken ? { audience: this.oidcOptions.clientId } : this.oidcOptions.audience !== undefined ? { audience: this.oidcOptions.audience } : { baseUrl: this.resourceBaseUrl ?? this.baseUrl }),
      requiredScopes: idToken ? [] : this.requiredScopes,
      ...(this.oidcOptions.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
      onError: (error) => this.report(error),
    }, null);
  }

  private invalid(problem: string): AuthConfigurationError {
    return new AuthConfigurationError(`${this.constructor.name}: the discovery document ${this.configUrl.href} cannot be used: ${problem}`);
  }
}

/** The issuer a discovery URL belongs to, and where to read its document (that URL itself, or the well-known ones of an issuer). */
function issuerOf(configUrl: URL): { issuer: URL; urls: URL[] } {
  const path = configUrl.pathname;
  if (path.endsWith(WELL_KNOWN_OIDC)) return { issuer: new URL(path.slice(0, -WELL_KNOWN_OIDC.length) || "/", configUrl.origin), urls: [configUrl] };
  if (path.startsWith(WELL_KNOWN_OAUTH)) return { issuer: new URL(path.slice(WELL_KNOWN_OAUTH.length) || "/", configUrl.origin), urls: [configUrl] };
  return { issuer: configUrl, urls: metadataUrls(configUrl) };
}
