import { FastMCPError } from "../../errors.js";

/** RFC 6749 §4.1.2.1 / §5.2, RFC 7591 §3.2.2, RFC 8707 and RFC 7009 error codes. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  | "invalid_target"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "unsupported_token_type";

/**
 * An OAuth error a provider or an endpoint answers with. The description is shown to the client
 * (and on error pages): it must never contain a token, code or secret.
 */
export class OAuthError extends FastMCPError {
  override name = "OAuthError";
  constructor(readonly error: OAuthErrorCode, readonly description: string) {
    super(`${error}: ${description}`);
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * A refusal because a limit was reached (too many registrations, from one address or in all):
 * answered 429 with a Retry-After header.
 */
export class OAuthLimitError extends OAuthError {
  override name = "OAuthLimitError";
  constructor(description: string, readonly retryAfterSeconds: number) {
    super("temporarily_unavailable", description);
  }
}
