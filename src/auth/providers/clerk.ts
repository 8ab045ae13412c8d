import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { ClerkTokenVerifier } from "./clerk-token-verifier.js";
import { domainUrl } from "./domain-url.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

export interface ClerkProviderOptions extends ProxyPresetOptions {
  /** Your Clerk instance's Frontend API domain: `your-app-12.clerk.accounts.dev`, or `clerk.example.com` in production (`https://` may be left out). */
  domain?: string;
  /**
   * Treat the domain as the issuer: require it as RFC 9207 `iss` in every callback, check it in
   * ID tokens, and send a nonce. Only if Clerk returns `iss` with its authorization responses.
   * Default false.
   */
  checkIssuer?: boolean;
}

const ENV = "CLERKPROVIDER";
const OWNER = "ClerkProvider";
const SETTINGS: SettingSpec<ClerkProviderOptions> = {
  ...PROXY_SETTINGS,
  domain: { env: "DOMAIN", kind: "string" },
  checkIssuer: { env: "CHECK_ISSUER", kind: "boolean" },
};

const IDENTITY_SCOPES = ["openid", "email", "profile"];

/**
 * Clerk as the identity provider, through an OAuth application of your Clerk instance
 * (`<domain>/oauth/authorize`, `/oauth/token`). This server registers the MCP clients itself;
 * Clerk sees one application. Tokens are checked with Clerk's introspection endpoint, the
 * profile read from its userinfo endpoint.
 */
export class ClerkProvider extends ProxyPreset {
  readonly domain: string;

  /** Options left out come from `FASTMCP_SERVER_AUTH_CLERKPROVIDER_*` (DOMAIN, CLIENT_ID, CLIENT_SECRET, BASE_URL...). */
  constructor(options: ClerkProviderOptions = {}) {
    const settings = withEnvironmentDefaults(ENV, options, SETTINGS);
    const domain = domainUrl(required(settings.domain, "domain (your Clerk Frontend API domain, your-app.clerk.accounts.dev)", ENV, "DOMAIN", OWNER), "domain", settings.allowInsecureHttp);
    const credentials = upstreamCredentials(settings, ENV, OWNER, { secretRequired: false });
    const requiredScopes = settings.requiredScopes ?? [];
    super({
      ...settings,
      ...credentials,
      upstreamAuthorizationEndpoint: `${domain}/oauth/authorize`,
      upstreamTokenEndpoint: `${domain}/oauth/token`,
      ...(settings.checkIssuer ? { upstreamIssuer: domain } : {}),
      tokenVerifier: new ClerkTokenVerifier({
        domain,
        clientId: credentials.upstreamClientId,
        ...(credentials.upstreamClientSecret ? { clientSecret: credentials.upstreamClientSecret } : {}),
        requiredScopes,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes,
      validScopes: presetValidScopes(settings, IDENTITY_SCOPES),
      // Tokens are checked by introspection, bound to the client id: a resource would only risk invalid_target upstream.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "Clerk",
    }, { signInScopes: IDENTITY_SCOPES });
    this.domain = domain;
  }
}
