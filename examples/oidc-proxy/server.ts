/**
 * An MCP server whose users sign in with an OpenID Connect provider that MCP clients cannot
 * register with by themselves (Google, Okta, Entra, Keycloak...): OIDCProxy is the authorization
 * server MCP clients see (registration, PKCE, consent page) and sends people to the provider to
 * sign in, through one app you register there. Clients get this server's own tokens; the
 * provider's tokens stay on the server.
 *
 *   npx fastmcp-ts run examples/oidc-proxy/server.ts --transport http
 *
 * Configuration comes from the environment (the CLI also reads `.env` in the directory you run it
 * from; see README.md for Google and Okta):
 *
 *   FASTMCP_SERVER_AUTH_OIDCPROXY_CONFIG_URL      the provider's discovery document (required)
 *   FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_ID       the app registered there (required)
 *   FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_SECRET   its secret
 *   FASTMCP_SERVER_AUTH_OIDCPROXY_*               any other OIDCProxy setting (AUDIENCE, REQUIRED_SCOPES,
 *                                                 VALID_SCOPES, VERIFY_ID_TOKEN, BASE_URL, ENCRYPTION_KEY...)
 *   UPSTREAM_SCOPES             what to ask the provider for at every sign-in, instead of the client's scopes
 *   UPSTREAM_AUTHORIZE_PARAMS   more parameters for the provider's authorization URL, as a query string
 *   UPSTREAM_FORWARD_RESOURCE   `false`: do not send the client's RFC 8707 `resource` to the provider
 */
import { fileURLToPath } from "node:url";
import { FastMCP, ToolError } from "fastmcp-ts";
import { OIDCProxy } from "fastmcp-ts/auth";

const extraAuthorizeParams: Record<string, string> = Object.fromEntries(new URLSearchParams(process.env.UPSTREAM_AUTHORIZE_PARAMS ?? ""));
if (process.env.UPSTREAM_SCOPES?.trim()) extraAuthorizeParams.scope = process.env.UPSTREAM_SCOPES.trim();

export const auth = new OIDCProxy({
  // configUrl, clientId, clientSecret and the rest: FASTMCP_SERVER_AUTH_OIDCPROXY_*.
  extraAuthorizeParams,
  forwardResource: process.env.UPSTREAM_FORWARD_RESOURCE?.trim().toLowerCase() !== "false",
});

export const mcp = new FastMCP({ name: "OIDC Proxy Example", auth });

mcp.tool({
  name: "whoami",
  description: "Who you are: your subject, the application and scopes, and the identity provider's claims about you.",
  execute: (_args, ctx) => {
    const upstream = (ctx.auth?.claims.upstream_claims ?? {}) as Record<string, unknown>;
    return {
      subject: ctx.auth?.subject,
      email: upstream.email,
      name: upstream.name,
      client: ctx.auth?.clientId,
      scopes: ctx.auth?.scopes,
      upstream_claims: upstream,
    };
  },
});

mcp.tool({
  name: "userinfo",
  description: "Your profile from the identity provider's userinfo endpoint, fetched with your token at the provider.",
  execute: async (_args, ctx) => {
    // The provider's access token behind this request (refreshed first if it had expired).
    const token = await auth.upstreamAccessToken(ctx.auth);
    if (!token) throw new ToolError("No identity provider token is held for this request; sign in again");
    const endpoint = await userinfoEndpoint();
    const response = await fetch(endpoint, { headers: { authorization: `Bearer ${token}`, accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new ToolError(`The identity provider's userinfo endpoint answered HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  },
});

let discovered: Promise<string> | undefined;

/** The provider's `userinfo_endpoint`, read once from the discovery document. */
function userinfoEndpoint(): Promise<string> {
  discovered ??= (async () => {
    const configured = process.env.FASTMCP_SERVER_AUTH_OIDCPROXY_CONFIG_URL ?? "";
    const url = configured.includes("/.well-known/") ? configured : `${configured.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
    const document = response.ok ? ((await response.json()) as { userinfo_endpoint?: unknown }) : {};
    if (typeof document.userinfo_endpoint !== "string") throw new ToolError("The identity provider publishes no userinfo endpoint");
    return document.userinfo_endpoint;
  })().catch((error: unknown) => {
    discovered = undefined;
    throw error;
  });
  return discovered;
}

export default mcp;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mcp.run({ transport: "http", port: Number(process.env.PORT ?? 8000) });
}
