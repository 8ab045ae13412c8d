import { accessToken, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import { AcceptedTokens } from "../verifiers/token-cache.js";
import { verificationFailure } from "./upstream-failure.js";

export interface DiscordTokenVerifierOptions extends AuthProviderOptions {
  /** The client id (application id) of your Discord app: tokens issued to another application are refused. */
  expectedClientId: string;
  /** Discord's "current authorization information" endpoint. Default `https://discord.com/api/oauth2/@me`. */
  currentAuthorizationUrl?: string | URL;
  /** Budget of each call to Discord. Default 10. */
  timeoutSeconds?: number;
  /** Remember accepted tokens this long (bounded by each token's expiry). Default 60; 0 turns it off. */
  cacheTtlSeconds?: number;
  /** Default 10,000. */
  maxCacheSize?: number;
  allowInsecureHttp?: boolean;
  /** Told when Discord cannot be asked (unreachable, a timeout, a 5xx, an answer of another shape). Default: stderr. */
  onError?: (error: unknown) => void;
}

export const DISCORD_CURRENT_AUTHORIZATION_URL = "https://discord.com/api/oauth2/@me";
const MAX_TOKEN_LENGTH = 4_096;
/** The fields of Discord's user object that become claims (`sub` is its `id`). */
const USER_CLAIMS = ["username", "global_name", "discriminator", "avatar", "email", "verified", "locale"] as const;

/**
 * Discord's access tokens are opaque: `GET /api/oauth2/@me` with the token says which
 * application it was issued to, its scopes, when it expires and (with the `identify` scope) who
 * authorized it. A token is accepted when Discord knows it, it belongs to this application
 * (`application.id`: a token another Discord app obtained is no key to this server), it has not
 * expired and it names a user. Claims are the user's (`sub` = the user id).
 */
export class DiscordTokenVerifier extends TokenVerifier {
  readonly expectedClientId: string;
  readonly currentAuthorizationUrl: URL;
  private readonly timeoutMs: number;
  private readonly accepted: AcceptedTokens<AccessToken>;
  private readonly onError: (error: unknown) => void;

  constructor(options: DiscordTokenVerifierOptions) {
    super(options);
    if (typeof options?.expectedClientId !== "string" || options.expectedClientId === "") {
      throw new AuthConfigurationError("DiscordTokenVerifier needs expectedClientId: the client id of your Discord application");
    }
    this.expectedClientId = options.expectedClientId;
    this.currentAuthorizationUrl = endpointUrl(options.currentAuthorizationUrl ?? DISCORD_CURRENT_AUTHORIZATION_URL, "currentAuthorizationUrl", { allowInsecureHttp: options.allowInsecureHttp ?? false });
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.accepted = new AcceptedTokens(options.cacheTtlSeconds ?? 60, options.maxCacheSize);
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const cached = this.accepted.get(token);
    if (cached) return cached;
    let verified: AccessToken | null;
    try {
      const authorization = await this.currentAuthorization(token);
      verified = authorization && this.accept(token, authorization);
    } catch (error) {
      this.onError(verificationFailure("DiscordTokenVerifier", this.currentAuthorizationUrl, error));
      return null;
    }
    if (verified) this.accepted.remember(token, verified);
    return verified;
  }

  /** Discord's answer; null when it refuses the token (a 4xx: unknown, expired, revoked). Throws when Discord fails. */
  private async currentAuthorization(token: string): Promise<Record<string, unknown> | null> {
    const response = await fetch(this.currentAuthorizationUrl, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      if (response.status >= 400 && response.status < 500) return null;
      throw new Error(`it answered HTTP ${response.status}`);
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!isObject(body)) throw new Error("its answer is not a JSON object");
    return body;
  }

  /** The token, when Discord's answer says it is this application's, unexpired and a user's; throws on an answer of another shape. */
  private accept(token: string, authorization: Record<string, unknown>): AccessToken | null {
    const { application, user, scopes } = authorization;
    const expiresAtMs = typeof authorization.expires === "string" ? Date.parse(authorization.expires) : Number.NaN;
    if (!isObject(application) || !Array.isArray(scopes) || Number.isNaN(expiresAtMs)) throw new Error("its answer lacks application, scopes or expires");
    if (application.id !== this.expectedClientId) return null;
    if (expiresAtMs <= Date.now()) return null;
    // Without the identify scope Discord does not say who authorized: nothing to sign anyone in as.
    if (!isObject(user) || typeof user.id !== "string" || user.id === "") return null;
    const claims: Record<string, unknown> = { sub: user.id };
    for (const name of USER_CLAIMS) if (user[name] !== undefined) claims[name] = user[name];
    return accessToken({
      token,
      clientId: this.expectedClientId,
      scopes: scopes.filter((scope): scope is string => typeof scope === "string"),
      subject: user.id,
      expiresAt: Math.floor(expiresAtMs / 1000),
      claims,
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
