import { randomBytes } from "node:crypto";
import { accessToken, type AccessToken } from "../access-token.js";
import { OAuthError } from "./errors.js";
import { OAuthProvider, type OAuthProviderOptions } from "./provider.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken } from "./types.js";

export interface InMemoryOAuthProviderOptions extends OAuthProviderOptions {
  /** Access token lifetime. Default 3600 s. */
  accessTokenTtlSeconds?: number;
  /** Authorization code lifetime. Default 300 s. */
  authorizationCodeTtlSeconds?: number;
  /** How long a rotated refresh token still answers (with the same new tokens) for a retried request. Default 10 s. */
  refreshTokenGraceSeconds?: number;
  /** The `sub` of every token: the user who "approved". Default `test-user`. */
  subject?: string;
}

interface Grant {
  id: string;
  accessTokens: Set<string>;
  refreshTokens: Set<string>;
}

interface StoredRefreshToken {
  token: RefreshToken;
  grant: Grant;
  /** Set once used: the answer a retry within the grace window gets again. */
  rotated?: { until: number; response: OAuthTokenResponse };
}

/**
 * An authorization server for tests and development: everything in memory, every request approved
 * at once (no login, no consent), opaque random tokens. The reference's `InMemoryOAuthProvider`.
 * Nothing survives a restart; use LocalOAuthProvider for a server people log in to.
 */
export class InMemoryOAuthProvider extends OAuthProvider {
  readonly clients = new Map<string, OAuthClientInformation>();
  private readonly codes = new Map<string, { code: AuthorizationCode; grant: Grant }>();
  /** Redeemed codes and the grant they started: a second redemption revokes it (RFC 6749 §4.1.2). */
  private readonly redeemed = new Map<string, { grant: Grant; until: number }>();
  private readonly accessTokens = new Map<string, { token: AccessToken; grant: Grant }>();
  private readonly refreshTokens = new Map<string, StoredRefreshToken>();
  private readonly accessTtl: number;
  private readonly codeTtl: number;
  private readonly graceSeconds: number;
  private readonly subject: string;

  constructor(options: InMemoryOAuthProviderOptions = {}) {
    super(options);
    this.accessTtl = options.accessTokenTtlSeconds ?? 3600;
    this.codeTtl = options.authorizationCodeTtlSeconds ?? 300;
    this.graceSeconds = options.refreshTokenGraceSeconds ?? 10;
    this.subject = options.subject ?? "test-user";
  }

  async getClient(clientId: string): Promise<OAuthClientInformation | undefined> {
    return this.clients.get(clientId);
  }

  async registerClient(client: OAuthClientInformation): Promise<void> {
    this.clients.set(client.client_id, client);
  }

  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const code = `test_auth_code_${randomBytes(16).toString("hex")}`;
    this.codes.set(code, {
      grant: { id: randomBytes(8).toString("hex"), accessTokens: new Set(), refreshTokens: new Set() },
      code: {
        code,
        clientId: client.client_id,
        scopes: params.scopes,
        expiresAt: now() + this.codeTtl,
        codeChallenge: params.codeChallenge,
        redirectUri: params.redirectUri,
        redirectUriProvidedExplicitly: params.redirectUriProvidedExplicitly,
        resource: params.resource,
        subject: this.subject,
      },
    });
    return this.authorizationRedirect(params, { code });
  }

  async loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<AuthorizationCode | undefined> {
    const used = this.redeemed.get(code);
    if (used) {
      this.redeemed.delete(code);
      if (used.until > now()) this.revokeGrant(used.grant);
      return undefined;
    }
    const entry = this.codes.get(code);
    return entry && entry.code.clientId === client.client_id ? entry.code : undefined;
  }

  async exchangeAuthorizationCode(client: OAuthClientInformation, code: AuthorizationCode): Promise<OAuthTokenResponse> {
    const entry = this.codes.get(code.code);
    if (!entry) {
      // Redeemed by a concurrent request since it was loaded: a second use like any replay.
      const used = this.redeemed.get(code.code);
      this.redeemed.delete(code.code);
      if (used) this.revokeGrant(used.grant);
      throw new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client");
    }
    this.codes.delete(code.code);
    this.redeemed.set(code.code, { grant: entry.grant, until: now() + this.accessTtl });
    return this.issue(client, entry.grant, code.scopes, code.resource, code.subject);
  }

  async loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<RefreshToken | undefined> {
    const entry = this.refreshTokens.get(refreshToken);
    if (!entry || entry.token.clientId !== client.client_id) return undefined;
    if (entry.rotated && entry.rotated.until <= Date.now() / 1000) {
      // A rotated token presented after its grace window: someone kept a copy. End the grant.
      this.revokeGrant(entry.grant);
      return undefined;
    }
    return entry.token;
  }

  async exchangeRefreshToken(client: OAuthClientInformation, refreshToken: RefreshToken, scopes: string[]): Promise<OAuthTokenResponse> {
    const entry = this.refreshTokens.get(refreshToken.token);
    if (!entry) throw new OAuthError("invalid_grant", "The refresh token is invalid, expired, revoked, or was issued to another client");
    if (entry.rotated) return entry.rotated.response;
    const response = this.issue(client, entry.grant, scopes, refreshToken.resource, refreshToken.subject, refreshToken.scopes);
    // Exact time, not whole seconds: a 1 s grace window must not shrink to a few milliseconds.
    entry.rotated = { until: Date.now() / 1000 + this.graceSeconds, response };
    return response;
  }

  async loadAccessToken(token: string): Promise<AccessToken | undefined> {
    const entry = this.accessTokens.get(token);
    if (!entry) return undefined;
    if (entry.token.expiresAt !== undefined && entry.token.expiresAt <= now()) {
      this.accessTokens.delete(token);
      return undefined;
    }
    return entry.token;
  }

  async revokeToken(token: AccessToken | RefreshToken): Promise<void> {
    const grant = this.accessTokens.get(token.token)?.grant ?? this.refreshTokens.get(token.token)?.grant;
    if (grant) this.revokeGrant(grant);
  }

  /**
   * A new access token and refresh token. The refresh token keeps the grant's full scopes, so a
   * refresh that narrowed the access token can widen it back to what was approved.
   */
  private issue(client: OAuthClientInformation, grant: Grant, scopes: string[], resource: string | undefined, subject: string | undefined, grantedScopes = scopes): OAuthTokenResponse {
    const access = `test_access_token_${randomBytes(16).toString("hex")}`;
    const expiresAt = now() + this.accessTtl;
    this.accessTokens.set(access, {
      grant,
      token: accessToken({ token: access, clientId: client.client_id, scopes, expiresAt, resource, subject, claims: { sub: subject, client_id: client.client_id, scope: scopes.join(" ") } }),
    });
    grant.accessTokens.add(access);
    const response: OAuthTokenResponse = { access_token: access, token_type: "Bearer", expires_in: this.accessTtl, scope: scopes.join(" ") };
    if ((client.grant_types ?? ["authorization_code"]).includes("refresh_token")) {
      const refresh = `test_refresh_token_${randomBytes(16).toString("hex")}`;
      this.refreshTokens.set(refresh, { grant, token: { token: refresh, clientId: client.client_id, scopes: grantedScopes, resource, subject } });
      grant.refreshTokens.add(refresh);
      response.refresh_token = refresh;
    }
    return response;
  }

  private revokeGrant(grant: Grant): void {
    for (const token of grant.accessTokens) this.accessTokens.delete(token);
    for (const token of grant.refreshTokens) this.refreshTokens.delete(token);
    grant.accessTokens.clear();
    grant.refreshTokens.clear();
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
