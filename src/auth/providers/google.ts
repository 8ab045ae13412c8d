import { PROXY_SETTINGS } from "../proxy/settings.js";
import { withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { googleScope } from "./google-scopes.js";
import { GoogleTokenVerifier } from "./google-token-verifier.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

/** Where Google's OAuth endpoints are; each may be overridden (a local stand-in in tests). */
export interface GoogleEndpoints {
  authorization: string;
  token: string;
  revocation: string;
  tokeninfo: string;
  userinfo: string;
  /** Checked in the callback's `iss` and in ID tokens. */
  issuer: string;
}

export interface GoogleProviderOptions extends ProxyPresetOptions {
  /** Google's endpoints, for a stand-in; the defaults are Google's own. */
  endpoints?: Partial<GoogleEndpoints>;
}

export const GOOGLE_ENDPOINTS: Readonly<GoogleEndpoints> = Object.freeze({
  authorization: "https://accounts.google.com/o/oauth2/v2/auth",
  token: "https://oauth2.googleapis.com/token",
  revocation: "https://oauth2.googleapis.com/revoke",
  tokeninfo: "https://oauth2.googleapis.com/tokeninfo",
  userinfo: "https://openidconnect.googleapis.com/v1/userinfo",
  issuer: "https://accounts.google.com",
});

const ENV = "GOOGLEPROVIDER";
const SETTINGS: SettingSpec<GoogleProviderOptions> = { ...PROXY_SETTINGS };

/** What clients may ask for; `openid` is asked of Google at every sign-in anyway (tokeninfo's `sub` needs it). */
const DEFAULT_VALID_SCOPES = ["openid", "email", "profile"];

/**
 * Google as the identity provider, through an OAuth client of type "Web application" in the
 * Google Cloud console (Google offers no dynamic registration, so this server registers the MCP
 * clients and signs people in with its one Google app). Google's access tokens are opaque and
 * checked with its tokeninfo endpoint. `access_type=offline` and `prompt=consent` are sent so
 * Google issues a refresh token with every sign-in; `extraAuthorizeParams` overrides them.
 */
export class GoogleProvider extends ProxyPreset {
  readonly endpoints: Readonly<GoogleEndpoints>;

  /** Options left out come from `FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_*` (CLIENT_ID, CLIENT_SECRET, BASE_URL, REQUIRED_SCOPES...). */
  constructor(options: GoogleProviderOptions = {}) {
    const settings = withEnvironmentDefaults(ENV, options, SETTINGS);
    const credentials = upstreamCredentials(settings, ENV, "GoogleProvider", { secretRequired: false });
    const endpoints = Object.freeze({ ...GOOGLE_ENDPOINTS, ...settings.endpoints });
    super({
      ...settings,
      ...credentials,
      upstreamAuthorizationEndpoint: endpoints.authorization,
      upstreamTokenEndpoint: endpoints.token,
      upstreamRevocationEndpoint: endpoints.revocation,
      upstreamIssuer: endpoints.issuer,
      tokenVerifier: new GoogleTokenVerifier({
        clientId: credentials.upstreamClientId,
        tokeninfoUrl: endpoints.tokeninfo,
        userinfoUrl: endpoints.userinfo,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes: settings.requiredScopes ?? [],
      validScopes: presetValidScopes(settings, DEFAULT_VALID_SCOPES),
      // Google cannot bind its tokens to this server's URL: the resource would only be noise upstream.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "Google",
      extraAuthorizeParams: { access_type: "offline", prompt: "consent", ...settings.extraAuthorizeParams },
    }, { signInScopes: ["openid"], upstreamName: googleScope });
    this.endpoints = endpoints;
  }
}
