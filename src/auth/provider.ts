import type { AccessToken } from "./access-token.js";

/**
 * Turns a bearer token into an {@link AccessToken}, or `null` when the token is not acceptable.
 * Implementations never throw for a bad token: a forged, expired or unknown token is `null`.
 */
export interface TokenVerifier {
  verifyToken(token: string): Promise<AccessToken | null>;
  /** Scopes every request must carry, whatever it calls. */
  readonly requiredScopes?: readonly string[];
}

/** Anything that can be passed as `new FastMCP({ auth })`. */
export type AuthProvider = TokenVerifier;
