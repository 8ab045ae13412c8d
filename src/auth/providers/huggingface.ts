import { PROXY_SETTINGS } from "../proxy/settings.js";
import { withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { HUGGINGFACE_USERINFO_URL, HuggingFaceTokenVerifier } from "./huggingface-token-verifier.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

/** Where Hugging Face's OAuth endpoints are; each may be overridden (a local stand-in in tests). */
export interface HuggingFaceEndpoints {
  authorization: string;
  token: string;
  userinfo: string;
}

export interface HuggingFaceProviderOptions extends ProxyPresetOptions {
  /** Hugging Face's endpoints, for a stand-in; the defaults are Hugging Face's own. */
  endpoints?: Partial<HuggingFaceEndpoints>;
}

export const HUGGINGFACE_ENDPOINTS: Readonly<HuggingFaceEndpoints> = Object.freeze({
  authorization: "https://huggingface.co/oauth/authorize",
  token: "https://huggingface.co/oauth/token",
  userinfo: HUGGINGFACE_USERINFO_URL,
});

const ENV = "HUGGINGFACEPROVIDER";
const OWNER = "HuggingFaceProvider";
const SETTINGS: SettingSpec<HuggingFaceProviderOptions> = { ...PROXY_SETTINGS };
const DEFAULT_VALID_SCOPES = ["openid", "profile"];

/**
 * Hugging Face as the identity provider, through an OAuth app (Settings → Connected Apps → OAuth
 * apps): its client id, its secret when it has one (a public app has none: the token requests
 * then carry the PKCE verifier only), and this server's callback among its redirect URLs.
 * Tokens are checked with Hugging Face's userinfo endpoint. Userinfo says nothing of scopes, so
 * the scopes clients get are those the token response grants (the proxy narrows the requested
 * scopes to its `scope`).
 */
export class HuggingFaceProvider extends ProxyPreset {
  readonly endpoints: Readonly<HuggingFaceEndpoints>;

  /** Options left out come from `FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_*` (CLIENT_ID, CLIENT_SECRET, BASE_URL, REQUIRED_SCOPES...). */
  constructor(options: HuggingFaceProviderOptions = {}) {
    const settings = withEnvironmentDefaults(ENV, options, SETTINGS);
    const credentials = upstreamCredentials(settings, ENV, OWNER, { secretRequired: false });
    const endpoints = Object.freeze({ ...HUGGINGFACE_ENDPOINTS, ...settings.endpoints });
    super({
      ...settings,
      ...credentials,
      upstreamAuthorizationEndpoint: endpoints.authorization,
      upstreamTokenEndpoint: endpoints.token,
      tokenVerifier: new HuggingFaceTokenVerifier({
        userinfoUrl: endpoints.userinfo,
        clientId: credentials.upstreamClientId,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        // The proxy already remembers its verdict per grant (upstreamVerificationCacheSeconds).
        cacheTtlSeconds: 0,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes: settings.requiredScopes ?? [],
      validScopes: presetValidScopes(settings, DEFAULT_VALID_SCOPES),
      // Tokens are checked at userinfo, not by audience: a resource would only be noise upstream.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "Hugging Face",
      // No token exchange: a tool calling the provider's API on the user's behalf uses their token.
      downstreamTokens: settings.downstreamTokens ?? "upstream-token",
    }, { signInScopes: ["openid"] });
    this.endpoints = endpoints;
  }
}
