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
const RELOAD_COOLDOWN_MS = 5_000;
/**
 * How stale the ring may be when signing: a key another instance rotated out is picked up within
 * this, far inside the 5 minutes a retired key stays published beyond its tokens' lifetime.
 */
const SIGNING_RELOAD_MS = 60_000;

/**
 * The provider's signing keys, kept in its store so every instance sharing the store signs with
 * the same key and publishes the same JWKS. The first instance to start generates the key; a key
 * is rotated after `rotationSeconds`, and a retired key stays in the JWKS until the tokens it
 * signed have expired, so verifiers never see a valid token whose key vanished.
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
    if (kid !== undefined && this.keys.some((key) => key.kid === kid && isPublished(key))) return true;
    if (Date.now() - this.lastLoad < RELOAD_COOLDOWN_MS) return false;
    await this.reload(true);
    return kid !== undefined && this.keys.some((key) => key.kid === kid && isPublished(key));
  }

  async jwks(): Promise<JSONWebKeySet> {
    await this.ready();
    return { keys: this.keys.filter(isPublished).map((key) => key.jwk) };
  }

  /** The algorithms the published keys sign with. */
  algorithms(): KeyPairAlgorithm[] {
    return [...new Set(this.keys.map((key) => key.alg))];
  }

  /** Starts signing with a new key now; the previous one stays published for the overlap. */
  async rotate(): Promise<void> {
    await this.ready();
    const now = nowSeconds();
    const ring = (await this.options.store.get<StoredRing>(RING_KEY)) ?? { keys: [] };
    const keys = ring.keys
      .map((key) => (key.retiredAt === undefined ? { ...key, retiredAt: now, publishedUntil: now + this.options.overlapSeconds } : key))
      .filter((key) => key.publishedUntil === undefined || key.publishedUntil > now);
    await this.options.store.set(RING_KEY, { keys: [this.newStoredKey(), ...keys] } satisfies StoredRing);
    await this.reload(true);
  }

  private current(): LiveKey {
    const key = this.keys.find((candidate) => candidate.retiredAt === undefined) ?? this.keys[0];
    if (!key) throw new Error("the signing key ring is empty");
    return key;
  }

  /** One instance rotates: the one that wins the lock named after the key being retired. */
  private async rotateIfDue(): Promise<void> {
    const key = this.current();
    if (nowSeconds() - key.createdAt < this.options.rotationSeconds) return;
    if (await this.options.store.add(`signing-keys-rotation:${key.kid}`, true, { ttlSeconds: 600 })) await this.rotate();
    else if (Date.now() - this.lastLoad >= RELOAD_COOLDOWN_MS) await this.reload(true);
  }

  private newStoredKey(): StoredKey {
    const kid = randomBytes(12).toString("base64url");
    const pem = generatePrivateKey(this.options.algorithm).export({ type: "pkcs8", format: "pem" }).toString();
    return { kid, alg: this.options.algorithm, sealedPrivateKey: this.options.box.seal(pem, `signing-key:${kid}`), createdAt: nowSeconds() };
  }

  private async reload(force = false): Promise<void> {
    if (this.loading) return this.loading;
    if (!force && this.keys.length > 0) return;
    this.loading = (async () => {
      try {
        const ring = await this.options.store.get<StoredRing>(RING_KEY);
        const keys = await Promise.all((ring?.keys ?? []).map((stored) => this.liveKey(stored)));
        this.keys = keys.filter((key): key is LiveKey => key !== undefined);
        this.jwkSet = createLocalJWKSet({ keys: this.keys.filter(isPublished).map((key) => key.jwk) });
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
    return { kid: stored.kid, alg: stored.alg, privateKey, jwk, createdAt: stored.createdAt, retiredAt: stored.retiredAt, publishedUntil: stored.publishedUntil };
  }
}

function isPublished(key: Pick<LiveKey, "publishedUntil">): boolean {
  return key.publishedUntil === undefined || key.publishedUntil > nowSeconds();
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
