import * as oauth from "oauth4webapi";
import { accessToken, parseScopes, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import { AcceptedTokens } from "../verifiers/token-cache.js";
import { shortScope } from "./google-scopes.js";
import { refusedByUpstream, verificationFailure } from "./upstream-failure.js";

export interface GoogleTokenVerifierOptions extends AuthProviderOptions {
  /** The OAuth client id of your Google app: tokens issued to another app (tokeninfo `aud`) are refused. */
  clientId: string;
  /** Default `https://oauth2.googleapis.com/tokeninfo`. */
  tokeninfoUrl?: string | URL;
  /**
   * Where the profile (name, picture) of a token with the `profile` scope is read, added to its
   * claims. Default `https://openidconnect.googleapis.com/v1/userinfo`; null: never read.
   */
  userinfoUrl?: string | URL | null;
  /** Budget of each call to Google. Default 10. */
  timeoutSeconds?: number;
  /**
   * Remember accepted tokens this long (bounded by each token's expiry), sparing a call to Google
   * per request. Off by default: GoogleProvider already remembers its verdicts per grant.
   */
  cacheTtlSeconds?: number;
  /** Default 10,000. */
  maxCacheSize?: number;
  allowInsecureHttp?: boolean;
  /** Told when Google cannot be asked (unreachable, a timeout, a 5xx). Default: stderr. */
  onError?: (error: unknown) => void;
}

const TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo";
const USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo";
const MAX_TOKEN_LENGTH = 4_096;

/**
 * Google's access tokens are opaque: Google's tokeninfo endpoint says whom and what one is for
 * (`GET tokeninfo?access_token=...`). A token is accepted when Google knows it, it was issued to
 * this app (`aud`), and it names a user (`sub`, present when the `openid` scope was granted).
 * Scopes come from tokeninfo under their short names (`email`, `profile`), the expiry from
 * `expires_in`, and the claims are tokeninfo's, plus the userinfo profile for `profile` tokens.
 */
export class GoogleTokenVerifier extends TokenVerifier {
  readonly clientId: string;
  readonly tokeninfoUrl: URL;
  readonly userinfoUrl: URL | undefined;
  private readonly timeoutMs: number;
  private readonly accepted: AcceptedTokens<AccessToken>;
  private readonly onError: (error: unknown) => void;

  constructor(options: GoogleTokenVerifierOptions) {
    super(options);
    if (typeof options?.clientId !== "string" || options.clientId === "") throw new AuthConfigurationError("GoogleTokenVerifier needs clientId: the OAuth client id of your Google app");
    this.clientId = options.clientId;
    const url = (value: string | URL, setting: string) => endpointUrl(value, setting, { allowInsecureHttp: options.allowInsecureHttp ?? false });
    this.tokeninfoUrl = url(options.tokeninfoUrl ?? TOKENINFO_URL, "tokeninfoUrl");
    this.userinfoUrl = options.userinfoUrl === null ? undefined : url(options.userinfoUrl ?? USERINFO_URL, "userinfoUrl");
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.accepted = new AcceptedTokens(options.cacheTtlSeconds ?? 0, options.maxCacheSize);
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const cached = this.accepted.get(token);
    if (cached) return cached;
    let info: Record<string, unknown> | null;
    try {
      info = await this.tokenInfo(token);
    } catch (error) {
      this.onError(verificationFailure("GoogleTokenVerifier", this.tokeninfoUrl, error));
      return null;
    }
    const verified = info && (await this.accept(token, info));
    if (verified) this.accepted.remember(token, verified);
    return verified;
  }

  /** Tokeninfo's answer; null when Google refuses the token (a 4xx: unknown, expired, revoked). Throws when Google fails. */
  private async tokenInfo(token: string): Promise<Record<string, unknown> | null> {
    const url = new URL(this.tokeninfoUrl);
    url.searchParams.set("access_token", token);
    const response = await fetch(url, { headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(this.timeoutMs) });
    if (response.status !== 200) {
      await response.body?.cancel();
      if (response.status >= 400 && response.status < 500) return null;
      throw new Error(`it answered HTTP ${response.status}`);
    }
    const body: unknown = await response.json();
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("its answer is not a JSON object");
    return body as Record<string, unknown>;
  }

  private async accept(token: string, info: Record<string, unknown>): Promise<AccessToken | null> {
    if (info.aud !== this.clientId) return null;
    if (typeof info.sub !== "string" || info.sub === "") return null;
    const expiresIn = numeric(info.expires_in);
    if (expiresIn !== undefined && expiresIn <= 0) return null;
    const expiresAt = expiresIn !== undefined ? Math.floor(Date.now() / 1000) + expiresIn : numeric(info.exp);
    const scopes = parseScopes(info.scope).map(shortScope);
    const profile = scopes.includes("profile") ? await this.profile(token, info.sub) : {};
    return accessToken({
      token,
      clientId: this.clientId,
      scopes,
      subject: info.sub,
      claims: { ...profile, ...tokenInfoClaims(info) },
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  }

  /** The userinfo claims (name, picture...); none when they cannot be read, which does not refuse the token. */
  private async profile(token: string, subject: string): Promise<Record<string, unknown>> {
    if (!this.userinfoUrl) return {};
    const server: oauth.AuthorizationServer = { issuer: this.userinfoUrl.origin, userinfo_endpoint: this.userinfoUrl.href };
    const client: oauth.Client = { client_id: this.clientId };
    try {
      const response = await oauth.userInfoRequest(server, client, token, {
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.userinfoUrl.protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {}),
      });
      return { ...(await oauth.processUserInfoResponse(server, client, subject, response)) };
    } catch (error) {
      if (!refusedByUpstream(error)) this.onError(verificationFailure("GoogleTokenVerifier", this.userinfoUrl, error));
      return {};
    }
  }
}

/** Tokeninfo's fields as claims: numbers and booleans Google sends as strings parsed, the relative `expires_in` left out. */
function tokenInfoClaims(info: Record<string, unknown>): Record<string, unknown> {
  const { expires_in: _relative, ...claims } = info;
  const exp = numeric(info.exp);
  if (exp !== undefined) claims.exp = exp;
  if (typeof info.email_verified === "string") claims.email_verified = info.email_verified === "true";
  return claims;
}

/** A number Google may send as a string (`"3599"`). */
function numeric(value: unknown): number | undefined {
  const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? number : undefined;
}
