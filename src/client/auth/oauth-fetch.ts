import type { AuthorizationServerMetadata, FetchLike } from "@modelcontextprotocol/client";
import { networkReason as reasonOfCode } from "../network-errors.js";

/** fetch for the OAuth requests, remembering the URL it last asked for (to say which document was broken). */
export type OAuthFetch = FetchLike & { lastUrl?: string };

/** A network failure of an OAuth request: still a TypeError (what the SDK tells those by), now naming the URL. */
export class OAuthRequestFailed extends TypeError {
  readonly url: string;
  readonly reason: string;

  constructor(url: string, cause: unknown) {
    const reason = networkReason(cause);
    super(`Could not reach ${url}: ${reason}`, { cause });
    this.url = url;
    this.reason = reason;
  }
}

/**
 * `fetchFn` (or the global fetch) for the OAuth requests. Network failures name the URL, and the
 * responses are instances of the global Response in place now: the SDK reads an OAuth error body
 * only from those (`instanceof Response`), and a Hono server in the same process
 * (@hono/node-server swaps in its own global Response) would otherwise make every token error
 * unreadable ("[object Response] is not valid JSON"): a refused refresh token or a forgotten
 * client then goes unrecognised.
 */
export function oauthFetch(fetchFn: FetchLike | undefined): OAuthFetch {
  const wrapped: OAuthFetch = async (input, init) => {
    const url = input instanceof URL ? input.href : String(input);
    wrapped.lastUrl = url;
    let response: Response;
    try {
      response = await (fetchFn ?? fetch)(input, init);
    } catch (error) {
      throw error instanceof TypeError ? new OAuthRequestFailed(url, error) : error;
    }
    if (isGlobalResponse(response)) return response;
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return wrapped;
}

/** The request failure behind an error, if one of its causes is one. */
export function requestFailureIn(error: unknown): OAuthRequestFailed | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof OAuthRequestFailed) return current;
  }
  return undefined;
}

/**
 * What an OAuth request to `url` was for: a metadata document (by its well-known path), else the
 * endpoint of the authorization server's metadata it is.
 */
export function purposeOf(url: string, metadata: AuthorizationServerMetadata | undefined): string {
  const path = new URL(url).pathname;
  if (path.includes("/.well-known/oauth-protected-resource")) return "the protected resource metadata";
  if (path.includes("/.well-known/oauth-authorization-server") || path.includes("/.well-known/openid-configuration")) return "the authorization server metadata";
  const named = metadata as Record<string, unknown> | undefined;
  for (const [field, purpose] of ENDPOINTS) {
    if (typeof named?.[field] === "string" && withoutQuery(named[field]) === withoutQuery(url)) return purpose;
  }
  return "the authorization server";
}

const ENDPOINTS = [
  ["registration_endpoint", "the registration endpoint"],
  ["token_endpoint", "the token endpoint"],
  ["authorization_endpoint", "the authorization endpoint"],
  ["revocation_endpoint", "the revocation endpoint"],
] as const;

/** fetch's TypeError in a few words: its cause's code where it has one. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = cause?.code;
  if (typeof code === "string") return reasonOfCode(code) ?? code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/** Not a type guard: a Response-typed value may still be of another class. */
function isGlobalResponse(value: unknown): boolean {
  return value instanceof Response;
}
