import { DownstreamTokenError, type DownstreamTokenRequest } from "../downstream.js";
import { UpstreamError, type UpstreamServer, type UpstreamTokens } from "./upstream.js";

/**
 * How the proxy gets a token for another API on a signed-in user's behalf:
 * - `token-exchange`: RFC 8693 at the upstream's token endpoint, the user's upstream access
 *   token as the subject (Keycloak, Okta, Auth0 and others);
 * - `on-behalf-of`: Microsoft Entra's On-Behalf-Of flow (the jwt-bearer grant with
 *   `requested_token_use=on_behalf_of`);
 * - `upstream-token`: the user's upstream access token itself, for providers without an exchange
 *   (GitHub, Discord): the API must accept the identity provider's own token.
 */
export type DownstreamGrant = "token-exchange" | "on-behalf-of" | "upstream-token";

export interface DownstreamTokenOptions {
  grant: DownstreamGrant;
  /** Where exchanges go, when not the upstream's token endpoint (a separate security token service). */
  tokenEndpoint?: URL;
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** A token is handed out until this long before it expires, so it still works when the API gets it. */
const EXPIRY_MARGIN_MS = 60_000;
/** How long a token whose expiry the identity provider did not state is reused. */
const UNSTATED_LIFETIME_MS = 60_000;
const MAX_CACHED = 10_000;

interface Cached {
  token: string;
  until: number;
}

/**
 * Downstream tokens per grant, cached per (grant, audience, resource, scopes) until shortly before
 * they expire, and asked for once when concurrent tool calls need the same one. Tokens are never
 * logged; failures become {@link DownstreamTokenError}s a tool can turn into a message.
 */
export class DownstreamTokens {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly upstream: UpstreamServer, private readonly options: DownstreamTokenOptions) {}

  /** A token for `request`, with `subject` (the user's current upstream tokens) as the identity. */
  async token(grantId: string, subject: UpstreamTokens, request: DownstreamTokenRequest): Promise<string> {
    if (this.options.grant === "upstream-token") return this.upstreamToken(subject, request);
    const key = cacheKey(grantId, request);
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) return cached.token;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.exchange(subject, request).then((tokens) => this.remember(key, tokens)).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  /** Forgets the grant's tokens (it was revoked). */
  forget(grantId: string): void {
    const prefix = `${grantId}\u0000`;
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) this.cache.delete(key);
  }

  private upstreamToken(subject: UpstreamTokens, request: DownstreamTokenRequest): string {
    if (request.audience !== undefined || request.resource !== undefined) {
      throw new DownstreamTokenError("not_supported", "This identity provider cannot issue tokens for another API: only its own access token is available (ask without audience or resource)");
    }
    // Unknown when the provider did not say (GitHub Apps grant permissions, not scopes); GitHub's OAuth Apps separate with commas.
    const granted = subject.scope ? subject.scope.split(/[\s,]+/).filter(Boolean) : undefined;
    const missing = granted === undefined ? [] : (request.scopes ?? []).filter((scope) => !granted.includes(scope));
    if (missing.length > 0) throw new DownstreamTokenError("refused", `The sign-in did not grant ${missing.join(" ")}: the user must sign in again with it`);
    return subject.accessToken;
  }

  private async exchange(subject: UpstreamTokens, request: DownstreamTokenRequest): Promise<UpstreamTokens> {
    const asked: Record<string, string> = {};
    if (request.scopes?.length) asked.scope = request.scopes.join(" ");
    if (request.audience !== undefined) asked.audience = request.audience;
    if (request.resource !== undefined) asked.resource = request.resource;
    const [grantType, parameters]: [string, Record<string, string>] = this.options.grant === "on-behalf-of"
      ? [JWT_BEARER, { assertion: subject.accessToken, requested_token_use: "on_behalf_of", ...asked }]
      : [TOKEN_EXCHANGE, { subject_token: subject.accessToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, ...asked }];
    try {
      return await this.upstream.grant(grantType, parameters, this.options.tokenEndpoint);
    } catch (error) {
      if (error instanceof UpstreamError && error.kind === "refused") {
        throw new DownstreamTokenError("refused", "The identity provider refused a token for this API on the user's behalf (the API, its scopes or this user are not allowed)", { cause: error });
      }
      throw new DownstreamTokenError("unavailable", "The identity provider could not be reached for a token on the user's behalf; try again shortly", { cause: error });
    }
  }

  private remember(key: string, tokens: UpstreamTokens): string {
    const until = tokens.expiresAt === undefined ? Date.now() + UNSTATED_LIFETIME_MS : tokens.expiresAt - EXPIRY_MARGIN_MS;
    if (until > Date.now()) {
      this.cache.delete(key);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { token: tokens.accessToken, until });
    }
    return tokens.accessToken;
  }
}

function cacheKey(grantId: string, request: DownstreamTokenRequest): string {
  const scopes = [...new Set(request.scopes ?? [])].sort().join(" ");
  return [grantId, request.audience ?? "", request.resource ?? "", scopes].join("\u0000");
}
