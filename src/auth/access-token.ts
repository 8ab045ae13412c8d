/**
 * A validated access token: what every token verifier produces and what handlers see as `ctx.auth`.
 * Field names follow the reference implementation (Python FastMCP's `AccessToken`). Verifiers
 * return it frozen: one token object may serve many requests.
 */
export interface AccessToken {
  /** The raw bearer token as presented by the client. Never log it. */
  readonly token: string;
  /** The OAuth client the token was issued to (`client_id`, `azp`, or `sub`). */
  readonly clientId: string;
  /** Granted scopes, parsed from `scope` / `scp`. */
  readonly scopes: readonly string[];
  /** Expiry as seconds since the epoch, when the token carries one. */
  readonly expiresAt?: number;
  /** The RFC 8707 resource (audience) the token is bound to, when known. */
  readonly resource?: string;
  /** The end user the token represents (`sub`), when known. */
  readonly subject?: string;
  /** Every claim the verifier saw: JWT claims, introspection fields, or static data. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Which of a MultiAuth's sources accepted the token (its `clientId` is then `<source>:<client id>`). */
  readonly source?: string;
}

/** The fields of an AccessToken while it is being built. */
export type AccessTokenInit = { -readonly [K in keyof AccessToken]: AccessToken[K] };

/** Parses an OAuth `scope` value (space-delimited string or string list) into a list of scopes. */
export function parseScopes(value: unknown): string[] {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string" && s.length > 0);
  return [];
}

/** Scopes from token claims: `scope` (string or list), else `scp` (Azure, Okta). */
export function scopesFromClaims(claims: Record<string, unknown>): string[] {
  return claims.scope !== undefined ? parseScopes(claims.scope) : parseScopes(claims.scp);
}

/** The client a token was issued to: `client_id`, then `azp`, then `sub`. */
export function clientIdFromClaims(claims: Record<string, unknown>): string {
  for (const key of ["client_id", "azp", "sub"]) {
    const value = claims[key];
    if (typeof value === "string" && value) return value;
  }
  return "unknown";
}

/** Builds an AccessToken and freezes it (claims included) so no handler can alter a shared one. */
export function accessToken(fields: AccessTokenInit): AccessToken {
  const token: AccessTokenInit = {
    token: fields.token,
    clientId: fields.clientId,
    scopes: Object.freeze([...fields.scopes]),
    claims: deepFreeze({ ...fields.claims }),
  };
  if (fields.expiresAt !== undefined) token.expiresAt = fields.expiresAt;
  if (fields.resource !== undefined) token.resource = fields.resource;
  if (fields.subject !== undefined) token.subject = fields.subject;
  if (fields.source !== undefined) token.source = fields.source;
  return Object.freeze(token);
}

/** Whether `token` holds every scope in `scopes`. */
export function hasScopes(token: AccessToken | undefined, scopes: readonly string[]): boolean {
  if (scopes.length === 0) return true;
  if (!token) return false;
  return scopes.every((scope) => token.scopes.includes(scope));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
