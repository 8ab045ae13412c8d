import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { createLocalJWKSet, exportJWK, SignJWT, type JSONWebKeySet, type JWK, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { SecretBox } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";
import { AuthConfigurationError } from "../../urls.js";
import type { KeyPairAlgorithm } from "../../verifiers/key-pair.js";

/** A signing key as stored: the private key sealed with the provider's encryption key. */
interface StoredKey {
  kid: string;
  alg: KeyPairAlgorithm;
  sealedPrivateKey: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Epoch seconds from which it signs (published before then, so verifiers know it in advance). Default `createdAt`. */
  activatesAt?: number;
  /** Epoch seconds after which it signs nothing more; still published until `publishedUntil`. */
  retiredAt?: number;
  publishedUntil?: number;
}

interface StoredRing {
  keys: StoredKey[];
}

interface LiveKey {
  kid: string;
  alg: KeyPairAlgorithm;
  privateKey: KeyObject;
  jwk: JWK;
  createdAt: number;
  activatesAt: number;
  retiredAt: number | undefined;
  publishedUntil: number | undefined;
}

export interface KeyRingOptions {
  store: KeyValueStore;
  box: SecretBox;
  algorithm: KeyPairAlgorithm;
  /** A key signs for this long, then a new one takes over. */
  rotationSeconds: number;
  /** A retired key stays published this long (the longest lifetime of a token it signed). */
  overlapSeconds: number;
}

const RING_KEY = "signing-keys";
/** Rereads of the store for an unknown key id, at most this often (a client spraying random kids costs one read a second). */
const RELOAD_COOLDOWN_MS = 1_000;
/**
 * The next key of a scheduled rotation is published this long before it signs (at most a day, at
 * most a quarter of the rotation period), so resource servers that cache the JWKS (JWTVerifier for
 * 10 minutes) know it before they meet a token it signed.
 */
const MAX_PREPUBLISH_SECONDS = 86_400;
/**
 * How stale the ring may be when signing: a key another instance rotated out is picked up within
 * this, far inside the 5 minutes a retired key stays published beyond its tokens' lifetime.
 */
const SIGNING_RELOAD_MS = 60_000;

/**
 * The provider's signing keys, kept in its store so every instance sharing the store signs with
 * the same key and publishes the same JWKS. The first instance to start generates the key; a key
 * is rotated after `rotationSeconds`, its successor published ahead of time, and a retired key
 * stays in the JWKS until the tokens it signed have expired, so verifiers never see a valid token
 * whose key vanished, nor (for a scheduled rotation) a token whose key they could not know yet.
 */
export class KeyRing {
  private keys: LiveKey[] = [];
  private jwkSet: JWTVerifyGetKey | undefined;
  private loading: Promise<void> | undefined;
  private lastLoad = 0;

  constructor(private readonly options: KeyRingOptions) {}

  /** Loads the keys, generating the first one if the store has none. */
  async ready(): Promise<void> {
    if (this.keys.length > 0) return;
    await this.reload();
    if (this.keys.length === 0) {
      await this.options.store.add(RING_KEY, { keys: [this.newStoredKey()] } satisfies StoredRing);
      await this.reload(true);
    }
    if (this.keys.length === 0) {
      throw new AuthConfigurationError("The signing keys in the store cannot be decrypted: every instance sharing a store needs the same encryptionKey");
    }
  }

  /** Signs claims with the current key (rotating first if it is due), as an RFC 9068 access token. */
  async sign(claims: JWTPayload): Promise<string> {
    await this.ready();
    if (Date.now() - this.lastLoad >= SIGNING_RELOAD_MS) await this.reload(true);
    await this.rotateIfDue();
    const key = this.current();
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: "at+jwt", kid: key.kid }).sign(key.privateKey);
  }

  /** The published keys (current and still-published retired ones), as jose's key lookup for jwtVerify. */
  async keyLookup(): Promise<JWTVerifyGetKey> {
    await this.ready();
    return this.jwkSet!;
  }

  /** Whether `kid` is one of the published keys; rereads the store (rate limited) when it is not. */
  async knows(kid: string | undefined): Promise<boolean> {
    await this.ready();
    if (kid !== undefined && this.published().some((key) => key.kid === kid)) return true;
    if (Date.now() - this.lastLoad < RELOAD_COOLDOWN_MS) return false;
    await this.reload(true);
    return kid !== undefined && this.published().some((key) => key.kid === kid);
  }

  async jwks(): Promise<JSONWebKeySet> {
    await this.ready();
    return { keys: this.published().map((key) => key.jwk) };
  }

  private published(): LiveKey[] {
    return this.keys.filter((key) => isPublished(key, this.keys, this.options.overlapSeconds));
  }

  /** The algorithms the published keys sign with. */
  algorithms(): KeyPairAlgorithm[] {
    return [...new Set(this.keys.map((key) => key.alg))];
  }

  /**
   * Starts signing with a new key now (after a suspected leak, say); the previous ones stay
   * published for the overlap. Resource servers meet the new key id before their JWKS cache
   * expires: JWTVerifier refetches at once on an unknown kid (at most every 30 s by default).
   */
  async rotate(): Promise<void> {
    await this.ready();
    await this.writeRing((keys, now) => [this.newStoredKey(now), ...keys.map((key) => (key.retiredAt === undefined ? this.retired(key, now) : key))]);
  }

  /** The active key that started signing last. */
  private current(): LiveKey {
    const now = nowSeconds();
    let current: LiveKey | undefined;
    for (const key of this.keys) {
      if (key.retiredAt !== undefined || key.activatesAt > now) continue;
      if (!current || key.activatesAt > current.activatesAt) current = key;
    }
    if (!current) throw new Error("the signing key ring has no active key");
    return current;
  }

  /**
   * A scheduled rotation, done by one instance (the one that wins a lock named after the key being
   * replaced): the successor is published `prepublish` seconds early and takes over at the due time.
   * An instance that missed the window (it was down) rotates at once.
   */
  private async rotateIfDue(): Promise<void> {
    const key = this.current();
    const now = nowSeconds();
    const due = key.activatesAt + this.options.rotationSeconds;
    const pending = this.keys.some((candidate) => candidate.retiredAt === undefined && candidate.activatesAt > now);
    if (pending || now < due - this.prepublishSeconds()) return;
    if (!(await this.options.store.add(`signing-keys-rotation:${key.kid}`, true, { ttlSeconds: 600 }))) {
      if (Date.now() - this.lastLoad >= RELOAD_COOLDOWN_MS) await this.reload(true);
      return;
    }
    if (now >= due) {
      await this.rotate();
      return;
    }
    await this.writeRing((keys) => [this.newStoredKey(due), ...keys]);
  }

  private prepublishSeconds(): number {
    return Math.min(MAX_PREPUBLISH_SECONDS, this.options.rotationSeconds / 4);
  }

  /** Rewrites the ring: `change` gets the stored keys; keys no longer published are dropped. */
  private async writeRing(change: (keys: StoredKey[], now: number) => StoredKey[]): Promise<void> {
    const now = nowSeconds();
    const ring = (await this.options.store.get<StoredRing>(RING_KEY)) ?? { keys: [] };
    const changed = change(ring.keys, now);
    const keys = changed.filter((key) => isPublished(key, changed, this.options.overlapSeconds, now));
    await this.options.store.set(RING_KEY, { keys } satisfies StoredRing);
    await this.reload(true);
  }

  /** A key replaced at `now`: it stops signing, and stays published until its last tokens expire. */
  private retired(key: StoredKey, now: number): StoredKey {
    return { ...key, retiredAt: now, publishedUntil: now + this.options.overlapSeconds };
  }

  private newStoredKey(activatesAt = nowSeconds()): StoredKey {
    const kid = randomBytes(12).toString("base64url");
    const pem = generatePrivateKey(this.options.algorithm).export({ type: "pkcs8", format: "pem" }).toString();
    return { kid, alg: this.options.algorithm, sealedPrivateKey: this.options.box.seal(pem, `signing-key:${kid}`), createdAt: nowSeconds(), activatesAt };
  }

  private async reload(force = false): Promise<void> {
    if (this.loading) return this.loading;
    if (!force && this.keys.length > 0) return;
    this.loading = (async () => {
      try {
        const ring = await this.options.store.get<StoredRing>(RING_KEY);
        const keys = await Promise.all((ring?.keys ?? []).map((stored) => this.liveKey(stored)));
        this.keys = keys.filter((key): key is LiveKey => key !== undefined);
        this.jwkSet = createLocalJWKSet({ keys: this.published().map((key) => key.jwk) });
        this.lastLoad = Date.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** A stored key made usable; undefined (left out) when it cannot be decrypted with this instance's key. */
  private async liveKey(stored: StoredKey): Promise<LiveKey | undefined> {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(this.options.box.open(stored.sealedPrivateKey, `signing-key:${stored.kid}`));
    } catch {
      return undefined;
    }
    const jwk: JWK = { ...(await exportJWK(createPublicKey(privateKey))), kid: stored.kid, alg: stored.alg, use: "sig" };
    return {
      kid: stored.kid,
      alg: stored.alg,
      privateKey,
      jwk,
      createdAt: stored.createdAt,
      activatesAt: stored.activatesAt ?? stored.createdAt,
      retiredAt: stored.retiredAt,
      publishedUntil: stored.publishedUntil,
    };
  }
}

/** What publication depends on, for stored and loaded keys alike. */
type KeyTimes = Pick<StoredKey, "createdAt" | "activatesAt" | "retiredAt" | "publishedUntil">;

function activation(key: KeyTimes): number {
  return key.activatesAt ?? key.createdAt;
}

/**
 * Whether `key` is in the JWKS at `now`: pending and current keys are; a key retired by hand until
 * its `publishedUntil`; a key replaced by a scheduled rotation until its successor's activation
 * plus the overlap (the lifetime of the last tokens it signed).
 */
function isPublished(key: KeyTimes, ring: readonly KeyTimes[], overlapSeconds: number, now = nowSeconds()): boolean {
  if (key.publishedUntil !== undefined) return key.publishedUntil > now;
  if (key.retiredAt !== undefined) return true;
  const successors = ring.filter((other) => other.retiredAt === undefined && activation(other) > activation(key) && activation(other) <= now);
  if (successors.length === 0) return true;
  return Math.min(...successors.map(activation)) + overlapSeconds > now;
}

function generatePrivateKey(algorithm: KeyPairAlgorithm): KeyObject {
  switch (algorithm) {
    case "RS256": return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    case "ES256": return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    case "EdDSA": return generateKeyPairSync("ed25519").privateKey;
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
