import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { domainUrl } from "./domain-url.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";
import { WorkOSTokenVerifier } from "./workos-token-verifier.js";

export interface WorkOSProviderOptions extends ProxyPresetOptions {
  /** Your AuthKit domain, `https://your-project.authkit.app` (`https://` may be left out). */
  authkitDomain?: string;
  /**
   * Treat the AuthKit domain as the issuer: require it as RFC 9207 `iss` in every callback, check
   * it in ID tokens, and send a nonce. Only if AuthKit returns `iss` with its authorization
   * responses. Default false.
   */
  checkIssuer?: boolean;
}

const ENV = "WORKOSPROVIDER";
const OWNER = "WorkOSProvider";
const SETTINGS: SettingSpec<WorkOSProviderOptions> = {
  ...PROXY_SETTINGS,
  authkitDomain: { env: "AUTHKIT_DOMAIN", kind: "string" },
  checkIssuer: { env: "CHECK_ISSUER", kind: "boolean" },
};

const DEFAULT_VALID_SCOPES = ["openid", "profile", "email"];

/**
 * WorkOS as the identity provider through an OAuth application of WorkOS Connect, which signs
 * people in with AuthKit (`<domain>/oauth2/authorize`, `/oauth2/token`). This server registers
 * the MCP clients itself; WorkOS sees one application. Tokens are checked with AuthKit's
 * userinfo endpoint. For MCP clients registering at AuthKit directly (dynamic registration,
 * CIMD), use AuthKitProvider (`fastmcp-ts/auth/providers/authkit`) instead.
 */
export class WorkOSProvider extends ProxyPreset {
  readonly authkitDomain: string;

  /** Options left out come from `FASTMCP_SERVER_AUTH_WORKOSPROVIDER_*` (CLIENT_ID, CLIENT_SECRET, AUTHKIT_DOMAIN, BASE_URL...). */
  constructor(options: WorkOSProviderOptions = {}) {
    const settings = withEnvironmentDefaults(ENV, options, SETTINGS);
    const domain = domainUrl(required(settings.authkitDomain, "authkitDomain (your AuthKit domain, https://your-project.authkit.app)", ENV, "AUTHKIT_DOMAIN", OWNER), "authkitDomain", settings.allowInsecureHttp);
    super({
      ...settings,
      ...upstreamCredentials(settings, ENV, OWNER, { secretRequired: true }),
      upstreamAuthorizationEndpoint: `${domain}/oauth2/authorize`,
      upstreamTokenEndpoint: `${domain}/oauth2/token`,
      ...(settings.checkIssuer ? { upstreamIssuer: domain } : {}),
      tokenVerifier: new WorkOSTokenVerifier({
        authkitDomain: domain,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      // WorkOS documents client credentials in the body of token requests.
      tokenEndpointAuthMethod: settings.tokenEndpointAuthMethod ?? "client_secret_post",
      requiredScopes: settings.requiredScopes ?? [],
      validScopes: presetValidScopes(settings, DEFAULT_VALID_SCOPES),
      // Tokens are checked at userinfo, not by audience: a resource would only risk invalid_target upstream.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "WorkOS",
    }, { signInScopes: ["openid", "offline_access"] });
    this.authkitDomain = domain;
  }
}
