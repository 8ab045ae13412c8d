import { PROXY_SETTINGS } from "../proxy/settings.js";
import type { SettingSpec } from "../settings.js";
import { baseUrlOf, endpointUrl } from "../urls.js";
import { GitHubTokenVerifier } from "./github-token-verifier.js";
import { presetSettings } from "./preset-environment.js";
import { presetValidScopes, ProxyPreset, upstreamCredentials, type ProxyPresetOptions } from "./proxy-preset.js";

export { GitHubTokenVerifier, type GitHubTokenVerifierOptions } from "./github-token-verifier.js";

export interface GitHubProviderOptions extends ProxyPresetOptions {
  /**
   * Where people sign in: `https://github.com` (the default), or your GitHub Enterprise Server
   * (`https://github.example.com`) or GitHub Enterprise Cloud with data residency
   * (`https://SUBDOMAIN.ghe.com`). The OAuth endpoints are `<githubUrl>/login/oauth/...`.
   */
  githubUrl?: string;
  /**
   * GitHub's REST API, where tokens are checked (`GET /user`). Default: `https://api.github.com`
   * for github.com, `https://api.SUBDOMAIN.ghe.com` for ghe.com, `<githubUrl>/api/v3` otherwise.
   */
  apiUrl?: string;
}

/** Where GitHub is, as the preset derives it from `githubUrl` and `apiUrl`. */
export interface GitHubEndpoints {
  authorization: string;
  token: string;
  api: string;
}

const ENV = "GITHUBPROVIDER";
/** The prefix the reference's v2 releases read. */
const LEGACY_ENV = "GITHUB";
const OWNER = "GitHubProvider";
const SETTINGS: SettingSpec<GitHubProviderOptions> = {
  ...PROXY_SETTINGS,
  githubUrl: { env: "GITHUB_URL", kind: "string" },
  apiUrl: { env: "API_URL", kind: "string" },
};

const GITHUB_URL = "https://github.com";
/** What clients may ask for by default: who signed in, and their email addresses (even private ones). */
const DEFAULT_VALID_SCOPES = ["read:user", "user:email"];

/**
 * GitHub as the identity provider, through an OAuth App or a GitHub App registered for this
 * server (GitHub offers no dynamic registration: this server registers the MCP clients and signs
 * people in with its one app). GitHub's tokens are opaque and checked with `GET /user`; an OAuth
 * App's never expire and come without a refresh token, a GitHub App's expire after 8 hours and are
 * refreshed by the proxy with the refresh token GitHub issued.
 *
 * No scope is required by default (the reference requires `user`, which grants write access to
 * the profile and which a GitHub App, having permissions instead of scopes, never grants): any
 * token GitHub accepts says who signed in. Set `requiredScopes` to the scopes your tools need.
 */
export class GitHubProvider extends ProxyPreset {
  readonly endpoints: Readonly<GitHubEndpoints>;

  /** Options left out come from `FASTMCP_SERVER_AUTH_GITHUBPROVIDER_*` (or the reference's `FASTMCP_SERVER_AUTH_GITHUB_*`). */
  constructor(options: GitHubProviderOptions = {}) {
    const settings = presetSettings(options, SETTINGS, ENV, LEGACY_ENV);
    const endpoints = gitHubEndpoints(settings);
    super({
      ...settings,
      ...upstreamCredentials(settings, ENV, OWNER, { secretRequired: true }),
      upstreamAuthorizationEndpoint: endpoints.authorization,
      upstreamTokenEndpoint: endpoints.token,
      tokenVerifier: new GitHubTokenVerifier({
        apiUrl: endpoints.api,
        timeoutSeconds: (settings.upstreamTimeoutMs ?? 10_000) / 1000,
        // The proxy keeps its own verdict per grant (upstreamVerificationCacheSeconds): a second cache would only delay a revocation.
        cacheTtlSeconds: 0,
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      // GitHub documents the app's credentials in the body of token requests.
      tokenEndpointAuthMethod: settings.tokenEndpointAuthMethod ?? "client_secret_post",
      requiredScopes: settings.requiredScopes ?? [],
      validScopes: presetValidScopes(settings, DEFAULT_VALID_SCOPES),
      // GitHub ignores RFC 8707: its tokens are good for its whole API whatever the resource.
      forwardResource: settings.forwardResource ?? false,
      identityProviderName: settings.identityProviderName ?? "GitHub",
      // GitHub has no token exchange: a tool calling its API on the user's behalf uses their token.
      downstreamTokens: settings.downstreamTokens ?? "upstream-token",
    }, { signInScopes: [] });
    this.endpoints = endpoints;
  }

  /** GitHub lists an OAuth App's granted scopes comma-separated (`read:user,user:email`); a GitHub App's are `""`. */
  protected override grantedScopes(requested: readonly string[], upstreamScope: string | undefined): string[] {
    return super.grantedScopes(requested, upstreamScope?.replace(/,/g, " "));
  }
}

/** The OAuth endpoints under `githubUrl`, and its API (see {@link GitHubProviderOptions.apiUrl}). */
function gitHubEndpoints(settings: GitHubProviderOptions): GitHubEndpoints {
  const insecure = { allowInsecureHttp: settings.allowInsecureHttp ?? false };
  const web = baseUrlOf(endpointUrl(settings.githubUrl ?? GITHUB_URL, "githubUrl", insecure), "githubUrl");
  const api = settings.apiUrl !== undefined ? baseUrlOf(endpointUrl(settings.apiUrl, "apiUrl", insecure), "apiUrl") : defaultApiUrl(new URL(web));
  return Object.freeze({ authorization: `${web}/login/oauth/authorize`, token: `${web}/login/oauth/access_token`, api });
}

function defaultApiUrl(web: URL): string {
  if (web.host === "github.com") return "https://api.github.com";
  if (web.hostname.endsWith(".ghe.com")) return `${web.protocol}//api.${web.host}`;
  return `${web.origin}${web.pathname.replace(/\/+$/, "")}/api/v3`;
}
