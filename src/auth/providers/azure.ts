import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, variableName, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError } from "../urls.js";
import { b2cAuthority, tenantAuthority, type EntraAuthority } from "./azure-authority.js";
import { checkedRequiredScopes, prefixedScope } from "./azure-scopes.js";
import { EntraTokenVerifier } from "./azure-token-verifier.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

export { AzureJWTVerifier, type AzureJWTVerifierOptions } from "./azure-jwt-verifier.js";
export { MULTI_TENANT_IDS, PERSONAL_ACCOUNTS_TENANT_ID } from "./azure-authority.js";

/** An Azure AD B2C tenant and user flow, instead of an Entra ID tenant. */
export interface AzureB2CSettings {
  /** The B2C tenant's name: `contoso` for `contoso.onmicrosoft.com`. */
  tenantName: string;
  /** The user flow or custom policy (`B2C_1_signupsignin`). */
  policyName: string;
  /** A custom domain in front of B2C (`login.contoso.com`). Default `<tenantName>.b2clogin.com`. */
  customDomain?: string;
}

export interface AzureProviderOptions extends ProxyPresetOptions {
  /** The Directory (tenant) ID, or `organizations` (any work or school account), `common` (any account), `consumers` (personal accounts). */
  tenantId?: string;
  /** The app's Application ID URI (Expose an API). Default `api://<clientId>` (B2C: `https://<tenant>.onmicrosoft.com/<clientId>`). */
  identifierUri?: string;
  /** Scopes asked of Entra at every sign-in besides the client's (`offline_access` always is), e.g. `User.Read` of Microsoft Graph. */
  additionalAuthorizeScopes?: string[];
  /** `login.microsoftonline.com` (default); `login.microsoftonline.us` (US Government) and the other national clouds. */
  baseAuthority?: string;
  /** The access tokens' `iss`, when it is not `https://<baseAuthority>/<tenantId>/v2.0`; `{tenantid}` stands for the token's `tid` (multi-tenant). */
  tokenIssuer?: string;
  /** Multi-tenant only: the directories (`tid`) whose users may sign in. Default: every one the tenant name allows. */
  allowedTenantIds?: string[];
  /** Azure AD B2C instead of an Entra ID tenant (see {@link AzureProvider.fromB2C}). */
  b2c?: AzureB2CSettings;
}

export type AzureB2CProviderOptions = Omit<AzureProviderOptions, "tenantId" | "baseAuthority" | "allowedTenantIds" | "b2c"> & AzureB2CSettings;

const PREFIX = "AZUREPROVIDER";

const SETTINGS: SettingSpec<AzureProviderOptions> = {
  tenantId: { env: "TENANT_ID", kind: "string" },
  identifierUri: { env: "IDENTIFIER_URI", kind: "string" },
  additionalAuthorizeScopes: { env: "ADDITIONAL_AUTHORIZE_SCOPES", kind: "list" },
  baseAuthority: { env: "BASE_AUTHORITY", kind: "string" },
  tokenIssuer: { env: "TOKEN_ISSUER", kind: "string" },
  allowedTenantIds: { env: "ALLOWED_TENANT_IDS", kind: "list" },
  ...PROXY_SETTINGS,
};

/**
 * Microsoft Entra ID behind the OAuth proxy, over its v2 endpoints: MCP clients register and sign
 * in here; people sign in to your app registration (Web redirect URI `<baseUrl>/auth/callback`).
 * This server's scopes (`mcp:read`) are the ones the app exposes: asked of Entra as
 * `<identifierUri>/mcp:read`, with `offline_access`, and never with the client's `resource`, which
 * Entra refuses beside v2 scopes (AADSTS9010010). Entra's access tokens are checked against the
 * tenant's keys, issuer and the app's audience; tools see the short scope names.
 */
export class AzureProvider extends ProxyPreset {
  /** The endpoints and key set in use. */
  readonly authority: Readonly<EntraAuthority>;
  readonly identifierUri: string;
  private readonly signInScopes: ReadonlySet<string>;

  /** Options left out come from `FASTMCP_SERVER_AUTH_AZUREPROVIDER_*` (CLIENT_ID, TENANT_ID, REQUIRED_SCOPES, BASE_URL...). */
  constructor(options: AzureProviderOptions = {}) {
    const settings = withEnvironmentDefaults(PREFIX, options, SETTINGS);
    const owner = "AzureProvider";
    const credentials = upstreamCredentials(settings, PREFIX, owner, { secretRequired: false });
    const clientId = credentials.upstreamClientId;
    const identifierUri = settings.identifierUri ?? (settings.b2c ? `https://${settings.b2c.tenantName}.onmicrosoft.com/${clientId}` : `api://${clientId}`);
    const requiredScopes = checkedRequiredScopes(settings.requiredScopes, owner, variableName(PREFIX, "REQUIRED_SCOPES"));
    const authority = authorityOf(settings, owner);
    const signInScopes = ["offline_access", ...(settings.additionalAuthorizeScopes ?? [])];
    if (authority.issuer.kind === "per-tenant" && signInScopes.includes("openid")) {
      throw new AuthConfigurationError(`${owner}: a multi-tenant tenantId cannot ask for openid (each directory signs its ID tokens under its own issuer); remove it from additionalAuthorizeScopes: the access token says who signed in`);
    }
    const { tenantId: _t, identifierUri: _i, additionalAuthorizeScopes: _a, baseAuthority: _b, tokenIssuer: _ti, allowedTenantIds: _at, b2c: _b2c, clientId: _c, clientSecret: _s, ...proxySettings } = settings;
    super({
      identityProviderName: "Microsoft Entra ID",
      ...proxySettings,
      ...credentials,
      upstreamAuthorizationEndpoint: authority.authorizationEndpoint,
      upstreamTokenEndpoint: authority.tokenEndpoint,
      ...(authority.issuer.kind === "fixed" ? { upstreamIssuer: authority.issuer.issuer } : {}),
      tokenVerifier: new EntraTokenVerifier({
        jwksUri: authority.jwksUri,
        issuer: authority.issuer,
        audience: [clientId, identifierUri],
        identifierUri,
        identityClaimsOnly: true,
        algorithm: "RS256",
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes,
      validScopes: presetValidScopes(settings, []),
      // Entra refuses `resource` beside v2 scopes (AADSTS9010010): the scopes name the API already.
      forwardResource: false,
      extraAuthorizeParams: { prompt: "select_account", ...settings.extraAuthorizeParams },
      // On-Behalf-Of gives tools Graph (or other API) tokens for the user: a confidential app's flow, which B2C lacks.
      ...(settings.downstreamTokens !== undefined || (!settings.b2c && credentials.upstreamClientSecret) ? { downstreamTokens: settings.downstreamTokens ?? "on-behalf-of" } : {}),
    }, { signInScopes, upstreamName: (scope) => prefixedScope(identifierUri, scope) });
    this.authority = Object.freeze({ ...authority });
    this.identifierUri = identifierUri;
    this.signInScopes = new Set(settings.upstreamSignInScopes ?? signInScopes);
  }

  /**
   * The client's scopes first, then the sign-in scopes: Entra issues one access token per API, and
   * with a Graph scope among `additionalAuthorizeScopes` the code must still redeem for this one.
   */
  protected override upstreamScopes(scopes: readonly string[]): string[] {
    const asked = super.upstreamScopes(scopes);
    return [...asked.filter((scope) => !this.signInScopes.has(scope)), ...asked.filter((scope) => this.signInScopes.has(scope))];
  }

  /** Azure AD B2C: `https://<tenantName>.b2clogin.com/<tenantName>.onmicrosoft.com/<policyName>/oauth2/v2.0/...`. */
  static fromB2C(options: AzureB2CProviderOptions): AzureProvider {
    const { tenantName, policyName, customDomain, ...rest } = options;
    return new AzureProvider({ ...rest, b2c: { tenantName, policyName, ...(customDomain !== undefined ? { customDomain } : {}) } });
  }
}

function authorityOf(settings: AzureProviderOptions, owner: string): EntraAuthority {
  const allowInsecureHttp = settings.allowInsecureHttp;
  if (settings.b2c) return b2cAuthority({ ...settings.b2c, tokenIssuer: settings.tokenIssuer, allowInsecureHttp });
  const tenantId = required(settings.tenantId, "tenantId (the Directory (tenant) ID, or organizations / common / consumers)", PREFIX, "TENANT_ID", owner);
  return tenantAuthority({ tenantId, baseAuthority: settings.baseAuthority, tokenIssuer: settings.tokenIssuer, allowedTenantIds: settings.allowedTenantIds, allowInsecureHttp });
}
