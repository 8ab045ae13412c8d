/**
 * What the OIDC proxy preset tests share: the oidc-provider stand-in laid out as the preset's
 * identity provider, with the preset's confidential app registered for its callback, and a
 * FastMCP server on 127.0.0.1 guarded by the preset, whose `whoami` tool reads ctx.auth.
 */
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import type { ProxyProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "../../helpers/idp.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { freePort } from "../../helpers/ports.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { textOf } from "../e2e/journey.js";

/** The app registered at the identity provider for the proxy. */
export const PRESET_CLIENT = { id: "mcp-preset-app", secret: randomBytes(24).toString("base64url") };

/** What every preset under test is given besides its own settings. */
export interface CommonProxyOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  validScopes: string[];
  store: MemoryStore;
  clientRegistration: { rateLimit: false };
  onError: (error: unknown) => void;
}

export interface PresetServer {
  readonly idp: IdentityProvider;
  readonly proxy: ProxyProvider;
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
  readonly errors: unknown[];
  close(): Promise<void>;
}

/** What `whoami` answers. */
export interface PresetWhoAmI {
  subject: string | undefined;
  client: string | undefined;
  scopes: string[];
  upstream: Record<string, unknown>;
}

/**
 * An identity provider shaped by `idpOptions` and a FastMCP server behind the proxy `preset`
 * builds from the stand-in and the common options (the port is picked first: the callback URL
 * registered at the identity provider names it).
 */
export async function startPresetServer(
  idpOptions: IdentityProviderOptions,
  preset: (idp: IdentityProvider, common: CommonProxyOptions) => ProxyProvider,
): Promise<PresetServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  const idp = await startIdentityProvider({
    scopes: ["mcp:read", "mcp:write"],
    refreshAndRevocation: true,
    accountClaims: (id) => ({ email: `${id}@example.com`, name: id }),
    clients: [{
      client_id: PRESET_CLIENT.id,
      client_secret: PRESET_CLIENT.secret,
      redirect_uris: [`${baseUrl}/auth/callback`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    ...idpOptions,
  });
  idp.allowResource(url);
  const errors: unknown[] = [];
  const proxy = preset(idp, {
    baseUrl,
    clientId: PRESET_CLIENT.id,
    clientSecret: PRESET_CLIENT.secret,
    validScopes: ["mcp:read", "mcp:write"],
    store: new MemoryStore(),
    clientRegistration: { rateLimit: false },
    onError: (error) => void errors.push(error),
  });
  const mcp = new FastMCP({ name: "preset", auth: proxy });
  mcp.tool({
    name: "whoami",
    description: "The caller as the server sees it",
    execute: (_args, ctx): string => JSON.stringify({ subject: ctx.auth?.subject, client: ctx.auth?.clientId, scopes: ctx.auth?.scopes, upstream: ctx.auth?.claims.upstream_claims }),
  });
  mcp.tool({
    name: "write_note",
    description: "Needs mcp:write",
    parameters: z.object({ text: z.string() }),
    scopes: ["mcp:write"],
    execute: ({ text }) => `saved: ${text}`,
  });
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

/** The official MCP client, signed in as `login` through the proxy and the stand-in's login page. */
export function signIn(server: PresetServer, login = "alice"): Promise<OAuthMcpClient> {
  return new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login }) }).connect();
}

/** What the server's `whoami` tool sees of the client's token. */
export async function whoami(client: OAuthMcpClient): Promise<PresetWhoAmI> {
  return JSON.parse(textOf(await client.callTool("whoami"))) as PresetWhoAmI;
}
