import * as oauth from "oauth4webapi";

/**
 * Whether a failed call to an identity provider's verification endpoint means it refused the
 * token (a 4xx: expired, revoked, not its token), as opposed to failing itself (unreachable, a
 * timeout, a 5xx, an answer that is not what it should be), which the operator must hear about.
 */
export function refusedByUpstream(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500;
}

/** The HTTP status of an oauth4webapi failure, when it came from an answer. */
function statusOf(error: unknown): number | undefined {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) return error.status;
  if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response) return error.cause.status;
  return undefined;
}

/** An upstream failure as reported to `onError`: what was called and why it failed, never the token. */
export function verificationFailure(owner: string, endpoint: URL, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`${owner}: ${endpoint.origin}${endpoint.pathname} could not verify a token: ${reason}`, { cause: error });
}
