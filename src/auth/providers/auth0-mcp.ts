import type { AccessToken } from "../access-token.js";
import type { ProtectedResourceMetadata } from "../metadata.js";
import type { TokenVerifier } from "../provider.js";
import { RemoteAuthProvider } from "../remote.js";
import { required, variableName, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import type { JwtAlgorithm } from "../verifiers/algorithms.js";
import { withPermissionScopes } from "./auth0-permissions.js";
import { domainUrl } from "./domain-url.js";
import type { PresetOptions } from "./preset-options.js";
import { perVerifiedToken } from "./refine-token.js";

export interface Auth0MCPProviderOptions extends Partial<PresetOptions> {
  /** Your tenant's discovery document, `https://<tenant>/.well-known/openid-configuration` (or its issuer URL). */
  configUrl?: string;
  /** Your tenant's domain (`acme.us.auth0.com`, or a custom domain), instead of configUrl. */
  domain?: string;
  /** The `aud` tokens must carry. Default: this server's MCP URL, the identifier of its Auth0 API. */
  audience?: string | string[];
  /** Accepted signature algorithms. Default RS256 and ES256. */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  /** Verifies tokens instead of the JWTVerifier built from the tenant's metadata (its audience is then yours to set). */
  tokenVerifier?: TokenVerifier;
}

const PREFIX = "AUTH0MCPPROVIDER";

const SETTINGS: SettingSpec<Auth0MCPProviderOptions> = {
  configUrl: { env: "CONFIG_URL", kind: "string" },
  domain: { env: "DOMAIN", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  audience: { env: "AUDIENCE", kind: "list" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  scopesSupported: { env: "SCOPES_SUPPORTED", kind: "list" },
  resourceName: { env: "RESOURCE_NAME", kind: "string" },
  resourceDocumentation: { env: "RESOURCE_DOCUMENTATION", kind: "string" },
};

const OIDC_SUFFIX = "/.well-known/openid-configuration";

/**
 * An Auth0 tenant as the authorization server, for tenants that let MCP clients register
 * themselves (Dynamic Client Registration or Client ID Metadata Documents). Its metadata is read
 * on first use: tokens are checked against its issuer and keys, with `aud` bound to this server's
 * MCP URL (create an Auth0 API with that identifier), and Auth0's `permissions` count as scopes.
 * The tenant's metadata is also served at this server's `/.well-known/oauth-authorization-server`.
 */
export class Auth0MCPProvider extends RemoteAuthProvider {
  /** The tenant's issuer, as Auth0 writes it (`https://<tenant>/`, with the trailing slash). */
  readonly issuer: string;
  private readonly withPermissions = perVerifiedToken(withPermissionScopes);

  constructor(options: Auth0MCPProviderOptions = {}) {
    const settings = withEnvironmentDefaults(PREFIX, options, SETTINGS);
    const owner = "Auth0MCPProvider";
    const issuer = issuerOf(settings);
    const baseUrl = required(settings.baseUrl, "baseUrl", PREFIX, "BASE_URL", owner);
    const { tokenVerifier, ...rest } = settings;
    super({
      ...rest,
      baseUrl,
      ...(tokenVerifier
        ? { tokenVerifier, authorizationServers: [issuer], forwardAuthorizationServerMetadata: true }
        : { authorizationServerUrl: issuer }),
    }, null);
    this.issuer = issuer;
  }

  override async verifyToken(token: string): Promise<AccessToken | null> {
    return this.withPermissions(await super.verifyToken(token));
  }

  override cachedToken(token: string): AccessToken | undefined {
    return this.withPermissions(super.cachedToken(token)) ?? undefined;
  }

  /**
   * Names the tenant exactly as its metadata does: MCP clients compare the two character for
   * character (RFC 8414 §3.3), and Auth0's issuer ends with a slash that RemoteAuthProvider drops.
   */
  override protectedResourceMetadata(): ProtectedResourceMetadata {
    return { ...super.protectedResourceMetadata(), authorization_servers: [this.issuer] };
  }
}

/** The issuer from configUrl (its discovery suffix removed, the rest as written) or from domain. */
function issuerOf(settings: Auth0MCPProviderOptions): string {
  const insecure = { allowInsecureHttp: settings.allowInsecureHttp ?? false };
  if (settings.configUrl !== undefined && settings.configUrl !== "") {
    const url = endpointUrl(settings.configUrl, "configUrl", insecure);
    return url.pathname.endsWith(OIDC_SUFFIX) ? new URL(url.pathname.slice(0, -OIDC_SUFFIX.length + 1), url.origin).href : settings.configUrl;
  }
  if (settings.domain !== undefined && settings.domain !== "") return `${domainUrl(settings.domain, "domain", settings.allowInsecureHttp)}/`;
  throw new AuthConfigurationError(`Auth0MCPProvider needs configUrl or domain: pass one, or set ${variableName(PREFIX, "CONFIG_URL")} or ${variableName(PREFIX, "DOMAIN")}`);
}
