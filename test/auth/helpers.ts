import type { FastMCP, RunningServer } from "fastmcp-ts";
import { JWTKeyPair, JWTVerifier, RemoteAuthProvider, type CreateTokenOptions } from "fastmcp-ts/auth";
import { freePort } from "../helpers/ports.js";
export { freePort };

export const ISSUER = "https://idp.test";


/** A RemoteAuthProvider trusting tokens signed by `keys`, for a server at `baseUrl`. */
export function remoteAuth(keys: JWTKeyPair, baseUrl: string, requiredScopes: string[] = ["mcp:read"]): RemoteAuthProvider {
  return new RemoteAuthProvider({
    tokenVerifier: new JWTVerifier({ publicKey: keys.publicKey, issuer: ISSUER, baseUrl }),
    authorizationServers: [ISSUER],
    baseUrl,
    requiredScopes,
  });
}

/** A token for the server at `resource` with `scopes`. */
export function tokenFor(keys: JWTKeyPair, resource: string, scopes: string[], extra: CreateTokenOptions = {}): Promise<string> {
  return keys.createToken({ issuer: ISSUER, audience: resource, scopes, subject: "alice", additionalClaims: { client_id: "test-client" }, ...extra });
}

export async function serve(mcp: FastMCP, port: number, options: Parameters<FastMCP["run"]>[0] = {}): Promise<RunningServer> {
  return mcp.run({ transport: "http", port, banner: false, handleSignals: false, ...options });
}
