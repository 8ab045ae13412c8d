import { createPublicKey, type KeyObject } from "node:crypto";
import { importJWK, importSPKI, importX509, jwtVerify, type JWK, type JWTPayload, type JWTVerifyOptions, type JWSHeaderParameters } from "jose";
import { accessToken, clientIdFromClaims, scopesFromClaims, type AccessToken, type AccessTokenInit } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { variableName, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import { isKnownAlgorithm, isSymmetric, type JwtAlgorithm } from "./algorithms.js";
import { RemoteKeySet, type UsableKey } from "./jwks.js";
import { signatureTail, VerifiedTokenCache } from "./token-cache.js";
import { reportToStderr } from "../report.js";
import { isCanonicalCompactJws } from "./compact-jws.js";

export interface JWTVerifierOptions extends AuthProviderOptions {
  /** A public key (PEM SPKI or X.509 certificate, a JWK, a KeyObject) or, for HS*, the shared secret. */
  publicKey?: string | JWK | KeyObject | CryptoKey;
  /** Where the identity provider publishes its signing keys. */
  jwksUri?: string | URL;
  /** Accepted `iss` values. */
  issuer?: string | readonly string[];
  /**
   * Accepted `aud` values: the identifier of this server at the identity provider. Defaults to
   * this server's MCP URL when `baseUrl` is set (RFC 8707). Required otherwise: a token minted
   * for another service must not work here. `false` turns the check off (not recommended).
   */
  audience?: string | readonly string[] | false;
  /** Accepted signature algorithm(s). Default RS256. */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  /** Leeway for `exp` and `nbf`, in seconds. Default 0. */
  clockTolerance?: number;
  /** Refuse tokens without `exp`. Default true. */
  requireExpiry?: boolean;
  /** Remote key set tuning. */
  jwks?: { cooldownMs?: number; maxAgeMs?: number; timeoutMs?: number };
  /**
   * Verified tokens remembered, so a client's token is checked once, not on every request:
   * least recently used out first, each kept no longer than its `exp` (+ clockTolerance), and
   * dropped when its key leaves the JWKS. Default 10,000; 0 disables.
   */
  cacheSize?: number;
  /** Allow a non-loopback `http:` jwksUri (private networks only). */
  allowInsecureHttp?: boolean;
  /** Told why the JWKS could not be fetched. Default: stderr. */
  onError?: (error: unknown) => void;
}

type KeyMaterial = CryptoKey | Uint8Array | KeyObject;

/** Longest token looked at: anything longer is refused unread. */
const MAX_TOKEN_LENGTH = 16_384;

/** Thrown by the key resolver when the JWKS has no key for the token's alg and kid. */
class NoUsableKey extends Error {}

const JWT_SETTINGS: SettingSpec<JWTVerifierOptions> = {
  publicKey: { env: "PUBLIC_KEY", kind: "string" },
  jwksUri: { env: "JWKS_URI", kind: "string" },
  issuer: { env: "ISSUER", kind: "list" },
  audience: { env: "AUDIENCE", kind: "list" },
  algorithm: { env: "ALGORITHM", kind: "list" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  clockTolerance: { env: "CLOCK_TOLERANCE", kind: "number" },
};

interface CachedToken {
  readonly token: AccessToken;
  /** The verifying key's fingerprint (JWKS keys), so removing a key from the set revokes its tokens here. */
  readonly fingerprint: string | undefined;
}

/**
 * Validates JWT access tokens: signature (a fixed key or a remote JWKS), `exp`/`nbf`, issuer,
 * audience, and algorithm (`none`, and any algorithm not configured, never pass). Scopes come from
 * `scope` or `scp`; the client from `client_id`, `azp`, then `sub`. Built on jose.
 */
export class JWTVerifier extends TokenVerifier {
  readonly algorithms: readonly JwtAlgorithm[];
  readonly issuer: string | readonly string[] | undefined;
  private readonly explicitAudience: string | readonly string[] | false | undefined;
  private readonly clockTolerance: number;
  private readonly requireExpiry: boolean;
  private readonly keySet: RemoteKeySet | undefined;
  /** The configured key, imported once per algorithm (a WebCrypto key is bound to one). */
  private readonly staticKeys = new Map<string, Promise<KeyMaterial>>();
  private readonly publicKey: JWTVerifierOptions["publicKey"];
  /** The imported key when there is one algorithm (set once the import resolves). */
  private singleStaticKey: KeyMaterial | undefined;
  private readonly cache: VerifiedTokenCache<CachedToken>;
  private verifyOptions: JWTVerifyOptions | undefined;

  /**
   * Options left out come from FASTMCP_SERVER_AUTH_JWT_* (explicit arguments win); a provider that
   * builds its own verifier passes `envPrefix: null`, so another provider's variables never leak in.
   */
  constructor(options: JWTVerifierOptions = {}, envPrefix: "JWT" | null = "JWT") {
    super((options = envPrefix === null ? options : withEnvironmentDefaults(envPrefix, options, JWT_SETTINGS)));
    this.algorithms = Object.freeze(algorithmsOf(options.algorithm));
    if ((options.publicKey === undefined) === (options.jwksUri === undefined)) {
      throw new AuthConfigurationError(`JWTVerifier needs exactly one of publicKey and jwksUri (or ${variableName("JWT", "PUBLIC_KEY")} / ${variableName("JWT", "JWKS_URI")})`);
    }
    const symmetric = this.algorithms.filter(isSymmetric);
    if (symmetric.length > 0 && symmetric.length !== this.algorithms.length) {
      throw new AuthConfigurationError("JWTVerifier cannot mix HS* algorithms with public-key algorithms: a public key would then work as an HMAC secret");
    }
    if (symmetric.length > 0 && options.jwksUri !== undefined) throw new AuthConfigurationError("HS* algorithms need a shared secret (publicKey), not a jwksUri");
    this.issuer = options.issuer;
    this.explicitAudience = options.audience;
    if (options.audience === undefined && options.baseUrl === undefined && options.resourceBaseUrl === undefined) {
      throw new AuthConfigurationError(
        "JWTVerifier needs an audience (the identifier of this server at your identity provider), or a baseUrl to bind tokens to this server's URL; audience: false disables the check",
      );
    }
    this.clockTolerance = options.clockTolerance ?? 0;
    this.requireExpiry = options.requireExpiry ?? true;
    const onError = options.onError ?? reportToStderr;
    if (options.jwksUri !== undefined) {
      this.keySet = new RemoteKeySet(endpointUrl(options.jwksUri, "jwksUri", options), {
        algorithms: this.algorithms,
        cooldownMs: options.jwks?.cooldownMs ?? 30_000,
        maxAgeMs: options.jwks?.maxAgeMs ?? 10 * 60_000,
        timeoutMs: options.jwks?.timeoutMs ?? 5_000,
        maxBytes: 512 * 1024,
        onError,
      });
    } else {
      this.publicKey = options.publicKey;
      // Import now so that a bad key fails at startup, not on the first request. With one
      // algorithm, jose is then handed the key itself: no resolver call and await per token.
      const imported = this.staticKeyFor(this.algorithms[0]!);
      if (this.algorithms.length === 1) imported.then((key) => { this.singleStaticKey = key; }, () => undefined);
      else void imported.catch(() => undefined);
      validateStaticKey(options.publicKey!, this.algorithms[0]!);
    }
    this.cache = new VerifiedTokenCache(options.cacheSize ?? 10_000, (entry) => entry.fingerprint === undefined || this.keySet!.contains(entry.fingerprint), signatureTail);
  }

  /** The accepted audiences: the configured ones, or this server's MCP URL. */
  get audience(): readonly string[] | false {
    if (this.explicitAudience === false) return false;
    if (this.explicitAudience !== undefined) return typeof this.explicitAudience === "string" ? [this.explicitAudience] : this.explicitAudience;
    return [this.resourceUrl!];
  }

  /** How many times the JWKS was fetched. */
  get jwksFetches(): number {
    return this.keySet?.fetches ?? 0;
  }

  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    // The audience may derive from the MCP URL, which just changed.
    this.verifyOptions = undefined;
    this.cache.clear();
  }

  /**
   * The token's AccessToken if it was verified before and is still acceptable: not past its
   * `exp` (+ clockTolerance), its JWKS key still published. Synchronous, so the HTTP transports
   * serve a token already seen without a promise.
   */
  override cachedToken(token: string): AccessToken | undefined {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    // Cache hits must not postpone the refresh that notices a key removed from the JWKS.
    this.keySet?.refreshIfStale();
    return this.cache.get(token)?.token;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const cached = this.cachedToken(token);
    if (cached) return cached;
    if (!isCanonicalCompactJws(token)) return null;
    try {
      return await this.verifyUncached(token);
    } catch {
      return null;
    }
  }

  /**
   * jose checks everything: the header (its `alg` against the configured list, `crit`), the
   * signature, then the claims. It decodes the header once and hands it to the key resolver, so
   * the key is picked (JWKS: by `alg` and `kid`) without decoding the token twice.
   */
  private async verifyUncached(token: string): Promise<AccessToken | null> {
    let usable: UsableKey | undefined;
    const key = this.keySet
      ? async (header: JWSHeaderParameters) => {
        usable = await this.keySet!.keyFor(header);
        if (!usable) throw new NoUsableKey();
        return usable.key;
      }
      : (this.singleStaticKey ?? ((header: JWSHeaderParameters) => this.staticKeyFor(header.alg)));
    const { payload } = await jwtVerify(token, key, (this.verifyOptions ??= this.jwtVerifyOptions()));
    const verified = toAccessToken(token, payload);
    const expiresAtMs = payload.exp !== undefined ? (payload.exp + this.clockTolerance) * 1000 : Date.now() + 5 * 60_000;
    this.cache.set(token, { token: verified, fingerprint: (usable as UsableKey | undefined)?.fingerprint }, expiresAtMs);
    return verified;
  }

  /** What jose checks besides the signature; built once (the audience may follow `bind`). */
  private jwtVerifyOptions(): JWTVerifyOptions {
    const audience = this.audience;
    const options: JWTVerifyOptions = {
      algorithms: [...this.algorithms],
      clockTolerance: this.clockTolerance,
      requiredClaims: this.requireExpiry ? ["exp"] : [],
    };
    if (this.issuer !== undefined) options.issuer = this.issuer as string | string[];
    if (audience !== false) options.audience = audience as string[];
    return options;
  }

  private staticKeyFor(alg: string | undefined): Promise<KeyMaterial> {
    let key = this.staticKeys.get(alg!);
    if (!key) {
      // jose has checked alg against the configured list before asking for its key.
      key = importStaticKey(this.publicKey!, alg as JwtAlgorithm);
      this.staticKeys.set(alg!, key);
    }
    return key;
  }
}

function toAccessToken(token: string, payload: JWTPayload): AccessToken {
  const claims = payload as Record<string, unknown>;
  const fields: AccessTokenInit = { token, clientId: clientIdFromClaims(claims), scopes: scopesFromClaims(claims), claims };
  if (typeof payload.exp === "number") fields.expiresAt = payload.exp;
  if (typeof payload.sub === "string") fields.subject = payload.sub;
  const resource = typeof payload.aud === "string" ? payload.aud : Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : undefined;
  if (resource !== undefined) fields.resource = resource;
  return accessToken(fields);
}

function algorithmsOf(option: JWTVerifierOptions["algorithm"]): JwtAlgorithm[] {
  const list = option === undefined ? ["RS256"] : typeof option === "string" ? [option] : [...option];
  if (list.length === 0) throw new AuthConfigurationError("JWTVerifier needs at least one algorithm");
  for (const alg of list) {
    if (!isKnownAlgorithm(alg)) throw new AuthConfigurationError(`Unsupported JWT algorithm ${JSON.stringify(alg)}`);
  }
  return list as JwtAlgorithm[];
}

/** Refuses keys that cannot be right, synchronously, so the mistake surfaces at construction. */
function validateStaticKey(key: NonNullable<JWTVerifierOptions["publicKey"]>, alg: JwtAlgorithm): void {
  if (isSymmetric(alg)) {
    if (typeof key !== "string") throw new AuthConfigurationError("HS* algorithms take the shared secret as a string");
    if (key.includes("-----BEGIN")) throw new AuthConfigurationError("HS* algorithms take a shared secret, not a PEM key");
    if (key.length < 32) throw new AuthConfigurationError("the HS* shared secret must be at least 32 characters");
    return;
  }
  if (typeof key === "string") {
    if (key.includes("PRIVATE KEY")) throw new AuthConfigurationError("publicKey is a private key: give the verifier the public key only");
    if (!key.includes("BEGIN CERTIFICATE") && !key.includes("BEGIN PUBLIC KEY")) {
      throw new AuthConfigurationError("publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----), a certificate, a JWK or a KeyObject");
    }
    let parsed: KeyObject;
    try {
      parsed = createPublicKey(key);
    } catch (error) {
      throw new AuthConfigurationError(`publicKey is not a readable PEM public key or certificate: ${(error as Error).message}`);
    }
    requireKeyTypeFor(parsed, alg);
  } else if (isKeyObject(key)) {
    if (key.type !== "public") throw new AuthConfigurationError("publicKey must be a public KeyObject");
    requireKeyTypeFor(key, alg);
  } else if (!(typeof CryptoKey !== "undefined" && key instanceof CryptoKey) && "d" in (key as JWK)) {
    throw new AuthConfigurationError("publicKey is a private JWK: give the verifier the public key only");
  }
}

const KEY_TYPES: Record<string, string> = { RS: "rsa", PS: "rsa", ES: "ec", Ed: "ed25519" };

/** A key of the wrong kind (an EC key for RS256) would refuse every token: say so at startup instead. */
function requireKeyTypeFor(key: KeyObject, alg: JwtAlgorithm): void {
  const expected = KEY_TYPES[alg.slice(0, 2)] ?? (alg === "EdDSA" ? "ed25519" : undefined);
  if (expected !== undefined && key.asymmetricKeyType !== expected && !(key.asymmetricKeyType === "rsa-pss" && expected === "rsa")) {
    throw new AuthConfigurationError(`publicKey is a ${key.asymmetricKeyType} key, which cannot verify ${alg}`);
  }
}

async function importStaticKey(key: NonNullable<JWTVerifierOptions["publicKey"]>, alg: JwtAlgorithm): Promise<KeyMaterial> {
  if (isSymmetric(alg)) return new TextEncoder().encode(key as string);
  if (typeof key === "string") return key.includes("BEGIN CERTIFICATE") ? importX509(key, alg) : importSPKI(key, alg);
  if (isKeyObject(key)) return key;
  if (typeof CryptoKey !== "undefined" && key instanceof CryptoKey) return key;
  return importJWK(key as JWK, alg) as Promise<CryptoKey>;
}

function isKeyObject(value: unknown): value is KeyObject {
  return typeof value === "object" && value !== null && "asymmetricKeyType" in value && typeof (value as KeyObject).export === "function";
}
