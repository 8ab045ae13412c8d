import { PROXY_SETTINGS } from "../proxy/settings.js";
import { withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { DISCORD_CURRENT_AUTHORIZATION_URL, DiscordTokenVerifier } from "./discord-token-verifier.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

/** Where Discord's OAuth endpoints are; each may be overridden (a local stand-in in tests). */
export interface DiscordEndpoints {
  authorization: string;
  token: string;
  revocation: string;
  /** "Get current authorization information": what the token verifier asks. */
  currentAuthorization: string;
}

export interface DiscordProviderOptions extends ProxyPresetOptions {
  /** Discord's endpoints, for a stand-in; the defaults are Discord's own. */
  endpoints?: Partial<DiscordEndpoints>;
}

export const DISCORD_ENDPOINTS: Readonly<DiscordEndpoints> = Object.freeze({
  authorization: "https://discord.com/oauth2/authorize",
  token: "https://discord.com/api/oauth2/token",
  revocation: "https://discord.com/api/oauth2/token/revoke",
  currentAuthorization: DISCORD_CURRENT_AUTHORIZATION_URL,
});

const ENV = "DISCORDPROVIDER";
const OWNER = "DiscordProvider";
const SETTINGS: SettingSpec<DiscordProviderOptions> = { ...PROXY_SETTINGS };
const DEFAULT_VALID_SCOPES = ["identify"];

/**
 * Discord as the identity provider, through an application of the Discord Developer Portal
 * (OAuth2 section: its client id and secret, and this server's callback among its redirects).
 * This server registers the MCP clients itself; Discord sees one application. Discord's tokens
 * are opaque and checked with `GET /api/oauth2/@me`, pinned to this application's id.
 * `identify` is asked at every sign-in: without it Discord does not say who signed in.
 */
export class DiscordProvider extends ProxyPreset {
  readonly endpoints: Readonly<DiscordEndpoints>;

  /** Options left out come from `FASTMCP_SERVER_AUTH_DISCORDPROVIDER_*` (CLIENT_ID, CLIENT_SECRET, BASE_URL, REQUIRED_SCOPES...). */
  constructor(options: DiscordProviderOptions = {}) {
    const settings = withEnvironmentDefaults(ENV, options, SETTINGS);
    const credentials = upstreamCredentials(settings, ENV, OWNER, { secretRequired: true });
    const endpoints = Object.freeze({ ...DISCORD_ENDPOINTS, ...settings.endpoints });
    super({
      ...settings,
      ...credentials,
      upstreamAuthorizationEndpoint: endpoints.authorization,
      upstreamTokenEndpoint: endpoints.token,
      upstreamRevocationEndpoint: endpoints.revocation,
      tokenVerifier: new DiscordTokenVerifier({
        expectedClientId: credentials.upstreamClientId,
        currentAuthorizationUrl: endpoints.currentAuthorization,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        // The proxy already remembers its verdict per grant (upstreamVerificationCacheSeconds).
        cacheTtlSeconds: 0,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes: settings.requiredScopes ?? [],
      validScopes: presetValidScopes(settings, DEFAULT_VALID_SCOPES),
      // Discord ignores RFC 8707 resource: its tokens are not bound to this server's URL.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "Discord",
      // No token exchange: a tool calling the provider's API on the user's behalf uses their token.
      downstreamTokens: settings.downstreamTokens ?? "upstream-token",
    }, { signInScopes: ["identify"] });
    this.endpoints = endpoints;
  }
}
