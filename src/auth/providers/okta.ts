import { OIDCProxy, type OIDCProxyOptions } from "../proxy/oidc-proxy.js";
import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import { domainUrl } from "./domain-url.js";
import { OPENID_OFFLINE } from "./upstream-scopes.js";

export interface OktaProviderOptions extends Partial<Omit<OIDCProxyOptions, "configUrl" | "tokenVerifier" | "verifyIdToken">> {
  /** Your Okta org (`dev-123456.okta.com`, `acme.okta.com`, or a custom domain). */
  domain?: string;
  /**
   * The authorization server: `default` (the default), the id of another custom one (`aus...`,
   * Security → API), or `org` for the org authorization server.
   */
  authorizationServerId?: string;
  /**
   * The `aud` of the custom authorization server's access tokens (its Audience, Security → API).
   * Default `api://default` for the `default` server; required for another one. Unused with `org`.
   */
  audience?: string;
}

const PREFIX = "OKTAPROVIDER";

const SETTINGS: SettingSpec<OktaProviderOptions> = {
  domain: { env: "DOMAIN", kind: "string" },
  authorizationServerId: { env: "AUTHORIZATION_SERVER_ID", kind: "string" },
  audience: { env: "AUDIENCE", kind: "string" },
  ...PROXY_SETTINGS,
};

/** The authorization server id that names Okta's org authorization server. */
export const ORG_AUTHORIZATION_SERVER = "org";

/** Where an Okta authorization server lives, and what its tokens say. */
interface OktaServer {
  issuer: string;
  jwksUri: string;
  /** The org server's access tokens are for Okta's own APIs: the proxy checks its ID tokens instead. */
  verifyIdToken: boolean;
}

/**
 * Okta behind the OIDC proxy: MCP clients register and sign in here; people sign in to your
 * Okta app integration (OIDC, Web Application, sign-in redirect `<baseUrl>/auth/callback`).
 * With a custom authorization server (`default` unless told), Okta's JWT access tokens are
 * checked against `<org>/oauth2/<id>/v1/keys` and the server's audience; with the org
 * authorization server, whose access tokens only Okta may read, the ID token is checked.
 */
export class OktaProvider extends OIDCProxy {
  readonly issuer: string;

  constructor(options: OktaProviderOptions = {}) {
    const settings = withEnvironmentDefaults(PREFIX, options, SETTINGS);
    const owner = "OktaProvider";
    const org = domainUrl(required(settings.domain, "domain (your Okta org, e.g. dev-123456.okta.com)", PREFIX, "DOMAIN", owner), "domain", settings.allowInsecureHttp);
    const clientId = required(settings.clientId, "clientId (your Okta app integration's Client ID)", PREFIX, "CLIENT_ID", owner);
    const serverId = settings.authorizationServerId || "default";
    const server = oktaServer(org, serverId);
    const audience = server.verifyIdToken
      ? clientId
      : required(settings.audience ?? (serverId === "default" ? "api://default" : undefined), `audience (the Audience of authorization server ${serverId})`, PREFIX, "AUDIENCE", owner);
    // Okta takes no `audience` parameter: left in, OIDCProxy would send it upstream. The algorithms
    // are the verifier's, not OIDCProxy's (which refuses them beside a tokenVerifier).
    const { audience: _audience, algorithm, ...proxyOptions } = settings;
    super({
      identityProviderName: "Okta",
      ...proxyOptions,
      upstreamSignInScopes: settings.upstreamSignInScopes ?? OPENID_OFFLINE,
      configUrl: `${server.issuer}/.well-known/openid-configuration`,
      verifyIdToken: server.verifyIdToken,
      tokenVerifier: new JWTVerifier({
        jwksUri: server.jwksUri,
        issuer: server.issuer,
        audience,
        algorithm: algorithm ?? "RS256",
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      requiredScopes: settings.requiredScopes ?? [],
    }, null);
    this.issuer = server.issuer;
  }
}

function oktaServer(org: string, serverId: string): OktaServer {
  if (serverId === ORG_AUTHORIZATION_SERVER) return { issuer: org, jwksUri: `${org}/oauth2/v1/keys`, verifyIdToken: true };
  const issuer = `${org}/oauth2/${encodeURIComponent(serverId)}`;
  return { issuer, jwksUri: `${issuer}/v1/keys`, verifyIdToken: false };
}
