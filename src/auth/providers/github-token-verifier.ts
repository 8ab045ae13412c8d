import { accessToken, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { endpointUrl } from "../urls.js";
import { AcceptedTokens } from "../verifiers/token-cache.js";
import { verificationFailure } from "./upstream-failure.js";

export interface GitHubTokenVerifierOptions extends AuthProviderOptions {
  /**
   * GitHub's REST API: `https://api.github.com` (the default), `https://HOST/api/v3` for GitHub
   * Enterprise Server, `https://api.SUBDOMAIN.ghe.com` for GitHub Enterprise Cloud with data residency.
   */
  apiUrl?: string | URL;
  /** Budget of each call to GitHub. Default 10. */
  timeoutSeconds?: number;
  /**
   * Remember accepted tokens this long (bounded by the token's expiry when GitHub says it), sparing
   * a call to GitHub, and its rate limit, per request. Default 60; 0 turns the cache off. A token
   * revoked at GitHub is still accepted until its entry expires.
   */
  cacheTtlSeconds?: number;
  /** Most tokens remembered (least recently used out first). Default 10,000. */
  maxCacheSize?: number;
  /** Sent as `User-Agent`, which GitHub's API requires. Default `fastmcp-ts`. */
  userAgent?: string;
  allowInsecureHttp?: boolean;
  /** Told when GitHub cannot be asked (unreachable, a timeout, a 5xx, a rate limit). Default: stderr. */
  onError?: (error: unknown) => void;
}

const API_URL = "https://api.github.com";
const API_VERSION = "2022-11-28";
/** GitHub's tokens are 40 (OAuth) to about 100 characters (fine-grained); anything far longer is not one. */
const MAX_TOKEN_LENGTH = 1_024;

/**
 * GitHub's OAuth and GitHub App user tokens are opaque: a token is accepted when `GET /user` with it
 * answers who it belongs to. The subject is the user's numeric id (stable; the `login` can be
 * renamed), the claims are `sub`, `login`, `name`, `email` (null unless public) and `avatar_url`,
 * and the scopes are those GitHub lists in the `X-OAuth-Scopes` header. A GitHub App's user
 * token has no such header (an app has permissions, not scopes): its scopes are none.
 */
export class GitHubTokenVerifier extends TokenVerifier {
  readonly userUrl: URL;
  private readonly timeoutMs: number;
  private readonly accepted: AcceptedTokens<AccessToken>;
  private readonly userAgent: string;
  private readonly onError: (error: unknown) => void;

  constructor(options: GitHubTokenVerifierOptions = {}) {
    super(options);
    const api = endpointUrl(options.apiUrl ?? API_URL, "apiUrl", { allowInsecureHttp: options.allowInsecureHttp ?? false });
    this.userUrl = new URL(`${api.href.replace(/\/+$/, "")}/user`);
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.accepted = new AcceptedTokens(options.cacheTtlSeconds ?? 60, options.maxCacheSize);
    this.userAgent = options.userAgent ?? "fastmcp-ts";
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const cached = this.accepted.get(token);
    if (cached) return cached;
    let verified: AccessToken | null;
    try {
      verified = await this.askGitHub(token);
    } catch (error) {
      this.onError(verificationFailure("GitHubTokenVerifier", this.userUrl, error));
      return null;
    }
    if (verified) this.accepted.remember(token, verified);
    return verified;
  }

  /** The token as GitHub describes it; null when GitHub refuses it (401: expired, revoked, unknown). Throws when GitHub fails. */
  private async askGitHub(token: string): Promise<AccessToken | null> {
    const response = await fetch(this.userUrl, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/vnd.github+json",
        "x-github-api-version": API_VERSION,
        "user-agent": this.userAgent,
      },
      redirect: "error",
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      // A rate limit says nothing about the token: GitHub could not be asked.
      if (rateLimited(response)) throw new Error(`it answered HTTP ${response.status} (rate limit exceeded)`);
      if (response.status >= 400 && response.status < 500) return null;
      throw new Error(`it answered HTTP ${response.status}`);
    }
    const user: unknown = await response.json();
    if (typeof user !== "object" || user === null || Array.isArray(user)) throw new Error("its answer is not a JSON object");
    return this.accept(token, user as Record<string, unknown>, response.headers);
  }

  private accept(token: string, user: Record<string, unknown>, headers: Headers): AccessToken {
    const { id, login } = user;
    if (!Number.isSafeInteger(id) || typeof login !== "string") throw new Error("its answer has no numeric id and login");
    const subject = String(id);
    const expiresAt = tokenExpiration(headers.get("github-authentication-token-expiration"));
    return accessToken({
      token,
      // /user does not say which app the token was issued to; the reference names the user.
      clientId: subject,
      scopes: oauthScopes(headers.get("x-oauth-scopes")),
      subject,
      claims: {
        sub: subject,
        login,
        name: typeof user.name === "string" ? user.name : null,
        email: typeof user.email === "string" ? user.email : null,
        avatar_url: typeof user.avatar_url === "string" ? user.avatar_url : null,
      },
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  }
}

/** `X-OAuth-Scopes: repo, user`: comma-separated. Absent for GitHub App user tokens and fine-grained tokens: none. */
export function oauthScopes(header: string | null): string[] {
  return (header ?? "").split(",").map((scope) => scope.trim()).filter(Boolean);
}

/** A 403 or 429 with the rate limit spent, or a secondary limit's `Retry-After`. */
function rateLimited(response: Response): boolean {
  if (response.status !== 403 && response.status !== 429) return false;
  return response.headers.get("x-ratelimit-remaining") === "0" || response.headers.has("retry-after");
}

/** `GitHub-Authentication-Token-Expiration: 2026-06-01 16:59:59 UTC` (or `+0200`) as seconds since the epoch. */
function tokenExpiration(header: string | null): number | undefined {
  const parts = header && /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (UTC|[+-]\d{2}:?\d{2})$/.exec(header.trim());
  if (!parts) return undefined;
  const zone = parts[3] === "UTC" ? "Z" : parts[3]!.replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
  const ms = Date.parse(`${parts[1]}T${parts[2]}${zone}`);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}
