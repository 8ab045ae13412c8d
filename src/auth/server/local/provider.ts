import { randomBytes } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { accessToken, clientIdFromClaims, scopesFromClaims, type AccessToken } from "../../access-token.js";
import { jsonRoutes } from "../../metadata.js";
import type { AuthRoute } from "../../provider.js";
import { withEnvironmentDefaults, type SettingSpec } from "../../settings.js";
import { AuthConfigurationError, isLoopbackUrl } from "../../urls.js";
import type { KeyPairAlgorithm } from "../../verifiers/key-pair.js";
import { isCanonicalCompactJws } from "../../verifiers/compact-jws.js";
import { signatureTail, VerifiedTokenCache } from "../../verifiers/token-cache.js";
import { scopedStore, type KeyValueStore } from "../../../storage/store.js";
import type { OAuthServerMetadata } from "../endpoints/metadata.js";
import { OAuthError } from "../errors.js";
import { CookiePolicy } from "../interaction/cookies.js";
import { CsrfTokens } from "../interaction/csrf.js";
import { KnownDevices } from "../interaction/known-devices.js";
import { LoginThrottle } from "../interaction/login-throttle.js";
import type { InteractionPort, InteractionServices } from "../interaction/port.js";
import { interactionRoutes } from "../interaction/routes.js";
import { ClientRegistry } from "../models/clients.js";
import { AuthorizationCodes } from "../models/codes.js";
import { Consents } from "../models/consents.js";
import { Grants, type GrantRecord } from "../models/grants.js";
import { RefreshTokens, type LoadedRefreshToken } from "../models/refresh-tokens.js";
import { LoginSessions } from "../models/sessions.js";
import { Transactions, type PendingAuthorization } from "../models/transactions.js";
import { OAuthProvider, type OAuthProviderOptions } from "../provider.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken } from "../types.js";
import { defaultLocalStore } from "./default-store.js";
import { KeyRing } from "./key-ring.js";
import { assertDefaultEncryptionKey, developmentUser, resolveSecrets } from "./secrets.js";
import { tableAuthenticator, type Authenticate, type LocalUser, type UserTable } from "./users.js";

export interface LocalOAuthProviderOptions extends OAuthProviderOptions {
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


/** Everything that needs the base URL and the store's secrets: made once both are known. */
interface Runtime {
  store: KeyValueStore;
  keyRing: KeyRing;
  clients: ClientRegistry;
  grants: Grants;
  codes: AuthorizationCodes;
  refreshTokens: RefreshTokens;
  interaction: InteractionServices;
}

/**
 * Standard claims an access token's own fields set, and their aliases verifiers read in their
 * place (`scp` for the scopes, `azp` for the client): user claims never replace or shadow them.
 */
const RESERVED_CLAIMS = new Set(["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "scope", "scp", "client_id", "azp", "gid"]);

/** How long a validated authorization request waits for the user to sign in and approve. */
const TRANSACTION_TTL_SECONDS = 15 * 60;

/**
 * A complete authorization server for real use: people sign in on a login page (your
 * `authenticate`, or a `users` table for development) and approve each application on a consent
 * page; access tokens are JWTs signed with the server's own key (published at
 * `/.well-known/jwks.json`, rotated with overlap), so other resource servers can verify them.
 * State lives in a {@link KeyValueStore}: a FileStore by default, a RedisStore for several
 * instances behind a load balancer. Clients, grants, codes, refresh tokens, consents and login
 * sessions are models over that store (`../models`); the pages talk to it through a narrow port.
 */
export class LocalOAuthProvider extends OAuthProvider {
  /** @internal Failed password attempts (see LoginThrottle for the policy). */
  readonly throttle = new LoginThrottle();
  private readonly options: LocalOAuthProviderOptions;
  private readonly settings: Required<Pick<LocalOAuthProviderOptions,
    "accessTokenTtlSeconds" | "refreshTokenTtlSeconds" | "authorizationCodeTtlSeconds" | "refreshTokenGraceSeconds" | "loginSessionTtlSeconds" | "consentTtlSeconds" | "revocationCheckSeconds">>
    & { signingAlgorithm: KeyPairAlgorithm; signingKeyRotationDays: number; unusedClientTtlSeconds: number; maxUnusedClients: number };
  private readonly verified = new VerifiedTokenCache<AccessToken>(10_000, () => true, signatureTail);
  /** The password check of `authenticate` or `users` (the development user's is made at start). */
  private readonly passwordCheck: Authenticate | undefined;
  private runtime: Promise<Runtime> | undefined;
  /** The runtime once it is ready, for the synchronous token check. */
  private started: Runtime | undefined;
  private cookiePolicy: CookiePolicy | undefined;
  private port: InteractionPort | undefined;

  constructor(options: LocalOAuthProviderOptions = {}) {
    options = withEnvironmentDefaults("LOCALOAUTHPROVIDER", options, LOCAL_SETTINGS);
    super(options);
    this.options = options;
    const registration = typeof options.clientRegistration === "object" ? options.clientRegistration : {};
    this.settings = {
      accessTokenTtlSeconds: positive(options.accessTokenTtlSeconds, 3600, "accessTokenTtlSeconds"),
      refreshTokenTtlSeconds: positive(options.refreshTokenTtlSeconds, 30 * 86_400, "refreshTokenTtlSeconds"),
      authorizationCodeTtlSeconds: positive(options.authorizationCodeTtlSeconds, 300, "authorizationCodeTtlSeconds"),
      refreshTokenGraceSeconds: positive(options.refreshTokenGraceSeconds, 10, "refreshTokenGraceSeconds"),
      loginSessionTtlSeconds: positive(options.loginSessionTtlSeconds, 12 * 3600, "loginSessionTtlSeconds"),
      consentTtlSeconds: nonNegative(options.consentTtlSeconds, 90 * 86_400, "consentTtlSeconds"),
      revocationCheckSeconds: nonNegative(options.revocationCheckSeconds, 5, "revocationCheckSeconds"),
      signingAlgorithm: options.signingAlgorithm ?? "RS256",
      signingKeyRotationDays: positive(options.signingKeyRotationDays, 90, "signingKeyRotationDays"),
      unusedClientTtlSeconds: positive(registration.unusedClientTtlSeconds, 86_400, "clientRegistration.unusedClientTtlSeconds"),
      maxUnusedClients: positive(registration.maxUnusedClients, 10_000, "clientRegistration.maxUnusedClients"),
    };
    if (options.authenticate && options.users) throw new AuthConfigurationError("Pass either authenticate or users to LocalOAuthProvider, not both");
    this.passwordCheck = options.authenticate ?? (options.users ? tableAuthenticator(options.users) : undefined);
    // What can be known now fails now: nothing awaits ready() before a mounted app takes requests.
    if (options.encryptionKey === undefined) {
      if (options.store) assertDefaultEncryptionKey(options.store);
    } else if (typeof options.encryptionKey !== "string" || options.encryptionKey === "") {
      throw new AuthConfigurationError("LocalOAuthProvider encryptionKey must be a non-empty string");
    }
    if (!SIGNING_ALGORITHMS.includes(this.settings.signingAlgorithm)) {
      throw new AuthConfigurationError(`LocalOAuthProvider signingAlgorithm must be one of ${SIGNING_ALGORITHMS.join(", ")}, got ${String(this.settings.signingAlgorithm)}`);
    }
    if (this.hasBaseUrl) this.start();
  }

  /** Shown on the login and consent pages: `serverName`, else the host of the base URL. */
  get serverName(): string {
    return this.options.serverName ?? new URL(this.baseUrl).host;
  }

  /** @internal The store behind every record, once started (scoped to this provider's keys). */
  get store(): KeyValueStore | undefined {
    return this.started?.store;
  }

  override serveAt(origin: string | undefined): void {
    super.serveAt(origin);
    if (this.runtime === undefined) this.start();
  }

  /** Resolves once the signing key and secrets are loaded (or generated): a bad encryption key fails here. */
  override async ready(): Promise<void> {
    await this.running();
  }

  /** The published signing keys. */
  async jwks(): Promise<{ keys: object[] }> {
    return (await this.running()).keyRing.jwks();
  }

  /** Starts signing with a new key; the previous one stays published until its tokens expire. */
  async rotateSigningKey(): Promise<void> {
    await (await this.running()).keyRing.rotate();
  }

  override authorizationServerMetadata(): OAuthServerMetadata {
    return { ...super.authorizationServerMetadata(), jwks_uri: this.endpointUrl("/.well-known/jwks.json") };
  }

  override routes(): AuthRoute[] {
    return [...super.routes(), ...jsonRoutes("/.well-known/jwks.json", () => this.jwks()), ...interactionRoutes(this.interactionPort())];
  }

  /** Verified tokens are bound to the MCP endpoint's URL (their audience), which may just have changed. */
  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    this.verified.clear();
  }

  // ---- Clients -------------------------------------------------------------------------------

  async getClient(clientId: string): Promise<OAuthClientInformation | undefined> {
    return (await this.running()).clients.get(clientId);
  }

  async registerClient(client: OAuthClientInformation): Promise<void> {
    await (await this.running()).clients.register(client);
  }

  // ---- Authorization -------------------------------------------------------------------------

  /** Seals the validated request into the login and consent pages' URL, and sends the browser there. */
  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const sealed = (await this.running()).interaction.transactions.seal(client.client_id, params);
    return `${this.endpointUrl("/consent")}?txn=${encodeURIComponent(sealed)}`;
  }

  async loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<AuthorizationCode | undefined> {
    return (await this.running()).codes.load(client.client_id, code);
  }

  async exchangeAuthorizationCode(client: OAuthClientInformation, code: AuthorizationCode): Promise<OAuthTokenResponse> {
    const runtime = await this.running();
    const record = await runtime.codes.redeem(code.code);
    if (!record) throw new OAuthError("invalid_grant", "The authorization code is invalid, expired, already used, or was issued to another client");
    const grant = await runtime.grants.get(record.grantId);
    if (!grant) throw new OAuthError("invalid_grant", "The authorization was revoked");
    return this.issueTokens(runtime, client, record.grantId, grant, record.scopes);
  }

  // ---- Refresh -------------------------------------------------------------------------------

  async loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<RefreshToken | undefined> {
    return (await this.running()).refreshTokens.load(client.client_id, refreshToken);
  }

  async exchangeRefreshToken(client: OAuthClientInformation, refreshToken: RefreshToken, scopes: string[]): Promise<OAuthTokenResponse> {
    const runtime = await this.running();
    const token = refreshToken as LoadedRefreshToken;
    return runtime.refreshTokens.rotate(token, async () => {
      const grant = await runtime.grants.get(token.grantId);
      if (!grant) throw new OAuthError("invalid_grant", "The authorization was revoked");
      return this.issueTokens(runtime, client, token.grantId, grant, scopes);
    });
  }

  // ---- Access tokens -------------------------------------------------------------------------

  async loadAccessToken(token: string): Promise<AccessToken | undefined> {
    const runtime = await this.running();
    const verified = this.verified.get(token) ?? (await this.verifyJwt(runtime, token));
    if (!verified) return undefined;
    return (await runtime.grants.isLive(verified.claims.gid as string)) ? verified : undefined;
  }

  /**
   * A token this instance already verified, synchronously, while its grant's live verdict holds:
   * checked in the store less than `revocationCheckSeconds` ago and not revoked here since. The
   * HTTP transports then serve the request without a promise. A token not verified yet, one past
   * its `exp`, or one whose verdict is due for a store read (always, with revocationCheckSeconds 0)
   * is left to `verifyToken`, so revocation is checked exactly as often as on the full path.
   */
  override cachedToken(token: string): AccessToken | undefined {
    if (typeof token !== "string" || token.length === 0 || this.started === undefined) return undefined;
    const now = Date.now();
    const verified = this.verified.get(token, now);
    if (verified === undefined) return undefined;
    return this.started.grants.liveNow(verified.claims.gid as string, now) ? verified : undefined;
  }

  async revokeToken(token: AccessToken | RefreshToken): Promise<void> {
    const grantId = "grantId" in token ? (token as LoadedRefreshToken).grantId : (token as AccessToken).claims?.gid;
    if (typeof grantId === "string") await (await this.running()).grants.revoke(grantId);
  }

  // ---- Internals -----------------------------------------------------------------------------

  private running(): Promise<Runtime> {
    if (this.runtime === undefined) {
      return Promise.reject(new AuthConfigurationError("LocalOAuthProvider has no baseUrl yet: pass baseUrl (or set FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL), or serve it with mcp.run(), which sets it to where it listens"));
    }
    return this.runtime;
  }

  /** Once the base URL is known: what depends on it, then the store's secrets and keys. */
  private start(): void {
    if (!this.passwordCheck && !isLoopbackUrl(new URL(this.baseUrl))) {
      throw new AuthConfigurationError("LocalOAuthProvider needs authenticate (your user check) or users: a development user is only made for a loopback baseUrl");
    }
    const backend = this.options.store ?? defaultLocalStore(this.issuerUrl);
    if (this.options.encryptionKey === undefined) assertDefaultEncryptionKey(backend);
    this.cookiePolicy = new CookiePolicy(this.baseUrl);
    this.runtime = this.build(backend, this.cookiePolicy);
    this.runtime.then((runtime) => { this.started = runtime; }, () => undefined);
  }

  private async build(backend: KeyValueStore, cookies: CookiePolicy): Promise<Runtime> {
    const store = scopedStore(backend, "fastmcp-oauth:");
    const { box, hmacKey } = await resolveSecrets(backend, store, this.options.encryptionKey);
    const { settings } = this;
    const keyRing = new KeyRing({
      store,
      box,
      algorithm: settings.signingAlgorithm,
      rotationSeconds: settings.signingKeyRotationDays * 86_400,
      overlapSeconds: settings.accessTokenTtlSeconds + 300,
    });
    await keyRing.ready();
    const checkPassword = this.passwordCheck ?? tableAuthenticator(await developmentUser(store, box, this.serverName));
    const grants = new Grants(store, settings.revocationCheckSeconds);
    const codes = new AuthorizationCodes(store, grants, settings.authorizationCodeTtlSeconds);
    const runtime: Runtime = {
      store,
      keyRing,
      grants,
      codes,
      clients: new ClientRegistry(store, { unusedTtlSeconds: settings.unusedClientTtlSeconds, maxUnused: settings.maxUnusedClients }),
      refreshTokens: new RefreshTokens(store, box, grants, { ttlSeconds: settings.refreshTokenTtlSeconds, graceSeconds: settings.refreshTokenGraceSeconds }),
      interaction: {
        transactions: new Transactions(store, box, TRANSACTION_TTL_SECONDS),
        sessions: new LoginSessions<LocalUser>(store, settings.loginSessionTtlSeconds),
        consents: new Consents(store, settings.consentTtlSeconds),
        csrf: new CsrfTokens(hmacKey, cookies, TRANSACTION_TTL_SECONDS),
        devices: new KnownDevices(hmacKey, cookies),
        checkPassword,
        approve: (user, client, pending) => this.approve(runtime, user, client, pending),
      },
    };
    return runtime;
  }

  /** What the login and consent pages see of this provider. */
  private interactionPort(): InteractionPort {
    if (this.port) return this.port;
    const provider = this;
    this.port = {
      get serverName() { return provider.serverName; },
      get cookies() { return provider.cookiePolicy!; },
      scopeDescriptions: { ...this.options.scopeDescriptions },
      trustProxyHeaders: this.trustProxyHeaders,
      throttle: this.throttle,
      endpointUrl: (path) => this.endpointUrl(path),
      resolveClient: (clientId) => this.resolveClient(clientId),
      authorizationRedirect: (params, fields) => this.authorizationRedirect(params, fields),
      report: (error) => this.report(error),
      services: async () => (await this.running()).interaction,
    };
    return this.port;
  }

  /** A new grant and its single-use code for an approved transaction, and the redirect carrying the code. */
  private async approve(runtime: Runtime, user: LocalUser, client: OAuthClientInformation, pending: PendingAuthorization): Promise<string> {
    const { params } = pending;
    const ttl = this.grantTtl(client);
    const grant: GrantRecord = { clientId: client.client_id, subject: user.subject, claims: userClaims(user), scopes: params.scopes, resource: params.resource ?? this.resourceUrl };
    const grantId = await runtime.grants.create(grant, ttl);
    await runtime.clients.retain(client, nowSeconds() + ttl);
    const code = await runtime.codes.issue({
      grantId,
      clientId: client.client_id,
      scopes: params.scopes,
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      redirectUriProvidedExplicitly: params.redirectUriProvidedExplicitly,
      resource: grant.resource,
      subject: user.subject,
    });
    return this.authorizationRedirect(params, { code });
  }

  private async verifyJwt(runtime: Runtime, token: string): Promise<AccessToken | undefined> {
    if (!isCanonicalCompactJws(token)) return undefined;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return undefined;
    }
    if (!(await runtime.keyRing.knows(kid))) return undefined;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await runtime.keyRing.keyLookup(), {
        issuer: this.issuerUrl,
        audience: this.resourceUrl,
        algorithms: runtime.keyRing.algorithms(),
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

  private async issueTokens(runtime: Runtime, client: OAuthClientInformation, grantId: string, grant: GrantRecord, scopes: string[]): Promise<OAuthTokenResponse> {
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
    const response: OAuthTokenResponse = { access_token: await runtime.keyRing.sign(claims), token_type: "Bearer", expires_in: ttl, scope: scopes.join(" ") };
    if (grantsRefresh(client)) {
      response.refresh_token = await runtime.refreshTokens.issue({ grantId, clientId: client.client_id, scopes: grant.scopes, resource: grant.resource });
      // Each refresh starts a new period for the grant, and for the client it was given to.
      const grantTtl = this.grantTtl(client);
      await runtime.grants.extend(grantId, grant, grantTtl);
      await runtime.clients.retain(client, now + grantTtl);
    }
    return response;
  }

  /** A grant lives as long as the longest-lived token issued from it. */
  private grantTtl(client: OAuthClientInformation): number {
    return Math.max(this.settings.accessTokenTtlSeconds, grantsRefresh(client) ? this.settings.refreshTokenTtlSeconds : 0) + 60;
  }
}

function grantsRefresh(client: OAuthClientInformation): boolean {
  return (client.grant_types ?? ["authorization_code"]).includes("refresh_token");
}

function userClaims(user: LocalUser): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(user.claims ?? {})) if (!RESERVED_CLAIMS.has(name)) claims[name] = value;
  if (user.name !== undefined && claims.name === undefined) claims.name = user.name;
  return claims;
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
