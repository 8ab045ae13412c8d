import { FastMCPError } from "../errors.js";
import type { AccessToken } from "./access-token.js";

/** What a tool asks for: a token for another API, on behalf of the caller. */
export interface DownstreamTokenRequest {
  /** The API's identifier at the identity provider (RFC 8693 `audience`). */
  audience?: string;
  /** The API's URL (RFC 8707 `resource`). */
  resource?: string;
  /** The scopes the token must carry, in the identity provider's names (`https://graph.microsoft.com/User.Read`). */
  scopes?: readonly string[];
}

/**
 * Why no downstream token came: `not_signed_in` (the request carries no token of a sign-in that
 * has one), `not_supported` (the server's auth cannot get such tokens, or not for this request),
 * `refused` (the identity provider said no: the API, scope or user is not allowed), `unavailable`
 * (the identity provider could not be reached; trying again later may work). The message is
 * meant for the tool's caller and never holds a token.
 */
export class DownstreamTokenError extends FastMCPError {
  override name = "DownstreamTokenError";
  constructor(readonly code: "not_signed_in" | "not_supported" | "refused" | "unavailable", message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An auth provider that can get downstream tokens for the callers it authenticated. */
export interface DownstreamTokenSource {
  downstreamToken(auth: AccessToken | undefined, request?: DownstreamTokenRequest): Promise<string>;
}

export function isDownstreamTokenSource(provider: unknown): provider is DownstreamTokenSource {
  return typeof (provider as Partial<DownstreamTokenSource> | undefined)?.downstreamToken === "function";
}
