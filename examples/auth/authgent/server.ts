/**
 * Authgent as the authorization server, this server as the resource server (the twin of
 * seed-authgent-remote-auth): RemoteAuthProvider fetches Authgent's OAuth metadata, and MCP
 * clients log in there and come back with JWTs this server validates.
 *
 *   AUTHGENT_ISSUER=https://auth.yourcompany.com MCP_AUDIENCE=https://mcp.yourcompany.com \
 *   npx tsx examples/auth/authgent/server.ts
 */
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { FastMCP, getContext } from "fastmcp-ts";
import { RemoteAuthProvider } from "fastmcp-ts/auth";
import { projects } from "./projects.js";

// Authgent's base URL: its OAuth metadata is fetched from here.
const AUTHGENT_ISSUER = process.env.AUTHGENT_ISSUER ?? "https://auth.yourcompany.com";
// The public URL of this server: must match the resource registered in Authgent.
const MCP_AUDIENCE = process.env.MCP_AUDIENCE ?? "https://mcp.yourcompany.com";

const auth = new RemoteAuthProvider({
  // Authgent's discovery endpoint (/.well-known/oauth-authorization-server is fetched from it).
  authorizationServerUrl: AUTHGENT_ISSUER,
  // This server's public URL; tokens must carry its MCP URL (here MCP_AUDIENCE + /mcp) as audience.
  baseUrl: MCP_AUDIENCE,
  // Scopes this MCP server requires for all requests.
  requiredScopes: ["mcp:read"],
  // Inside docker compose the issuer is http://authgent:8080: allow plain http only when told to.
  allowInsecureHttp: process.env.ALLOW_INSECURE_HTTP === "1",
});

export const mcp = new FastMCP({ name: "My MCP Server", auth });

mcp.tool({
  name: "list_projects",
  description: "List all projects. Requires the default mcp:read scope.",
  execute: () => projects.forUser(String(getContext().auth!.claims.sub)),
});

mcp.tool({
  name: "create_project",
  description: "Create a project. Requires mcp:write scope in addition to mcp:read.",
  parameters: z.object({ name: z.string(), description: z.string() }),
  scopes: ["mcp:write"],
  execute: ({ name, description }) => projects.create(String(getContext().auth!.claims.sub), name, description),
});

mcp.tool({
  name: "delete_project",
  description: "Delete a project. Requires admin scope.",
  parameters: z.object({ project_id: z.string() }),
  scopes: ["admin"],
  execute: ({ project_id }) => projects.delete(project_id, String(getContext().auth!.claims.sub)),
});

mcp.tool({
  name: "whoami",
  description: "Return the authenticated user's identity.",
  execute: () => {
    const claims = getContext().auth!.claims;
    return {
      user_id: claims.sub,
      email: claims.email,
      name: claims.name,
      scopes: String(claims.scope ?? "").split(" "),
      issuer: claims.iss,
      audience: claims.aud,
      expires_at: claims.exp,
    };
  },
});

mcp.tool({
  name: "get_user_data",
  description: "Fetch data scoped to the authenticated user.",
  execute: () => projects.userData(String(getContext().auth!.claims.sub)),
});

// HTTP transport for remote MCP clients (Claude Desktop, Cursor...).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mcp.run({ transport: "http", host: "0.0.0.0", port: 8000, path: "/mcp" });
}
