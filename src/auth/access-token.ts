/**
 * A validated access token: what every token verifier produces and what handlers see as `ctx.auth`.
 * Field names follow the reference implementation (Python FastMCP's `AccessToken`).
 */
export interface AccessToken {
  /** The raw bearer token as presented by the client. Never log it. */
  token: string;
  /** The OAuth client the token was issued to (`client_id`, `azp`, or `sub`). */
  clientId: string;
  /** Granted scopes, parsed from `scope` / `scp`. */
  scopes: string[];
  /** Expiry as seconds since the epoch, when the token carries one. */
  expiresAt?: number;
  /** The RFC 8707 resource (audience) the token is bound to, when known. */
  resource?: string;
  /** The end user the token represents (`sub`), when known. */
  subject?: string;
  /** Every claim the verifier saw: JWT claims, introspection fields, or static data. */
  claims: Record<string, unknown>;
}

/** Parses an OAuth `scope` value (space-delimited string or string list) into a list of scopes. */
export function parseScopes(value: unknown): string[] {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string" && s.length > 0);
  return [];
}
