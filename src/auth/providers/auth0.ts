import { OIDCProxy, type OIDCProxyOptions } from "../proxy/oidc-proxy.js";
import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, variableName, type SettingSpec } from "../settings.js";
import { AuthConfigurationError } from "../urls.js";
import { domainUrl } from "./domain-url.js";
import { OPENID_OFFLINE } from "./upstream-scopes.js";
import { presetSettings } from "./preset-environment.js";

export interface Auth0ProviderOptions extends Partial<OIDCProxyOptions> {
  /** Your tenant's domain (`acme.us.auth0.com`, or a custom domain): the discovery document is read from it. */
  domain?: string;
  /**
   * The identifier of the Auth0 API your tools stand for (APIs → your API → Identifier). It is
   * sent as `audience` with every authorization and token request, so Auth0 issues JWT access
   * tokens for that API, and tokens must carry it in `aud`.
   */
  audience?: string;
}

const PREFIX = "AUTH0PROVIDER";
/** The prefix the reference's v2 releases read. */
const LEGACY_PREFIX = "AUTH0";

const SETTINGS: SettingSpec<Auth0ProviderOptions> = {
  configUrl: { env: "CONFIG_URL", kind: "string" },
  domain: { env: "DOMAIN", kind: "string" },
  ...PROXY_SETTINGS,
  audience: { env: "AUDIENCE", kind: "string" },
};

/**
 * Auth0 behind the OIDC proxy: MCP clients register and sign in here; people sign in to your
 * Auth0 application (a Regular Web Application whose callback is `<baseUrl>/auth/callback`).
 * Endpoints and keys come from the tenant's discovery document; access tokens are Auth0's JWTs
 * for your API (`audience`).
 */
export class Auth0Provider extends OIDCProxy {
  constructor(options: Auth0ProviderOptions = {}) {
    const settings = presetSettings(options, SETTINGS, PREFIX, LEGACY_PREFIX);
    const owner = "Auth0Provider";
    const configUrl = settings.configUrl ?? (settings.domain !== undefined ? discoveryUrlOf(settings.domain, settings.allowInsecureHttp) : undefined);
    if (configUrl === undefined || configUrl === "") {
      throw new AuthConfigurationError(`${owner} needs configUrl or domain: pass one, or set ${variableName(PREFIX, "CONFIG_URL")} or ${variableName(PREFIX, "DOMAIN")}`);
    }
    required(settings.clientId, "clientId (your Auth0 application's Client ID)", PREFIX, "CLIENT_ID", owner);
    required(settings.audience, "audience (the identifier of your Auth0 API)", PREFIX, "AUDIENCE", owner);
    super({ identityProviderName: "Auth0", ...settings, upstreamSignInScopes: settings.upstreamSignInScopes ?? OPENID_OFFLINE, configUrl }, null);
  }
}

function discoveryUrlOf(domain: string, allowInsecureHttp: boolean | undefined): string {
  return `${domainUrl(domain, "domain", allowInsecureHttp)}/.well-known/openid-configuration`;
}
