/** Per-write options. */
export interface SetOptions {
  /** Seconds until the entry expires (fractions allowed); absent: it never expires. Must be > 0. */
  ttlSeconds?: number;
}

/**
 * A small key-value store for the stateful parts of auth (clients, codes, tokens, keys).
 * Values are JSON: what `get` returns is always a fresh copy. `add` and `take` are atomic even
 * across processes sharing one backend, which is what makes authorization codes single use.
 */
export interface KeyValueStore {
  /** The value, or undefined when absent or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Writes (or overwrites) the value; `ttlSeconds` absent means no expiry. */
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  /** Writes only if the key is absent (or expired); true when this call wrote it. */
  add(key: string, value: unknown, options?: SetOptions): Promise<boolean>;
  /** Atomic get + delete: of concurrent takes of one key, exactly one gets the value. */
  take<T = unknown>(key: string): Promise<T | undefined>;
  delete(key: string): Promise<void>;
  /**
   * Adds `by` (default 1, may be negative) to the integer at `key`, an absent key counting as 0,
   * and returns the new value; atomic across processes sharing the backend. `ttlSeconds` applies
   * when this call creates the key; an existing key keeps its expiry. Optional for stores written
   * elsewhere: {@link incrementIn} falls back to a read and a write, which concurrent calls can race.
   */
  increment?(key: string, by?: number, options?: SetOptions): Promise<number>;
  /** Releases what the store owns (connections, timers). */
  close?(): Promise<void>;
}

/** A lone UTF-16 surrogate (a valid pair matches as one code point, not as this). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Throws a TypeError unless `key` is a non-empty, well-formed string. Lone surrogates are
 * refused because backends see keys as UTF-8, where every lone surrogate becomes U+FFFD: two
 * different keys would share one entry.
 */
export function assertKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(`Storage key must be a non-empty string, got ${describe(key)}`);
  }
  if (LONE_SURROGATE.test(key)) throw new TypeError("Storage key must be well-formed Unicode (it has a lone surrogate)");
}

/** The TTL in milliseconds (rounded up, at least 1), or undefined for no expiry. */
export function ttlMilliseconds(options: SetOptions | undefined): number | undefined {
  const ttl = options?.ttlSeconds;
  if (ttl === undefined) return undefined;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
    throw new TypeError(`ttlSeconds must be a finite number > 0, got ${describe(ttl)}`);
  }
  return Math.max(1, Math.ceil(ttl * 1000));
}

/** The absolute expiry time (epoch milliseconds) for a write now, or undefined. */
export function expiryTime(options: SetOptions | undefined): number | undefined {
  const ttl = ttlMilliseconds(options);
  return ttl === undefined ? undefined : Date.now() + ttl;
}

/** JSON text of a value; a TypeError for anything JSON cannot represent as a value. */
export function encodeValue(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) {
    throw new TypeError(`Storage values must be JSON-serialisable, got ${describe(value)}`);
  }
  return json;
}

/** A KeyValueStore that stores every key as `prefix + key` in `store` (which it does not own). */
export function scopedStore(store: KeyValueStore, prefix: string): KeyValueStore {
  if (typeof prefix !== "string" || prefix.length === 0) {
    throw new TypeError(`scopedStore prefix must be a non-empty string, got ${describe(prefix)}`);
  }
  const scoped = (key: string): string => {
    assertKey(key);
    return prefix + key;
  };
  return {
    get: async <T>(key: string) => store.get<T>(scoped(key)),
    set: async (key, value, options) => store.set(scoped(key), value, options),
    add: async (key, value, options) => store.add(scoped(key), value, options),
    take: async <T>(key: string) => store.take<T>(scoped(key)),
    delete: async (key) => store.delete(scoped(key)),
    increment: async (key, by, options) => incrementIn(store, scoped(key), by, options),
  };
}

/** `store.increment`, or for a store without it, a read then a write (not atomic). */
export async function incrementIn(store: KeyValueStore, key: string, by = 1, options?: SetOptions): Promise<number> {
  assertIncrement(by);
  if (store.increment) return store.increment(key, by, options);
  const current = counterValue(await store.get(key));
  await store.set(key, current + by, options);
  return current + by;
}

/** Throws a TypeError unless `by` is a safe integer. */
export function assertIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new TypeError(`increment needs a safe integer, got ${describe(by)}`);
}

/** The integer a counter holds (absent: 0); a TypeError for a value that is not one. */
export function counterValue(value: unknown): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value)) throw new TypeError(`increment needs an integer value, the key holds ${describe(value)}`);
  return value as number;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return "a symbol";
  return String(value);
}
