/**
 * Descope as the identity provider (the twin of seed-descope-integration): Descope handles
 * login and dynamic client registration; DescopeProvider validates its tokens and forwards its
 * OAuth metadata to MCP clients.
 *
 *   DESCOPE_PROJECT_ID=P2abc...123 DESCOPE_BASE_URL=https://api.descope.com SERVER_URL=http://localhost:8000 \
 *   npx fastmcp-ts run examples/auth/descope/server.ts --transport http --port 8000
 */
import { FastMCP } from "fastmcp-ts";
import { DescopeProvider } from "fastmcp-ts/auth/providers/descope";

const DESCOPE_PROJECT_ID = process.env.DESCOPE_PROJECT_ID ?? "P2abc123";
const DESCOPE_BASE_URL = process.env.DESCOPE_BASE_URL ?? "https://api.descope.com";
const SERVER_URL = process.env.SERVER_URL ?? "http://localhost:3000";

// The DescopeProvider derives Descope's endpoints and configures JWT validation.
const authProvider = new DescopeProvider({
  projectId: DESCOPE_PROJECT_ID, // Your Descope Project ID
  baseUrl: SERVER_URL, // Your server's public URL
  descopeBaseUrl: DESCOPE_BASE_URL, // Descope API base URL
});

// Create the FastMCP server with auth.
export const mcp = new FastMCP({ name: "My Descope Protected Server", auth: authProvider });

mcp.tool({ name: "whoami", description: "The Descope user behind the token", execute: (_args, ctx) => ({ user: ctx.auth?.subject, scopes: ctx.auth?.scopes }) });
