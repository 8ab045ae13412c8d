/**
 * What the proxy tests share: a real upstream identity provider (oidc-provider, with the proxy's
 * confidential app registered for its callback, refresh tokens and revocation), and a FastMCP
 * server on 127.0.0.1 guarded by an OAuthProxy in front of it.
 */
import { randomBytes } from "node:crypto";
import { JWTVerifier, OAuthProxy, OIDCProxy, type OAuthProxyOptions, type OIDCProxyOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import type { IdentityProvider, IdentityProviderOptions } from "../../helpers/idp.js";
import { serveBehindProxy, startProxyUpstream, type ProxiedServer } from "../../helpers/proxied-server.js";

export type { ProxiedServer };

export const PROXY_CLIENT = { id: "mcp-proxy", secret: randomBytes(24).toString("base64url") };

/** The upstream endpoints of oidc-provider mounted at `issuer`. */
export function upstreamEndpoints(issuer: string) {
  return {
    upstreamAuthorizationEndpoint: `${issuer}/auth`,
    upstreamTokenEndpoint: `${issuer}/token`,
    upstreamRevocationEndpoint: `${issuer}/token/revocation`,
    upstreamIssuer: issuer,
  };
}

/** Options of the proxy over the harness's defaults. */
export type ProxyOverrides = Partial<OAuthProxyOptions & OIDCProxyOptions>;

/** Which proxy: an OAuthProxy given the endpoints and a verifier, or an OIDCProxy given the discovery URL. */
export type ProxyKind = "oauth" | "oidc";

/**
 * An identity provider and a FastMCP server (tools `whoami`, `write_note` needing mcp:write)
 * behind a proxy of `kind` configured by `options` over the defaults.
 */
export async function startProxiedServer(
  options: ProxyOverrides | ((idp: IdentityProvider, url: string) => ProxyOverrides | Promise<ProxyOverrides>) = {},
  idpOptions: IdentityProviderOptions = {},
  kind: ProxyKind = "oauth",
): Promise<ProxiedServer> {
  const upstream = await startProxyUpstream(PROXY_CLIENT, idpOptions);
  const { idp, baseUrl, url } = upstream;
  const overrides = typeof options === "function" ? await options(idp, url) : options;
  const errors: unknown[] = [];
  const common = {
    baseUrl,
    validScopes: ["mcp:read", "mcp:write"],
    store: new MemoryStore(),
    clientRegistration: { rateLimit: false as const },
    onError: (error: unknown) => void errors.push(error),
  };
  const proxy = kind === "oidc"
    ? new OIDCProxy({ ...common, configUrl: idp.metadataUrl, clientId: PROXY_CLIENT.id, clientSecret: PROXY_CLIENT.secret, requiredScopes: ["mcp:read"], ...overrides })
    : new OAuthProxy({
      ...common,
      ...upstreamEndpoints(idp.issuer),
      upstreamClientId: PROXY_CLIENT.id,
      upstreamClientSecret: PROXY_CLIENT.secret,
      tokenVerifier: new JWTVerifier({ jwksUri: idp.jwksUri, issuer: idp.issuer, audience: url, requiredScopes: ["mcp:read"] }),
      ...overrides,
    });
  return serveBehindProxy(upstream, proxy, errors);
}
