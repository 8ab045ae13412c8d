import { randomBytes } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { accessToken, clientIdFromClaims, scopesFromClaims, type AccessToken } from "../access-token.js";
import { jsonRoutes } from "../metadata.js";
import type { AuthRoute } from "../provider.js";
import { AuthConfigurationError } from "../urls.js";
import { isCanonicalCompactJws } from "../verifiers/compact-jws.js";
import type { KeyPairAlgorithm } from "../verifiers/key-pair.js";
import { signatureTail, VerifiedTokenCache } from "../verifiers/token-cache.js";
import type { SecretBox } from "../../storage/encryption.js";
import { scopedStore, type KeyValueStore } from "../../storage/store.js";
import { defaultStore } from "./default-store.js";
import type { OAuthServerMetadata } from "./endpoints/metadata.js";
import { OAuthError } from "./errors.js";
import { CookiePolicy } from "./interaction/cookies.js";
import { KeyRing } from "./keys/key-ring.js";
import { assertDefaultEncryptionKey, resolveSecrets } from "./keys/secrets.js";
import { ClientRegistry } from "./models/clients.js";
import { AuthorizationCodes } from "./models/codes.js";
import { Grants, type GrantRecord } from "./models/grants.js";
import { RefreshTokens, type LoadedRefreshToken } from "./models/refresh-tokens.js";
import { Transactions } from "./models/transactions.js";
import type { StepPort } from "./interaction/steps.js";
import { OAuthProvider, type OAuthProviderOptions } from "./provider.js";
import type { AuthorizationCode, AuthorizationParams, OAuthClientInformation, OAuthTokenResponse, RefreshToken } from "./types.js";

export interface StoredOAuthProviderOptions extends OAuthProviderOptions {
  /** Where clients, grants, codes, tokens and the signing keys live. Default: a FileStore (see docs/storage.md). */
  store?: KeyValueStore;
  /**
   * Encrypts what the store keeps recoverable (signing keys, refresh retries, upstream tokens): 32
   * bytes as hex or base64, or a passphrase. Every instance sharing a store needs the same one.
   * Default: a random key kept next to a FileStore, or per process for a MemoryStore; required
   * for other stores.
   */
  encryptionKey?: string;
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
  /**
   * How long this instance trusts that a grant it checked is not revoked. A token revoked here is
   * refused at once; a token revoked through another instance sharing the store within this many
   * seconds. Default 5; 0 reads the store on every request.
   */
  revocationCheckSeconds?: number;
}

/** What every stored provider runs on, made once its base URL and its store's secrets are known. */
export interface StoredRuntime {
  /** The backend, scoped to this provider's keys. */
  store: KeyValueStore;
  /** Seals what the store must give back. */
  box: SecretBox;
  /** Signs the pages' CSRF tokens and cookies; shared by every instance through the store. */
  hmacKey: Buffer;
  cookies: CookiePolicy;
  keyRing: KeyRing;
  clients: ClientRegistry;
  grants: Grants;
  codes: AuthorizationCodes;
  refreshTokens: RefreshTokens;
  transactions: Transactions;
}

interface StoredSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  authorizationCodeTtlSeconds: number;
  refreshTokenGraceSeconds: number;
  revocationCheckSeconds: number;
  signingAlgorithm: KeyPairAlgorithm;
  signingKeyRotationDays: number;
  unusedClientTtlSeconds: number;
  maxUnusedClients: number;
}

const SIGNING_ALGORITHMS: readonly KeyPairAlgorithm[] = ["RS256", "ES256", "EdDSA"];

/**
 * Standard claims an access token's own fields set, and their aliases verifiers read in their
 * place (`scp` for the scopes, `azp` for the client): grant claims never replace or shadow them.
 */
const RESERVED_CLAIMS = new Set(["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "scope", "scp", "client_id", "azp", "gid"]);

/** How long a validated authorization request waits for the user to sign in and approve. */
export const TRANSACTION_TTL_SECONDS = 15 * 60;

/**
 * An authorization server whose clients, grants, codes and refresh tokens live in a
 * {@link KeyValueStore} (the models of `./models`), and whose access tokens are JWTs signed by its
 * own key ring (published at `/.well-known/jwks.json`, rotated with overlap), so other resource
 * servers can verify them. What a person does between `/authorize` and the code is the subclass's:
 * LocalOAuthProvider's login and consent pages, OAuthProxy's consent page and upstream sign-in.
 *
 * Nothing that depends on the base URL starts before it is known: from the constructor when
 * `baseUrl` is given, else when `run()` says where it listens.
 */
export abstract class StoredOAuthProvider<Services extends { transactions: Transactions }> extends OAuthProvider {
  protected readonly settings: StoredSettings;
  private readonly storeOptions: Pick<StoredOAuthProviderOptions, "store" | "encryptionKey">;
  private readonly verified = new VerifiedTokenCache<AccessToken>(10_000, () => true, signatureTail);
  private runtime: Promise<StoredRuntime & { services: Services }> | undefined;
  /** The runtime once it is ready, for the synchronous token check. */
  protected started: (StoredRuntime & { services: Services }) | undefined;

  /** `storeKind` names the default FileStore's directory (`<storeKind>-<issuer hash>`). */
  constructor(options: StoredOAuthProviderOptions, private readonly storeKind: string) {
    super(options);
    const registration = typeof options.clientRegistration === "object" ? options.clientRegistration : {};
    this.settings = {
      accessTokenTtlSeconds: this.positive(options.accessTokenTtlSeconds, 3600, "accessTokenTtlSeconds"),
      refreshTokenTtlSeconds: this.positive(options.refreshTokenTtlSeconds, 30 * 86_400, "refreshTokenTtlSeconds"),
      authorizationCodeTtlSeconds: this.positive(options.authorizationCodeTtlSeconds, 300, "authorizationCodeTtlSeconds"),
      refreshTokenGraceSeconds: this.positive(options.refreshTokenGraceSeconds, 10, "refreshTokenGraceSeconds"),
      revocationCheckSeconds: this.nonNegative(options.revocationCheckSeconds, 5, "revocationCheckSeconds"),
      signingAlgorithm: options.signingAlgorithm ?? "RS256",
      signingKeyRotationDays: this.positive(options.signingKeyRotationDays, 90, "signingKeyRotationDays"),
      unusedClientTtlSeconds: this.positive(registration.unusedClientTtlSeconds, 86_400, "clientRegistration.unusedClientTtlSeconds"),
      maxUnusedClients: this.positive(registration.maxUnusedClients, 10_000, "clientRegistration.maxUnusedClients"),
    };
    this.storeOptions = { store: options.store, encryptionKey: options.encryptionKey };
    // What can be known now fails now: nothing awaits ready() before a mounted app takes requests.
    if (options.encryptionKey === undefined) {
      if (options.store) assertDefaultEncryptionKey(options.store, this.constructor.name);
    } else if (typeof options.encryptionKey !== "string" || options.encryptionKey === "") {
      throw new AuthConfigurationError(`${this.constructor.name} encryptionKey must be a non-empty string`);
    }
    if (!SIGNING_ALGORITHMS.includes(this.settings.signingAlgorithm)) {
      throw new AuthConfigurationError(`${this.constructor.name} signingAlgorithm must be one of ${SIGNING_ALGORITHMS.join(", ")}, got ${String(this.settings.signingAlgorithm)}`);
    }
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
    return [...super.routes(), ...jsonRoutes("/.well-known/jwks.json", () => this.jwks())];
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

  // ---- Codes and refresh ---------------------------------------------------------------------

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
    if (!verified || !(await runtime.grants.isLive(verified.claims.gid as string))) return undefined;
    return this.acceptToken(runtime, verified);
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
    if (verified === undefined || !this.started.grants.liveNow(verified.claims.gid as string, now)) return undefined;
    return this.acceptCachedToken(verified, now);
  }

  async revokeToken(token: AccessToken | RefreshToken): Promise<void> {
    const grantId = "grantId" in token ? (token as LoadedRefreshToken).grantId : (token as AccessToken).claims?.gid;
    if (typeof grantId === "string") await (await this.running()).grants.revoke(grantId);
  }

  // ---- What subclasses build on --------------------------------------------------------------

  /** Checks what must hold before anything starts (the base URL is known by then). */
  protected checkBeforeStart(): void {}

  /** The subclass's own services over the runtime (pages, upstream clients...). */
  protected abstract startServices(runtime: StoredRuntime): Promise<Services>;

  /**
   * The access token a request is served with, once its JWT and its grant's liveness are checked;
   * undefined refuses it. A subclass that checks more per request (an upstream token) overrides it
   * and {@link acceptCachedToken}.
   */
  protected acceptToken(_runtime: StoredRuntime & { services: Services }, verified: AccessToken): Promise<AccessToken | undefined> {
    return Promise.resolve(verified);
  }

  /** The synchronous form of {@link acceptToken}: undefined sends the request down the full path. */
  protected acceptCachedToken(verified: AccessToken, _now: number): AccessToken | undefined {
    return verified;
  }

  /** Called when a refresh gave the grant a new lifetime of `ttlSeconds`. */
  protected async grantExtended(_runtime: StoredRuntime & { services: Services }, _grantId: string, _ttlSeconds: number): Promise<void> {}

  /** Called once a grant ended (revoked, a replayed code, a reused refresh token). */
  protected async grantRevoked(_runtime: StoredRuntime & { services: Services }, _grantId: string): Promise<void> {}

  /** What the sign-in pages need of any stored provider; the subclass's port adds its own. */
  protected stepPort(): StepPort<Services> {
    return {
      endpointUrl: (path) => this.endpointUrl(path),
      resolveClient: (clientId) => this.resolveClient(clientId),
      authorizationRedirect: (params, fields) => this.authorizationRedirect(params, fields),
      report: (error) => this.report(error),
      services: async () => (await this.running()).services,
    };
  }

  /** The runtime, once started; rejects while the base URL is unknown. */
  protected running(): Promise<StoredRuntime & { services: Services }> {
    if (this.runtime === undefined) {
      const variable = `FASTMCP_SERVER_AUTH_${this.constructor.name.toUpperCase()}_BASE_URL`;
      return Promise.reject(new AuthConfigurationError(`${this.constructor.name} has no baseUrl yet: pass baseUrl (or set ${variable}), or serve it with mcp.run(), which sets it to where it listens`));
    }
    return this.runtime;
  }

  /** The cookie policy of the pages (Secure and `__Host-` over https), once the base URL is known. */
  protected get cookies(): CookiePolicy {
    return new CookiePolicy(this.baseUrl);
  }

  /**
   * A new grant and its single-use code for an approved request, and the redirect carrying the
   * code. The client is kept at least as long as the grant.
   */
  protected async approveGrant(
    runtime: StoredRuntime,
    client: OAuthClientInformation,
    params: AuthorizationParams,
    grant: Omit<GrantRecord, "clientId" | "scopes" | "resource">,
    /** What must be stored with the grant before its code exists (an upstream token set). */
    prepare?: (grantId: string, ttlSeconds: number) => Promise<void>,
  ): Promise<string> {
    const ttl = this.grantTtl(client);
    const record: GrantRecord = { ...grant, claims: withoutReservedClaims(grant.claims), clientId: client.client_id, scopes: params.scopes, resource: params.resource ?? this.resourceUrl };
    const grantId = await runtime.grants.create(record, ttl);
    await prepare?.(grantId, ttl);
    await runtime.clients.retain(client, nowSeconds() + ttl);
    const code = await runtime.codes.issue({
      grantId,
      clientId: client.client_id,
      scopes: params.scopes,
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      redirectUriProvidedExplicitly: params.redirectUriProvidedExplicitly,
      resource: record.resource,
      subject: record.subject,
    });
    return this.authorizationRedirect(params, { code });
  }

  /** A grant lives as long as the longest-lived token issued from it. */
  protected grantTtl(client: OAuthClientInformation): number {
    return Math.max(this.settings.accessTokenTtlSeconds, grantsRefresh(client) ? this.settings.refreshTokenTtlSeconds : 0) + 60;
  }

  protected positive(value: number | undefined, fallback: number, name: string): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) throw new AuthConfigurationError(`${this.constructor.name} ${name} must be a positive number, got ${value}`);
    return value;
  }

  protected nonNegative(value: number | undefined, fallback: number, name: string): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < 0) throw new AuthConfigurationError(`${this.constructor.name} ${name} must be 0 or more, got ${value}`);
    return value;
  }

  // ---- Internals -----------------------------------------------------------------------------

  private start(): void {
    this.checkBeforeStart();
    const backend = this.storeOptions.store ?? defaultStore(this.storeKind, this.issuerUrl);
    if (this.storeOptions.encryptionKey === undefined) assertDefaultEncryptionKey(backend, this.constructor.name);
    const runtime = this.build(backend);
    this.runtime = runtime;
    runtime.then((ready) => { this.started = ready; }, () => undefined);
  }

  /** Starts the provider when its base URL is known at construction (subclasses call it last). */
  protected startIfReady(): void {
    if (this.hasBaseUrl) this.start();
  }

  private async build(backend: KeyValueStore): Promise<StoredRuntime & { services: Services }> {
    const store = scopedStore(backend, "fastmcp-oauth:");
    const { box, hmacKey } = await resolveSecrets(backend, store, this.storeOptions.encryptionKey, this.constructor.name);
    const { settings } = this;
    const keyRing = new KeyRing({
      store,
      box,
      algorithm: settings.signingAlgorithm,
      rotationSeconds: settings.signingKeyRotationDays * 86_400,
      overlapSeconds: settings.accessTokenTtlSeconds + 300,
    });
    await keyRing.ready();
    let runtime!: StoredRuntime & { services: Services };
    const grants = new Grants(store, settings.revocationCheckSeconds, (grantId) => this.grantRevoked(runtime, grantId));
    const core: StoredRuntime = {
      store,
      box,
      hmacKey,
      cookies: this.cookies,
      keyRing,
      grants,
      clients: new ClientRegistry(store, { unusedTtlSeconds: settings.unusedClientTtlSeconds, maxUnused: settings.maxUnusedClients }),
      codes: new AuthorizationCodes(store, grants, settings.authorizationCodeTtlSeconds),
      refreshTokens: new RefreshTokens(store, box, grants, { ttlSeconds: settings.refreshTokenTtlSeconds, graceSeconds: settings.refreshTokenGraceSeconds }),
      transactions: new Transactions(store, box, TRANSACTION_TTL_SECONDS),
    };
    runtime = { ...core, services: await this.startServices(core) };
    return runtime;
  }

  private async verifyJwt(runtime: StoredRuntime, token: string): Promise<AccessToken | undefined> {
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

  private async issueTokens(runtime: StoredRuntime & { services: Services }, client: OAuthClientInformation, grantId: string, grant: GrantRecord, scopes: string[]): Promise<OAuthTokenResponse> {
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
      await this.grantExtended(runtime, grantId, grantTtl);
    }
    return response;
  }
}

function grantsRefresh(client: OAuthClientInformation): boolean {
  return (client.grant_types ?? ["authorization_code"]).includes("refresh_token");
}

/** Claims a grant may carry into its access tokens: none of the standard ones, which the token's own fields set. */
function withoutReservedClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !RESERVED_CLAIMS.has(name)));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
