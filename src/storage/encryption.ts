import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  scryptSync,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { StorageError } from "./errors.js";
import { assertKey, encodeValue, incrementIn, type KeyValueStore } from "./store.js";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/**
 * Passphrases are stretched with scrypt (N = 2^15, r = 8, p = 1) and this fixed salt. A fixed
 * salt lets every process derive the same key from configuration alone, with nothing stored;
 * the price is that equal passphrases give equal keys everywhere, so prefer a random key
 * ({@link SecretBox.generateKey}) and use a long passphrase if you must use one.
 */
export const PASSPHRASE_SALT = "fastmcp-ts/storage/SecretBox/v1";
const SCRYPT_OPTIONS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const CANNOT_DECRYPT = "cannot decrypt the value: it is malformed, was sealed with another key or associated data, or was altered";

/**
 * AES-256-GCM authenticated encryption of strings, for what must be stored recoverably (signing
 * keys, upstream tokens). Sealed text is `v1.<iv>.<ciphertext>.<tag>` (base64url, 12-byte random
 * IV). Create one per key and reuse it: deriving a key from a passphrase takes a moment.
 */
export class SecretBox {
  readonly #key: KeyObject;

  private constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /**
   * From 32 raw bytes, or a string: 64 hex digits or base64/base64url of 32 bytes is used as
   * the key itself; any other non-empty string is a passphrase (see {@link PASSPHRASE_SALT}).
   */
  static fromKey(key: string | Uint8Array): SecretBox {
    if (key instanceof Uint8Array) {
      if (key.byteLength !== KEY_BYTES) {
        throw new TypeError(`SecretBox key must be ${KEY_BYTES} bytes, got ${key.byteLength}`);
      }
      return new SecretBox(Buffer.from(key));
    }
    if (typeof key !== "string" || key.length === 0) {
      throw new TypeError("SecretBox key must be 32 bytes or a non-empty string");
    }
    if (HEX_KEY.test(key)) return new SecretBox(Buffer.from(key, "hex"));
    if (BASE64_KEY.test(key)) return new SecretBox(Buffer.from(key, "base64"));
    return new SecretBox(scryptSync(key.normalize("NFC"), PASSPHRASE_SALT, KEY_BYTES, SCRYPT_OPTIONS));
  }

  /** A new random key: base64url of 32 bytes, ready for {@link SecretBox.fromKey}. */
  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString("base64url");
  }

  /** Encrypts `plaintext`; `open` then needs the same `associatedData` (bound, not encrypted). */
  seal(plaintext: string, associatedData?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, ciphertext, cipher.getAuthTag()].map(encodePart).join(".");
  }

  /** The plaintext of a sealed string; a StorageError if it is not authentic under this key. */
  open(sealed: string, associatedData?: string): string {
    const parts = typeof sealed === "string" ? sealed.split(".") : [];
    if (parts.length !== 4 || parts[0] !== VERSION) throw new StorageError(CANNOT_DECRYPT);
    const [iv, ciphertext, tag] = parts.slice(1).map(decodePart);
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined) throw new StorageError(CANNOT_DECRYPT);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
      if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch {
      throw new StorageError(CANNOT_DECRYPT);
    }
  }
}

/**
 * A KeyValueStore that keeps every value sealed in `store` (which it does not own), with the
 * key as associated data: a value copied to another key does not open. A value that does not
 * open (another key, say after rotation) reads as absent. Counters (`increment`) are not sealed.
 */
export function encryptedStore(store: KeyValueStore, box: SecretBox): KeyValueStore {
  const seal = (key: string, value: unknown): string => {
    assertKey(key);
    return box.seal(encodeValue(value), key);
  };
  const open = <T>(key: string, sealed: unknown): T | undefined => {
    if (typeof sealed !== "string") return undefined;
    try {
      return JSON.parse(box.open(sealed, key)) as T;
    } catch {
      return undefined;
    }
  };
  return {
    get: async <T>(key: string) => open<T>(key, await store.get(key)),
    set: async (key, value, options) => store.set(key, seal(key, value), options),
    add: async (key, value, options) => store.add(key, seal(key, value), options),
    take: async <T>(key: string) => open<T>(key, await store.take(key)),
    delete: (key) => store.delete(key),
    // Counters are numbers the backend adds to: they are kept as they are, not sealed.
    increment: (key, by, options) => incrementIn(store, key, by, options),
  };
}

/** SHA-256 (hex) of a secret, for storing refresh tokens and client secrets by hash. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Constant-time string comparison (both sides hashed first, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

function encodePart(part: string | Buffer): string {
  return typeof part === "string" ? part : part.toString("base64url");
}

function decodePart(part: string): Buffer | undefined {
  return BASE64URL.test(part) ? Buffer.from(part, "base64url") : undefined;
}
