import { randomBytes } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SecretBox } from "../../../storage/encryption.js";
import { FileStore } from "../../../storage/file.js";
import { MemoryStore } from "../../../storage/memory.js";
import type { KeyValueStore } from "../../../storage/store.js";
import { AuthConfigurationError } from "../../urls.js";

export interface ProviderSecrets {
  /** Seals what the store must give back (signing keys, retried refresh responses). */
  box: SecretBox;
  /** Signs CSRF tokens; shared by every instance through the store. */
  hmacKey: Buffer;
}

const KEY_FILE = "encryption.key";

/** The default key of each MemoryStore: every provider sharing one in this process must open what the others sealed. */
const memoryStoreKeys = new WeakMap<MemoryStore, string>();

/**
 * The encryption key (configured, or a default that fits the store) and the HMAC key (generated
 * once, kept sealed in the store, so every instance uses the same).
 */
export async function resolveSecrets(backend: KeyValueStore, store: KeyValueStore, encryptionKey: string | undefined, owner: ProviderName): Promise<ProviderSecrets> {
  const box = SecretBox.fromKey(encryptionKey ?? (await defaultEncryptionKey(backend, owner)));
  await store.add("secret:hmac", box.seal(randomBytes(32).toString("base64url"), "secret:hmac"));
  const sealed = await store.get<string>("secret:hmac");
  let hmac: string;
  try {
    hmac = box.open(sealed!, "secret:hmac");
  } catch {
    throw new AuthConfigurationError("The secrets in the store cannot be decrypted with this encryptionKey: every instance sharing a store needs the same one");
  }
  return { box, hmacKey: Buffer.from(hmac, "base64url") };
}

/**
 * Without a configured key: a MemoryStore needs none beyond the process (one random key per
 * store); a FileStore gets a key file inside its directory (mode 0600), made on first start. Any
 * other store is shared by several machines, which must agree on the key, so it has to be
 * configured.
 */
async function defaultEncryptionKey(backend: KeyValueStore, owner: ProviderName): Promise<string> {
  if (backend instanceof MemoryStore) {
    let key = memoryStoreKeys.get(backend);
    if (key === undefined) memoryStoreKeys.set(backend, (key = SecretBox.generateKey()));
    return key;
  }
  if (backend instanceof FileStore) {
    const path = join(backend.directory, KEY_FILE);
    // Written in full under a temporary name, then linked into place (which fails if another
    // process got there first): a process starting at the same moment never reads a partial file.
    const temp = join(backend.directory, `.${KEY_FILE}.${randomBytes(8).toString("hex")}`);
    await writeFile(temp, `${SecretBox.generateKey()}\n`, { mode: 0o600, flag: "wx" });
    try {
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    const key = (await readFile(path, "utf8")).trim();
    if (key === "") throw new AuthConfigurationError(`The encryption key file ${path} is empty: restore it, or pass encryptionKey`);
    return key;
  }
  throw missingEncryptionKey(owner);
}

/** Throws unless `backend` can do without a configured encryption key (a MemoryStore or a FileStore). */
export function assertDefaultEncryptionKey(backend: KeyValueStore, owner: ProviderName): void {
  if (!(backend instanceof MemoryStore) && !(backend instanceof FileStore)) throw missingEncryptionKey(owner);
}

/** A provider class's name, which also names its environment variables (FASTMCP_SERVER_AUTH_<NAME>_*). */
export type ProviderName = string;

function missingEncryptionKey(owner: ProviderName): AuthConfigurationError {
  return new AuthConfigurationError(
    `${owner} needs encryptionKey with this store (every instance must use the same): pass it, or set FASTMCP_SERVER_AUTH_${owner.toUpperCase()}_ENCRYPTION_KEY (generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")`,
  );
}

