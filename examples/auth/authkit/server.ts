/**
 * An external identity provider (the "RemoteAuthProvider" tier of seed-auth-overview): WorkOS
 * AuthKit handles login and client registration; this server validates the tokens and tells MCP
 * clients where to log in.
 *
 *   AUTHKIT_DOMAIN=https://your-project.authkit.app BASE_URL=https://your-fastmcp-server.com \
 *   npx fastmcp-ts run examples/auth/authkit/server.ts --transport http
 */
import { FastMCP } from "fastmcp-ts";
import { AuthKitProvider } from "fastmcp-ts/auth/providers/authkit";

const auth = new AuthKitProvider({
  authkitDomain: process.env.AUTHKIT_DOMAIN ?? "https://your-project.authkit.app",
  baseUrl: process.env.BASE_URL ?? "https://your-fastmcp-server.com",
});

export const mcp = new FastMCP({ name: "Enterprise Server", auth });

mcp.tool({
  name: "whoami",
  description: "The signed-in user",
  execute: (_args, ctx) => ({ user: ctx.auth?.subject, scopes: ctx.auth?.scopes }),
});
