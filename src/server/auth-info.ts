import type { AuthInfo } from "@modelcontextprotocol/server";
import { accessToken, type AccessToken, type AccessTokenInit } from "../auth/access-token.js";

const ACCESS_TOKEN = Symbol("fastmcp.accessToken");

type CarryingAuthInfo = AuthInfo & { [ACCESS_TOKEN]?: AccessToken };

/** Wraps our AccessToken in the SDK's AuthInfo so it rides through SDK transports to our handlers. */
export function toAuthInfo(token: AccessToken): AuthInfo {
  const info: CarryingAuthInfo = { token: token.token, clientId: token.clientId, scopes: [...token.scopes], extra: { ...token.claims } };
  if (token.expiresAt !== undefined) info.expiresAt = token.expiresAt;
  info[ACCESS_TOKEN] = token;
  return info;
}

/** Recovers the AccessToken from an SDK AuthInfo (ours, or one built by other SDK middleware). */
export function fromAuthInfo(info: AuthInfo | undefined): AccessToken | undefined {
  if (!info) return undefined;
  const carried = (info as CarryingAuthInfo)[ACCESS_TOKEN];
  if (carried) return carried;
  const token: AccessTokenInit = { token: info.token, clientId: info.clientId, scopes: info.scopes, claims: { ...(info.extra ?? {}) } };
  if (info.expiresAt !== undefined) token.expiresAt = info.expiresAt;
  if (info.resource !== undefined) token.resource = info.resource.href;
  return accessToken(token);
}
