import { createHash, randomBytes } from "node:crypto";
import { jwtVerify, decodeProtectedHeader, type JWTPayload } from "jose";
import { accessToken, clientIdFromClaims, scopesFromClaims, type AccessToken } from "../../access-token.js";
import { jsonRoutes } from "../../metadata.js";
import type { AuthRoute } from "../../provider.js";
import { withEnvironmentDefaults, type SettingSpec } from "../../settings.js";
import { AuthConfigurationError, isLoopbackUrl } from "../../urls.js";
import type { KeyPairAlgorithm } from "../../verifiers/key-pair.js";
import { signatureTail, VerifiedTokenCache } from "../../verifiers/token-cache.js";
import { hashSecret } from "../../../storage/encryption.js";
import { scopedStore, type KeyValueStore } from "../../../storage/store.js";
import type { OAuthServerMetadata } from "../endpoints/metadata.js";
import { OAuthError } from "../errors.js";
import { OAuthProvider, type OAuthProviderOptions } from "../provider.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken } from "../types.js";
import { CookiePolicy } from "../interaction/cookies.js";
import { CsrfTokens } from "../interaction/csrf.js";
import { assertDefaultEncryptionKey, developmentUser, resolveSecrets, type ProviderSecrets } from "./secrets.js";
import { interactionRoutes, type Interaction } from "../interaction/routes.js";
import { KeyRing } from "./key-ring.js";
import { tableAuthenticator, type Authenticate, type LocalUser, type UserTable } from "./users.js";
import { defaultLocalStore } from "./default-store.js";
import { LoginThrottle } from "../interaction/login-throttle.js";

export interface LocalOAuthProviderOptions extends Omit<OAuthProviderOptions, "baseUrl"> {
  /** This server's public URL. Required (or FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL). */
  baseUrl?: string | URL;
  /** Checks a username and password. Or `users` for a fixed table (development). */
  authenticate?: Authenticate;
  /** Username → password (or password and details). For development and tests. */
  users?: UserTable;
  /** Where clients, grants, sessions and the signing keys live. Default: a FileStore (see docs/storage.md). */
  store?: KeyValueStore;
  /**
   * Encrypts what the store keeps recoverable (signing keys, refresh retries): 32 bytes as hex or
   * base64, or a passphrase. Every instance sharing a store needs the same one. Default: a random
   * key kept next to a FileStore, or per process for a MemoryStore; required for other stores.
   */
  encryptionKey?: string;
  /** Shown on the login and consent pages. Default: the host of baseUrl. */
  serverName?: string;
  /** Human descriptions of scopes, shown on the consent page. */
  scopeDescriptions?: Record<string, string>;
  /** Access token signature algorithm. Default RS256 (the cheapest to verify and the most widely accepted). */
  signingAlgorithm?: KeyPairAlgorithm;
  /** Signing key lifetime before rotation. Default 90 days. */
  signingKeyRotationDays?: number;
  /** Default 3600 s. */
  accessTokenTtlSeconds?: number;
  /** Default 30 days; each refresh starts a new period. */
  refreshTokenTtlSeconds?: number;
  /** Default 300 s. */
  authorizationCodeTtlSeconds?: number;
  /** How long a rotated refresh token still answers a retried request (with the same new tokens). Default 10 s. */
  refreshTokenGraceSeconds?: number;
  /** How long a login lasts in the browser (no password again during a step-up). Default 12 h. */
  loginSessionTtlSeconds?: number;
  /** How long an approval is remembered per user and client. Default 90 days; 0 asks every time. */
  consentTtlSeconds?: number;
  /**
   * How long this instance trusts that a grant it checked is not revoked. A token revoked here is
   * refused at once; a token revoked through another instance sharing the store within this many
   * seconds. Default 5; 0 reads the store on every request.
   */
  revocationCheckSeconds?: number;
}

const LOCAL_SETTINGS: SettingSpec<LocalOAuthProviderOptions> = {
  baseUrl: { env: "BASE_URL", kind: "string" },
  issuerUrl: { env: "ISSUER_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  encryptionKey: { env: "ENCRYPTION_KEY", kind: "string" },
  serverName: { env: "SERVER_NAME", kind: "string" },
  accessTokenTtlSeconds: { env: "ACCESS_TOKEN_TTL_SECONDS", kind: "number" },
  refreshTokenTtlSeconds: { env: "REFRESH_TOKEN_TTL_SECONDS", kind: "number" },
};

const SIGNING_ALGORITHMS: readonly KeyPairAlgorithm[] = ["RS256", "ES256", "EdDSA"];

/** A grant: one user's approval of one client, which every token issued from it refers to. */
interface GrantRecord {
  clientId: string;
  subject: string;
  claims: Record<string, unknown>;
  scopes: string[];
  resource: string;
}

interface CodeRecord extends Omit<AuthorizationCode, "code"> {
  grantId: string;
}

interface RefreshRecord {
  grantId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  expiresAt: number;
  /** Set once used: a retry within `until` gets the same response again (sealed: it holds tokens). */
  rotated?: { until: number; sealed: string };
}

/** A refresh token with the grant it belongs to (what `revokeToken` needs). */
interface LocalRefreshToken extends RefreshToken {
  grantId: string;
}

/**
 * Standard claims an access token's own fields set, and their aliases verifiers read in their
 * place (`scp` for the scopes, `azp` for the client): user claims never replace or shadow them.
 */
const RESERVED_CLAIMS = new Set(["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "scope", "scp", "client_id", "azp", "gid"]);

/**
 * A complete authorization server for real use: people sign in on a login page (your
 * `authenticate`, or a `users` table for development) and approve each application on a consent
 * page; access tokens are JWTs signed with the server's own key (published at
 * `/.well-known/jwks.json`, rotated with overlap), so other resource servers can verify them.
 * State lives in a {@link KeyValueStore}: a FileStore by default, a RedisStore for several
 * instances behind a load balancer.
 */
export class LocalOAuthProvider extends OAuthProvider {
  readonly serverName: string;
  /** @internal */ readonly store: KeyValueStore;
  /** @internal */ readonly cookies: CookiePolicy;
  /** @internal Failed password attempts: 20 per client address per 5 minutes. */
  readonly loginLimiter = new LoginThrottle(20, 300);
  private readonly settings: Required<Pick<LocalOAuthProviderOptions,
    "accessTokenTtlSeconds" | "refreshTokenTtlSeconds" | "authorizationCodeTtlSeconds" | "refreshTokenGraceSeconds" | "loginSessionTtlSeconds" | "consentTtlSeconds" | "revocationCheckSeconds">>;
  private readonly scopeDescriptions: Record<string, string>;
  private readonly secrets: Promise<ProviderSecrets>;
  private readonly keyRingReady: Promise<KeyRing>;
  private readonly authenticateUser: Promise<Authenticate>;
  private readonly verified = new VerifiedTokenCache<AccessToken>(10_000, () => true, signatureTail);
  /** Grants this instance checked recently: id → when the check stops counting (ms). */
  private readonly liveGrants = new Map<string, number>();
  /** Revocations done by this instance so far: a grant read that overlapped one is not remembered. */
  private revocations = 0;

  constructor(options: LocalOAuthProviderOptions = {}) {
    options = withEnvironmentDefaults("LOCALOAUTHPROVIDER", options, LOCAL_SETTINGS);
    if (options.baseUrl === undefined) {
      throw new AuthConfigurationError("LocalOAuthProvider needs baseUrl (the public URL of this server): pass it, or set FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL");
    }
    super({ ...options, baseUrl: options.baseUrl });
    this.serverName = options.serverName ?? new URL(this.baseUrl).host;
    this.scopeDescriptions = { ...options.scopeDescriptions };
    this.settings = {
      accessTokenTtlSeconds: positive(options.accessTokenTtlSeconds, 3600, "accessTokenTtlSeconds"),
      refreshTokenTtlSeconds: positive(options.refreshTokenTtlSeconds, 30 * 86_400, "refreshTokenTtlSeconds"),
      authorizationCodeTtlSeconds: positive(options.authorizationCodeTtlSeconds, 300, "authorizationCodeTtlSeconds"),
      refreshTokenGraceSeconds: positive(options.refreshTokenGraceSeconds, 10, "refreshTokenGraceSeconds"),
      loginSessionTtlSeconds: positive(options.loginSessionTtlSeconds, 12 * 3600, "loginSessionTtlSeconds"),
      consentTtlSeconds: nonNegative(options.consentTtlSeconds, 90 * 86_400, "consentTtlSeconds"),
      revocationCheckSeconds: nonNegative(options.revocationCheckSeconds, 5, "revocationCheckSeconds"),
    };
    const backend = options.store ?? defaultLocalStore(this.issuerUrl);
    this.store = scopedStore(backend, "fastmcp-oauth:");
    this.cookies = new CookiePolicy(this.baseUrl);
    if (options.authenticate && options.users) throw new AuthConfigurationError("Pass either authenticate or users to LocalOAuthProvider, not both");
    if (!options.authenticate && !options.users && !isLoopbackUrl(new URL(this.baseUrl))) {
      throw new AuthConfigurationError("LocalOAuthProvider needs authenticate (your user check) or users: a development user is only made for a loopback baseUrl");
    }
    // What can be known now fails now: nothing awaits ready() before the server takes requests.
    if (options.encryptionKey === undefined) assertDefaultEncryptionKey(backend);
    else if (typeof options.encryptionKey !== "string" || options.encryptionKey === "") throw new AuthConfigurationError("LocalOAuthProvider encryptionKey must be a non-empty string");
    const algorithm = options.signingAlgorithm ?? "RS256";
    if (!SIGNING_ALGORITHMS.includes(algorithm)) throw new AuthConfigurationError(`LocalOAuthProvider signingAlgorithm must be one of ${SIGNING_ALGORITHMS.join(", ")}, got ${String(algorithm)}`);
    this.secrets = resolveSecrets(backend, this.store, options.encryptionKey);
    this.secrets.catch(() => undefined);
    const rotationDays = positive(options.signingKeyRotationDays, 90, "signingKeyRotationDays");
    this.keyRingReady = this.secrets.then(async ({ box }) => {
      const ring = new KeyRing({
        store: this.store,
        box,
        algorithm,
        rotationSeconds: rotationDays * 86_400,
        overlapSeconds: this.settings.accessTokenTtlSeconds + 300,
      });
      await ring.ready();
      return ring;
    });
    this.keyRingReady.catch(() => undefined);
    this.authenticateUser = options.authenticate
      ? Promise.resolve(options.authenticate)
      : options.users
        ? Promise.resolve(tableAuthenticator(options.users))
        : this.secrets.then(({ box }) => developmentUser(this.store, box, this.serverName)).then((users) => tableAuthenticator(users));
    this.authenticateUser.catch(() => undefined);
  }

  /** Resolves once the signing key and secrets are loaded (or generated): a bad encryption key fails here. */
  override async ready(): Promise<void> {
    await this.keyRingReady;
    await this.authenticateUser;
  }

  /** The published signing keys. */
  async jwks(): Promise<{ keys: object[] }> {
    return (await this.keyRingReady).jwks();
  }

  /** Starts signing with a new key; the previous one stays published until its tokens expire. */
  async rotateSigningKey(): Promise<void> {
    await (await this.keyRingReady).rotate();
  }

  override authorizationServerMetadata(): OAuthServerMetadata {
    return { ...super.authorizationServerMetadata(), jwks_uri: this.endpointUrl("/.well-known/jwks.json") };
  }

  override routes(): AuthRoute[] {
    const csrf = this.secrets.then(({ hmacKey }) => new CsrfTokens(hmacKey, this.cookies, 15 * 60));
    // Misconfigured secrets fail each page (reported through onError), not the process.
    csrf.catch(() => undefined);
    const interaction: Interaction = {
      provider: this,
      csrf,
      authenticate: this.authenticateUser,
      scopeDescriptions: this.scopeDescriptions,
    };
    return [
      ...super.routes(),
      ...jsonRoutes("/.well-known/jwks.json", () => this.jwks()),
      ...interactionRoutes(interaction),
    ];
  }

  // ---- Clients -------------------------------------------------------------------------------

  async getClient(clientId: string): Promise<OAuthClientInformation | undefined> {
    return this.store.get<OAuthClientInformation>(`client:${clientId}`);
  }

  async registerClient(client: OAuthClientInformation): Promise<void> {
    await this.store.set(`client:${client.client_id}`, client);
  }

  // ---- Authorization -------------------------------------------------------------------------

  /** Keeps the validated request for the login and consent pages, and sends the browser there. */
  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const id = randomBytes(24).toString("base64url");
    await this.store.set(`txn:${id}`, { clientId: client.client_id, params, createdAt: Date.now() } satisfies TransactionRecord, { ttlSeconds: TRANSACTION_TTL_SECONDS });
    return `${this.endpointUrl("/consent")}?txn=${id}`;
  }

  /** @internal The transaction behind a login or consent page. */
  transaction(id: string): Promise<TransactionRecord | undefined> {
    return validTransactionId(id) ? this.store.get<TransactionRecord>(`txn:${id}`) : Promise.resolve(undefined);
  }

  /** @internal Ends a transaction; only one of concurrent submissions gets it. */
  takeTransaction(id: string): Promise<TransactionRecord | undefined> {
    return validTransactionId(id) ? this.store.take<TransactionRecord>(`txn:${id}`) : Promise.resolve(undefined);
  }

  /** @internal Whether `user` already approved `client` for every one of `scopes`. */
  async hasConsent(user: LocalUser, clientId: string, scopes: readonly string[]): Promise<boolean> {
    if (this.settings.consentTtlSeconds === 0) return false;
    const remembered = await this.store.get<{ scopes: string[] }>(consentKey(user.subject, clientId));
    return remembered !== undefined && scopes.every((scope) => remembered.scopes.includes(scope));
  }

  /** @internal Remembers an approval (adding to what the user approved before). */
  async rememberConsent(user: LocalUser, clientId: string, scopes: readonly string[]): Promise<void> {
    if (this.settings.consentTtlSeconds === 0) return;
    const key = consentKey(user.subject, clientId);
    const previous = (await this.store.get<{ scopes: string[] }>(key))?.scopes ?? [];
    await this.store.set(key, { scopes: [...new Set([...previous, ...scopes])] }, { ttlSeconds: this.settings.consentTtlSeconds });
  }

  /** @internal A login session: who the browser presenting `sessionId` is. */
  async session(sessionId: string | undefined): Promise<LocalUser | undefined> {
    if (!sessionId || !/^[A-Za-z0-9_-]{32,64}$/.test(sessionId)) return undefined;
    return (await this.store.get<{ user: LocalUser }>(`session:${hashSecret(sessionId)}`))?.user;
  }

  /** @internal Starts a login session; returns its id (the cookie value) and lifetime. */
  async startSession(user: LocalUser): Promise<{ id: string; ttlSeconds: number }> {
    const id = randomBytes(32).toString("base64url");
    const ttlSeconds = this.settings.loginSessionTtlSeconds;
    await this.store.set(`session:${hashSecret(id)}`, { user, createdAt: Date.now() }, { ttlSeconds });
    return { id, ttlSeconds };
  }

  /** @internal Approves a transaction: a new grant and its single-use code, and the redirect carrying it. */
  async approve(user: LocalUser, client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const grantId = randomBytes(16).toString("base64url");
    const grant: GrantRecord = { clientId: client.client_id, subject: user.subject, claims: userClaims(user), scopes: params.scopes, resource: params.resource ?? this.resourceUrl };
    await this.store.set(`grant:${grantId}`, grant, { ttlSeconds: this.grantTtl(client) });
    const code = randomBytes(32).toString("base64url");
    const record: CodeRecord = {
      grantId,
      clientId: client.client_id,
      scopes: params.scopes,
      expiresAt: nowSeconds() + this.settings.authorizationCodeTtlSeconds,
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      redirectUriProvidedExplicitly: params.redirectUriProvidedExplicitly,
      resource: grant.resource,
      subject: user.subject,
    };
    await this.store.set(`code:${hashSecret(code)}`, record, { ttlSeconds: this.settings.authorizationCodeTtlSeconds });
    return this.authorizationRedirect(params, { code });
  }

  async loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<AuthorizationCode | undefined> {
    const hash = hashSecret(code);
    const redeemed = await this.store.get<{ grantId: string }>(`redeemed:${hash}`);
    if (redeemed) {
      // A second redemption: the first may have been an attacker's. End what the code started.
      await this.revokeGrant(redeemed.grantId);
      return undefined;
    }
    const record = await this.store.get<CodeRecord>(`code:${hash}`);
    if (!record || record.clientId !== client.client_id) return undefined;
    return { ...withoutGrant(record), code };
  }

  async exchangeAuthorizationCode(client: OAuthClientInformation, code: AuthorizationCode): Promise<OAuthTokenResponse> {
    const hash = hashSecret(code.code);
    const record = await this.store.take<CodeRecord>(`code:${hash}`);
    if (!record) throw new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client");
    await this.store.set(`redeemed:${hash}`, { grantId: record.grantId }, { ttlSeconds: this.settings.authorizationCodeTtlSeconds });
    const grant = await this.store.get<GrantRecord>(`grant:${record.grantId}`);
    if (!grant) throw new OAuthError("invalid_grant", "The authorization was revoked");
    return this.issueTokens(client, record.grantId, grant, record.scopes);
  }

  // ---- Refresh -------------------------------------------------------------------------------

  async loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<LocalRefreshToken | undefined> {
    const record = await this.store.get<RefreshRecord>(`refresh:${hashSecret(refreshToken)}`);
    if (!record || record.clientId !== client.client_id) return undefined;
    if (record.rotated && record.rotated.until <= nowSeconds()) {
      // A rotated token presented after its grace window: a copy is in someone else's hands.
      await this.revokeGrant(record.grantId);
      return undefined;
    }
    if (!(await this.store.get<GrantRecord>(`grant:${record.grantId}`))) return undefined;
    return { token: refreshToken, clientId: record.clientId, scopes: record.scopes, expiresAt: record.expiresAt, resource: record.resource, grantId: record.grantId };
  }

  async exchangeRefreshToken(client: OAuthClientInformation, refreshToken: RefreshToken, scopes: string[]): Promise<OAuthTokenResponse> {
    const key = `refresh:${hashSecret(refreshToken.token)}`;
    const record = await this.store.get<RefreshRecord>(key);
    if (!record) throw new OAuthError("invalid_grant", "The refresh token is invalid, expired, revoked, or was issued to another client");
    const { box } = await this.secrets;
    if (record.rotated) return JSON.parse(box.open(record.rotated.sealed, key)) as OAuthTokenResponse;
    // One request rotates a refresh token; concurrent ones (a retry, or a copy racing it) get its
    // answer, so a grant never has two lines of refresh tokens that reuse detection cannot see.
    const lock = `refresh-rotating:${hashSecret(refreshToken.token)}`;
    if (!(await this.store.add(lock, true, { ttlSeconds: ROTATION_LOCK_SECONDS }))) return this.rotationAnswer(key);
    try {
      const grant = await this.store.get<GrantRecord>(`grant:${record.grantId}`);
      if (!grant) throw new OAuthError("invalid_grant", "The authorization was revoked");
      const response = await this.issueTokens(client, record.grantId, grant, scopes);
      const rotated: RefreshRecord = { ...record, rotated: { until: nowSeconds() + this.settings.refreshTokenGraceSeconds, sealed: box.seal(JSON.stringify(response), key) } };
      await this.store.set(key, rotated, { ttlSeconds: Math.max(1, record.expiresAt - nowSeconds()) });
      return response;
    } catch (error) {
      await this.store.delete(lock).catch(() => undefined);
      throw error;
    }
  }

  /** The response of the rotation another request is doing, once it is stored. */
  private async rotationAnswer(key: string): Promise<OAuthTokenResponse> {
    const { box } = await this.secrets;
    const deadline = Date.now() + ROTATION_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const record = await this.store.get<RefreshRecord>(key);
      if (!record) break;
      if (record.rotated) return JSON.parse(box.open(record.rotated.sealed, key)) as OAuthTokenResponse;
    }
    throw new OAuthError("invalid_grant", "The refresh token is invalid, expired, revoked, or was issued to another client");
  }

  // ---- Access tokens -------------------------------------------------------------------------

  async loadAccessToken(token: string): Promise<AccessToken | undefined> {
    const cached = this.verified.get(token);
    const verified = cached ?? (await this.verifyJwt(token));
    if (!verified) return undefined;
    return (await this.grantIsLive(verified.claims.gid as string)) ? verified : undefined;
  }

  /**
   * A token this instance already verified, synchronously, while its grant's live verdict holds:
   * checked in the store less than `revocationCheckSeconds` ago and not revoked here since. The
   * HTTP transports then serve the request without a promise. A token not verified yet, one past
   * its `exp`, or one whose verdict is due for a store read (always, with revocationCheckSeconds 0)
   * is left to `verifyToken`, so revocation is checked exactly as often as on the full path.
   */
  override cachedToken(token: string): AccessToken | undefined {
    if (typeof token !== "string" || token.length === 0) return undefined;
    const now = Date.now();
    const verified = this.verified.get(token, now);
    if (verified === undefined) return undefined;
    const until = this.liveGrants.get(verified.claims.gid as string);
    return until !== undefined && until > now ? verified : undefined;
  }

  /** Verified tokens are bound to the MCP endpoint's URL (their audience), which may just have changed. */
  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    this.verified.clear();
  }

  async revokeToken(token: AccessToken | RefreshToken): Promise<void> {
    const grantId = "grantId" in token ? (token as LocalRefreshToken).grantId : (token as AccessToken).claims?.gid;
    if (typeof grantId === "string") await this.revokeGrant(grantId);
  }

  private async verifyJwt(token: string): Promise<AccessToken | undefined> {
    const ring = await this.keyRingReady;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return undefined;
    }
    if (!(await ring.knows(kid))) return undefined;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await ring.keyLookup(), {
        issuer: this.issuerUrl,
        audience: this.resourceUrl,
        algorithms: ring.algorithms(),
        typ: "at+jwt",
        requiredClaims: ["exp", "sub", "client_id", "gid", "jti"],
      }));
    } catch {
      return undefined;
    }
    if (typeof payload.gid !== "string") return undefined;
    const verified = accessToken({
      token,
      clientId: clientIdFromClaims(payload),
      scopes: scopesFromClaims(payload),
      expiresAt: payload.exp,
      resource: this.resourceUrl,
      subject: payload.sub,
      claims: payload,
    });
    this.verified.set(token, verified, payload.exp! * 1000);
    return verified;
  }

  private async grantIsLive(grantId: string): Promise<boolean> {
    const until = this.liveGrants.get(grantId);
    if (until !== undefined && until > Date.now()) return true;
    const revocations = this.revocations;
    const live = (await this.store.get(`grant:${grantId}`)) !== undefined;
    // A read that overlapped a revocation here may predate it: its answer serves this request
    // only, it is not remembered for the next ones.
    if (live && this.settings.revocationCheckSeconds > 0 && revocations === this.revocations) {
      if (this.liveGrants.size >= 10_000) this.liveGrants.delete(this.liveGrants.keys().next().value!);
      this.liveGrants.set(grantId, Date.now() + this.settings.revocationCheckSeconds * 1000);
    }
    return live;
  }

  private async revokeGrant(grantId: string): Promise<void> {
    this.liveGrants.delete(grantId);
    await this.store.delete(`grant:${grantId}`);
    // Reads that saw the grant before the delete landed: none of their verdicts may stay.
    this.revocations++;
    this.liveGrants.delete(grantId);
  }

  private async issueTokens(client: OAuthClientInformation, grantId: string, grant: GrantRecord, scopes: string[]): Promise<OAuthTokenResponse> {
    const ring = await this.keyRingReady;
    const ttl = this.settings.accessTokenTtlSeconds;
    const now = nowSeconds();
    const claims: JWTPayload = {
      ...grant.claims,
      iss: this.issuerUrl,
      aud: grant.resource,
      sub: grant.subject,
      client_id: client.client_id,
      scope: scopes.join(" "),
      gid: grantId,
      jti: randomBytes(16).toString("base64url"),
      iat: now,
      exp: now + ttl,
    };
    const response: OAuthTokenResponse = { access_token: await ring.sign(claims), token_type: "Bearer", expires_in: ttl, scope: scopes.join(" ") };
    if ((client.grant_types ?? ["authorization_code"]).includes("refresh_token")) {
      const refresh = randomBytes(32).toString("base64url");
      const expiresAt = now + this.settings.refreshTokenTtlSeconds;
      const record: RefreshRecord = { grantId, clientId: client.client_id, scopes: grant.scopes, resource: grant.resource, expiresAt };
      await this.store.set(`refresh:${hashSecret(refresh)}`, record, { ttlSeconds: this.settings.refreshTokenTtlSeconds });
      // Each refresh starts a new period for the grant too.
      await this.store.set(`grant:${grantId}`, grant, { ttlSeconds: this.grantTtl(client) });
      response.refresh_token = refresh;
    }
    return response;
  }

  /** A grant lives as long as the longest-lived token issued from it. */
  private grantTtl(client: OAuthClientInformation): number {
    const refresh = (client.grant_types ?? ["authorization_code"]).includes("refresh_token");
    return Math.max(this.settings.accessTokenTtlSeconds, refresh ? this.settings.refreshTokenTtlSeconds : 0) + 60;
  }
}

/** What `/authorize` validated, waiting for the user to log in and approve. */
export interface TransactionRecord {
  clientId: string;
  params: AuthorizationParams;
  createdAt: number;
}

const TRANSACTION_TTL_SECONDS = 15 * 60;
/** How long a rotation in progress keeps concurrent refreshes of the same token waiting for it. */
const ROTATION_LOCK_SECONDS = 30;
const ROTATION_WAIT_MS = 5_000;

function validTransactionId(id: string): boolean {
  return /^[A-Za-z0-9_-]{32}$/.test(id);
}

function consentKey(subject: string, clientId: string): string {
  return `consent:${createHash("sha256").update(subject).update("\u0000").update(clientId).digest("hex")}`;
}

function userClaims(user: LocalUser): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(user.claims ?? {})) if (!RESERVED_CLAIMS.has(name)) claims[name] = value;
  if (user.name !== undefined && claims.name === undefined) claims.name = user.name;
  return claims;
}

function withoutGrant(record: CodeRecord): Omit<AuthorizationCode, "code"> {
  const { grantId: _grantId, ...code } = record;
  return code;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new AuthConfigurationError(`LocalOAuthProvider ${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new AuthConfigurationError(`LocalOAuthProvider ${name} must be 0 or more, got ${value}`);
  return value;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
