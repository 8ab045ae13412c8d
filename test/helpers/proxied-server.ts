/**
 * A FastMCP server on 127.0.0.1 behind a proxy (OAuthProxy, OIDCProxy or a preset), in front of a
 * real upstream identity provider (oidc-provider) with the proxy's confidential app registered for
 * the callback of the port the server will listen on. Tools: `whoami` (what ctx.auth holds) and
 * `write_note` (needs mcp:write). The proxy tests and the preset tests build on it.
 */
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import type { ProxyProvider } from "fastmcp-ts/auth";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "./idp.js";
import { freePort } from "./ports.js";

/** The app registered at the identity provider for the proxy: confidential (client_secret_basic), or public without a secret. */
export interface UpstreamApp {
  id: string;
  secret?: string;
}

/** The identity provider, and where the server behind the proxy will listen. */
export interface ProxyUpstream {
  readonly idp: IdentityProvider;
  readonly port: number;
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
}

export interface ProxiedServer {
  readonly idp: IdentityProvider;
  readonly proxy: ProxyProvider;
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
  readonly errors: unknown[];
  close(): Promise<void>;
}

/** An identity provider (scopes mcp:read and mcp:write, refresh and revocation) with `app` registered for the proxy's callback. */
export async function startProxyUpstream(app: UpstreamApp, idpOptions: IdentityProviderOptions = {}): Promise<ProxyUpstream> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  const idp = await startIdentityProvider({
    scopes: ["mcp:read", "mcp:write"],
    refreshAndRevocation: true,
    accountClaims: (id) => ({ email: `${id}@example.com`, name: id }),
    clients: [{
      client_id: app.id,
      ...(app.secret === undefined ? { token_endpoint_auth_method: "none" } : { client_secret: app.secret, token_endpoint_auth_method: "client_secret_basic" }),
      redirect_uris: [`${baseUrl}/auth/callback`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }],
    ...idpOptions,
  });
  idp.allowResource(url);
  return { idp, port, baseUrl, url };
}

/** Serves the test tools behind `proxy` on the upstream's port; closing it closes the identity provider too. */
export async function serveBehindProxy(upstream: ProxyUpstream, proxy: ProxyProvider, errors: unknown[]): Promise<ProxiedServer> {
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
  const { idp, port, baseUrl, url } = upstream;
  try {
    await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
  } catch (error) {
    await idp.close();
    throw error;
  }
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
