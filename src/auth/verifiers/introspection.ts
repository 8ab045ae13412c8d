import * as oauth from "oauth4webapi";
import { accessToken, clientIdFromClaims, parseScopes, type AccessToken, type AccessTokenInit } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { required, variableName, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, endpointUrl, isLoopbackUrl } from "../urls.js";
import { VerifiedTokenCache } from "./token-cache.js";
import { reportToStderr } from "../report.js";

export interface IntrospectionTokenVerifierOptions extends AuthProviderOptions {
  /** The authorization server's RFC 7662 endpoint. */
  introspectionUrl?: string | URL;
  /** This server's credentials at the authorization server. */
  clientId?: string;
  clientSecret?: string;
  /** How to present them. Default client_secret_basic. */
  clientAuthMethod?: "client_secret_basic" | "client_secret_post";
  /** Default 10. */
  timeoutSeconds?: number;
  /** Accepted `aud` values, when the server returns one (recommended). */
  audience?: string | readonly string[];
  /**
   * Remember active tokens this long (bounded by each token's `exp`), to spare a round trip per
   * request. Off by default: a revoked token then stays valid here until its entry expires.
   * Inactive results and failures are never cached.
   */
  cacheTtlSeconds?: number;
  /** Default 10,000. */
  maxCacheSize?: number;
  allowInsecureHttp?: boolean;
  onError?: (error: unknown) => void;
}

const INTROSPECTION_SETTINGS: SettingSpec<IntrospectionTokenVerifierOptions> = {
  introspectionUrl: { env: "INTROSPECTION_URL", kind: "string" },
  clientId: { env: "CLIENT_ID", kind: "string" },
  clientSecret: { env: "CLIENT_SECRET", kind: "string" },
  clientAuthMethod: { env: "CLIENT_AUTH_METHOD", kind: "string" },
  timeoutSeconds: { env: "TIMEOUT_SECONDS", kind: "number" },
  audience: { env: "AUDIENCE", kind: "list" },
  cacheTtlSeconds: { env: "CACHE_TTL_SECONDS", kind: "number" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  baseUrl: { env: "BASE_URL", kind: "string" },
};

/** Validates opaque tokens by asking the authorization server (RFC 7662 token introspection). */
export class IntrospectionTokenVerifier extends TokenVerifier {
  private readonly server: oauth.AuthorizationServer;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;
  private readonly timeoutMs: number;
  private readonly audience: readonly string[] | undefined;
  private readonly cacheTtlMs: number;
  private readonly cache: VerifiedTokenCache<AccessToken>;
  private readonly insecure: boolean;
  private readonly onError: (error: unknown) => void;

  /**
   * Options left out come from FASTMCP_SERVER_AUTH_INTROSPECTION_* (explicit arguments win); a
   * provider that builds its own verifier passes `envPrefix: null`.
   */
  constructor(options: IntrospectionTokenVerifierOptions = {}, envPrefix: "INTROSPECTION" | null = "INTROSPECTION") {
    super((options = envPrefix === null ? options : withEnvironmentDefaults(envPrefix, options, INTROSPECTION_SETTINGS)));
    const owner = "IntrospectionTokenVerifier";
    const url = endpointUrl(required(options.introspectionUrl, "introspectionUrl", "INTROSPECTION", "INTROSPECTION_URL", owner), "introspectionUrl", options);
    const clientId = required(options.clientId, "clientId", "INTROSPECTION", "CLIENT_ID", owner);
    const clientSecret = required(options.clientSecret, "clientSecret", "INTROSPECTION", "CLIENT_SECRET", owner);
    this.server = { issuer: url.origin, introspection_endpoint: url.href };
    this.client = { client_id: clientId };
    const method = options.clientAuthMethod ?? "client_secret_basic";
    if (method !== "client_secret_basic" && method !== "client_secret_post") {
      throw new AuthConfigurationError(`${owner} clientAuthMethod must be client_secret_basic or client_secret_post (${variableName("INTROSPECTION", "CLIENT_AUTH_METHOD")}), got ${JSON.stringify(method)}`);
    }
    this.clientAuth = method === "client_secret_post"
      ? oauth.ClientSecretPost(clientSecret)
      : oauth.ClientSecretBasic(clientSecret);
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.audience = options.audience === undefined ? undefined : typeof options.audience === "string" ? [options.audience] : options.audience;
    this.cacheTtlMs = (options.cacheTtlSeconds ?? 0) * 1000;
    this.cache = new VerifiedTokenCache(this.cacheTtlMs > 0 ? (options.maxCacheSize ?? 10_000) : 0);
    this.insecure = url.protocol === "http:" && (isLoopbackUrl(url) || options.allowInsecureHttp === true);
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > 16_384) return null;
    const cached = this.cache.get(token);
    if (cached) return cached;
    let result: oauth.IntrospectionResponse;
    try {
      const response = await oauth.introspectionRequest(this.server, this.client, this.clientAuth, token, {
        additionalParameters: { token_type_hint: "access_token" },
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.insecure ? { [oauth.allowInsecureRequests]: true } : {}),
      });
      result = await oauth.processIntrospectionResponse(this.server, this.client, response);
    } catch (error) {
      if (!(error instanceof oauth.ResponseBodyError)) this.onError(error);
      return null;
    }
    const verified = this.accept(token, result);
    if (verified && this.cacheTtlMs > 0) {
      const expiresAtMs = Math.min(Date.now() + this.cacheTtlMs, verified.expiresAt !== undefined ? verified.expiresAt * 1000 : Number.POSITIVE_INFINITY);
      this.cache.set(token, verified, expiresAtMs);
    }
    return verified;
  }

  private accept(token: string, result: oauth.IntrospectionResponse): AccessToken | null {
    if (result.active !== true) return null;
    const now = Date.now() / 1000;
    if (typeof result.exp === "number" && result.exp <= now) return null;
    if (typeof result.nbf === "number" && result.nbf > now) return null;
    if (this.audience && !audienceMatches(result.aud, this.audience)) return null;
    const claims = { ...result } as Record<string, unknown>;
    const fields: AccessTokenInit = { token, clientId: clientIdFromClaims(claims), scopes: parseScopes(result.scope), claims };
    if (typeof result.exp === "number") fields.expiresAt = result.exp;
    if (typeof result.sub === "string") fields.subject = result.sub;
    if (typeof result.aud === "string") fields.resource = result.aud;
    return accessToken(fields);
  }
}

function audienceMatches(aud: string | string[] | undefined, accepted: readonly string[]): boolean {
  if (aud === undefined) return false;
  return (typeof aud === "string" ? [aud] : aud).some((value) => accepted.includes(value));
}
