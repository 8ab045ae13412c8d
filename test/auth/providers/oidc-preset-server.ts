/**
 * What the OIDC proxy preset tests share: the oidc-provider stand-in laid out as the preset's
 * identity provider, with the preset's confidential app registered for its callback, and a
 * FastMCP server on 127.0.0.1 guarded by the preset, whose `whoami` tool reads ctx.auth.
 */
import { randomBytes } from "node:crypto";
import type { ProxyProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import type { IdentityProvider, IdentityProviderOptions } from "../../helpers/idp.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { serveBehindProxy, startProxyUpstream, type ProxiedServer } from "../../helpers/proxied-server.js";
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

/** A server behind a preset. */
export type PresetServer = ProxiedServer;

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
  const upstream = await startProxyUpstream(PRESET_CLIENT, idpOptions);
  const errors: unknown[] = [];
  let proxy: ProxyProvider;
  try {
    proxy = preset(upstream.idp, {
      baseUrl: upstream.baseUrl,
      clientId: PRESET_CLIENT.id,
      clientSecret: PRESET_CLIENT.secret,
      validScopes: ["mcp:read", "mcp:write"],
      store: new MemoryStore(),
      clientRegistration: { rateLimit: false },
      onError: (error) => void errors.push(error),
    });
  } catch (error) {
    await upstream.idp.close();
    throw error;
  }
  return serveBehindProxy(upstream, proxy, errors);
}

/** The official MCP client, signed in as `login` through the proxy and the stand-in's login page. */
export function signIn(server: PresetServer, login = "alice"): Promise<OAuthMcpClient> {
  return new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login }) }).connect();
}

/** What the server's `whoami` tool sees of the client's token. */
export async function whoami(client: OAuthMcpClient): Promise<PresetWhoAmI> {
  return JSON.parse(textOf(await client.callTool("whoami"))) as PresetWhoAmI;
}
