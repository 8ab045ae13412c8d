import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { baseUrlOf, endpointUrl } from "../urls.js";
import { IntrospectionTokenVerifier, type IntrospectionTokenVerifierOptions } from "../verifiers/introspection.js";
import type { PresetOptions } from "./preset-options.js";

/** The introspection settings a PropelAuth preset lets you change. */
export type PropelAuthTokenIntrospectionOverrides = Pick<IntrospectionTokenVerifierOptions, "timeoutSeconds" | "cacheTtlSeconds" | "maxCacheSize">;

export interface PropelAuthProviderOptions extends Partial<PresetOptions> {
  /** Your Auth URL (Frontend Integration page), e.g. `https://auth.yourdomain.com`. */
  authUrl?: string;
  /** The introspection credentials created on the MCP page (Request Validation). */
  introspectionClientId?: string;
  introspectionClientSecret?: string;
  /**
   * This server's resource as PropelAuth knows it (the MCP page's Allowed MCP Server URLs): when
   * set, a token's `aud` must name it. Without it any active token of your PropelAuth project passes.
   */
  resource?: string;
  /** Introspection timeout and caching (off by default: every request asks PropelAuth). */
  tokenIntrospectionOverrides?: PropelAuthTokenIntrospectionOverrides;
}

const PREFIX = "PROPELAUTHPROVIDER";

const SETTINGS: SettingSpec<PropelAuthProviderOptions> = {
  authUrl: { env: "AUTH_URL", kind: "string" },
  introspectionClientId: { env: "INTROSPECTION_CLIENT_ID", kind: "string" },
  introspectionClientSecret: { env: "INTROSPECTION_CLIENT_SECRET", kind: "string" },
  resource: { env: "RESOURCE", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  scopesSupported: { env: "SCOPES_SUPPORTED", kind: "list" },
  resourceName: { env: "RESOURCE_NAME", kind: "string" },
  resourceDocumentation: { env: "RESOURCE_DOCUMENTATION", kind: "string" },
};

/**
 * PropelAuth as the authorization server (`<authUrl>/oauth/2.1`, where MCP clients register
 * themselves). Its access tokens are checked by introspection at `<authUrl>/oauth/2.1/introspect`
 * with the credentials from PropelAuth's MCP page; its metadata is served at this server's
 * `/.well-known/oauth-authorization-server`.
 */
export class PropelAuthProvider extends RemoteAuthProvider {
  readonly authUrl: string;

  constructor(options: PropelAuthProviderOptions = {}) {
    const settings = withEnvironmentDefaults(PREFIX, options, SETTINGS);
    const owner = "PropelAuthProvider";
    const authUrl = baseUrlOf(endpointUrl(required(settings.authUrl, "authUrl (your PropelAuth Auth URL)", PREFIX, "AUTH_URL", owner), "authUrl", settings), "authUrl");
    const clientId = required(settings.introspectionClientId, "introspectionClientId", PREFIX, "INTROSPECTION_CLIENT_ID", owner);
    const clientSecret = required(settings.introspectionClientSecret, "introspectionClientSecret", PREFIX, "INTROSPECTION_CLIENT_SECRET", owner);
    const baseUrl = required(settings.baseUrl, "baseUrl", PREFIX, "BASE_URL", owner);
    const { timeoutSeconds, cacheTtlSeconds, maxCacheSize } = settings.tokenIntrospectionOverrides ?? {};
    // The secret goes to the verifier only, not into the options RemoteAuthProvider keeps.
    const { introspectionClientSecret: _secret, tokenIntrospectionOverrides: _overrides, ...remoteOptions } = settings;
    super({
      ...remoteOptions,
      baseUrl,
      tokenVerifier: new IntrospectionTokenVerifier({
        introspectionUrl: `${authUrl}/oauth/2.1/introspect`,
        clientId,
        clientSecret,
        ...(settings.resource !== undefined ? { audience: settings.resource } : {}),
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        ...(cacheTtlSeconds !== undefined ? { cacheTtlSeconds } : {}),
        ...(maxCacheSize !== undefined ? { maxCacheSize } : {}),
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [`${authUrl}/oauth/2.1`],
      forwardAuthorizationServerMetadata: `${authUrl}/.well-known/oauth-authorization-server/oauth/2.1`,
    }, null);
    this.authUrl = authUrl;
  }
}
