/**
 * The same Descope server configured entirely from the environment (seed-descope-integration):
 *
 *   FASTMCP_SERVER_AUTH=fastmcp.server.auth.providers.descope.DescopeProvider
 *   FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID=P2abc...123
 *   FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL=https://your-server.com
 *   FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_DESCOPE_BASE_URL=https://api.descope.com
 *
 * Put them in .env next to where you run `npx fastmcp-ts run examples/auth/descope/server-env.ts`.
 */
import { FastMCP } from "fastmcp-ts";

// Authentication is configured from the environment.
export const mcp = new FastMCP({ name: "My Descope Protected Server" });

mcp.tool({ name: "whoami", description: "The Descope user behind the token", execute: (_args, ctx) => ({ user: ctx.auth?.subject }) });
