/**
 * Environment configuration (seed-auth-overview): no auth in the code; the deployment chooses it.
 *
 *   export FASTMCP_SERVER_AUTH=JWT
 *   export FASTMCP_SERVER_AUTH_JWT_JWKS_URI="https://auth.example.com/jwks"
 *   export FASTMCP_SERVER_AUTH_JWT_ISSUER="https://auth.example.com"
 *   export FASTMCP_SERVER_AUTH_JWT_AUDIENCE="mcp-server"
 *   npx fastmcp-ts run examples/auth/env/server.ts --transport http
 */
import { FastMCP } from "fastmcp-ts";

// Authentication is configured from the environment.
export const mcp = new FastMCP({ name: "My Server" });

mcp.tool({ name: "hello", description: "Says hello to the caller", execute: (_args, ctx) => `Hello, ${ctx.auth?.subject ?? "anonymous"}` });
