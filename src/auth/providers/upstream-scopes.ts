/** Scopes every upstream sign-in of an OpenID Connect proxy preset asks for: an ID token bound to its nonce. */
export const OPENID = ["openid"] as const;

/** OPENID, and a refresh token, so the proxy renews expired upstream tokens without a new sign-in. */
export const OPENID_OFFLINE = ["openid", "offline_access"] as const;

