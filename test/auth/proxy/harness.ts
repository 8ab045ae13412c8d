/**
 * What the proxy tests share: a real upstream identity provider (oidc-provider, with the proxy's
 * confidential app registered for its callback, refresh tokens and revocation), and a FastMCP
 * server on 127.0.0.1 guarded by an OAuthProxy in front of it.
 */
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import { JWTVerifier, OAuthProxy, OIDCProxy, type OAuthProxyOptions, type OIDCProxyOptions, type ProxyProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "../../helpers/idp.js";
import { freePort } from "../../helpers/ports.js";

export const PROXY_CLIENT = { id: "mcp-proxy", secret: randomBytes(24).toString("base64url") };

export interface ProxiedServer {
  readonly idp: IdentityProvider;
  readonly proxy: ProxyProvider;
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
  readonly errors: unknown[];
  close(): Promise<void>;
}

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
  options: ProxyOverrides | ((idp: IdentityProvider) => ProxyOverrides | Promise<ProxyOverrides>) = {},
  idpOptions: IdentityProviderOptions = {},
  kind: ProxyKind = "oauth",
): Promise<ProxiedServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  const idp = await startIdentityProvider({
    scopes: ["mcp:read", "mcp:write"],
    refreshAndRevocation: true,
    accountClaims: (id) => ({ email: `${id}@example.com`, name: id }),
    clients: [{
      client_id: PROXY_CLIENT.id,
      client_secret: PROXY_CLIENT.secret,
      redirect_uris: [`${baseUrl}/auth/callback`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    ...idpOptions,
  });
  idp.allowResource(url);
  const overrides = typeof options === "function" ? await options(idp) : options;
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
  const mcp = new FastMCP({ name: "proxied", auth: proxy });
  mcp.tool({
    name: "whoami",
    description: "The caller as the server sees it",
    execute: (_args, ctx) => ({ subject: ctx.auth?.subject, client: ctx.auth?.clientId, scopes: ctx.auth?.scopes, upstream: ctx.auth?.claims.upstream_claims }),
  });
  mcp.tool({
    name: "write_note",
    description: "Needs mcp:write",
    parameters: z.object({ text: z.string() }),
    scopes: ["mcp:write"],
    execute: ({ text }) => `saved: ${text}`,
  });
  await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
  return {
    idp,
    proxy,
    baseUrl,
    url,
    errors,
    close: async () => {
      await mcp.close();
      await idp.close();
    },
  };
}
