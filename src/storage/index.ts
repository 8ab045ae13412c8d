export { incrementIn, scopedStore, type KeyValueStore, type SetOptions } from "./store.js";
export { MemoryStore, type MemoryStoreOptions } from "./memory.js";
export { FileStore, defaultStoreDirectory, type FileStoreOptions } from "./file.js";
export { RedisStore, type RedisStoreOptions } from "./redis.js";
export { SecretBox, encryptedStore, hashSecret, safeEqual, PASSPHRASE_SALT } from "./encryption.js";
export { StorageError } from "./errors.js";
