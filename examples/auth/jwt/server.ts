/**
 * Token validation (the "TokenVerifier" tier of seed-auth-overview): this server trusts JWTs
 * signed by your existing auth system and checks their issuer and audience.
 *
 *   JWKS_URI=https://your-auth-system.com/.well-known/jwks.json \
 *   ISSUER=https://your-auth-system.com AUDIENCE=your-mcp-server \
 *   npx fastmcp-ts run examples/auth/jwt/server.ts --transport http
 */
import { FastMCP } from "fastmcp-ts";
import { JWTVerifier } from "fastmcp-ts/auth";

const auth = new JWTVerifier({
  jwksUri: process.env.JWKS_URI ?? "https://your-auth-system.com/.well-known/jwks.json",
  issuer: process.env.ISSUER ?? "https://your-auth-system.com",
  audience: process.env.AUDIENCE ?? "your-mcp-server",
});

export const mcp = new FastMCP({ name: "Protected Server", auth });

mcp.tool({
  name: "whoami",
  description: "Who the token says you are",
  execute: (_args, ctx) => ({ subject: ctx.auth?.subject, client: ctx.auth?.clientId, scopes: ctx.auth?.scopes }),
});
