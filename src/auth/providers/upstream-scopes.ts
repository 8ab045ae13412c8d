/** Scopes every upstream sign-in of an OpenID Connect proxy preset asks for: an ID token bound to its nonce. */
export const OPENID = ["openid"] as const;

/** OPENID, and a refresh token, so the proxy renews expired upstream tokens without a new sign-in. */
export const OPENID_OFFLINE = ["openid", "offline_access"] as const;

/** `scopes` with `always` in front of them (those missing), as a preset asks its identity provider. */
export function withUpstreamScopes(scopes: readonly string[], always: readonly string[]): string[] {
  return [...always.filter((scope) => !scopes.includes(scope)), ...scopes];
}
