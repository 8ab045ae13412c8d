import { assertIncrement, assertKey, counterValue, encodeValue, expiryTime, type KeyValueStore, type SetOptions } from "./store.js";

export interface MemoryStoreOptions {
  /** Most entries kept; past it the oldest written is evicted. Default 100 000. */
  maxEntries?: number;
}

interface Entry {
  json: string;
  expiresAt: number | undefined;
}

/** Writes between two sweeps of expired entries. */
const SWEEP_EVERY = 1000;

/**
 * An in-process store: for tests and single-process servers. Nothing survives a restart and
 * nothing is shared between processes. Entries are kept as JSON text, so values are copies.
 */
export class MemoryStore implements KeyValueStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #writesSinceSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
    }
    this.#maxEntries = maxEntries;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const entry = this.#live(key);
    return entry === undefined ? undefined : (JSON.parse(entry.json) as T);
  }

  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    assertKey(key);
    this.#write(key, { json: encodeValue(value), expiresAt: expiryTime(options) });
  }

  async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    assertKey(key);
    const entry = { json: encodeValue(value), expiresAt: expiryTime(options) };
    if (this.#live(key) !== undefined) return false;
    this.#write(key, entry);
    return true;
  }

  async take<T = unknown>(key: string): Promise<T | undefined> {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return JSON.parse(entry.json) as T;
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    this.#entries.delete(key);
  }

  async increment(key: string, by = 1, options?: SetOptions): Promise<number> {
    assertIncrement(by);
    const entry = this.#live(key);
    const value = counterValue(entry === undefined ? undefined : JSON.parse(entry.json)) + by;
    this.#write(key, { json: String(value), expiresAt: entry === undefined ? expiryTime(options) : entry.expiresAt });
    return value;
  }

  /** Removes every expired entry; returns how many. */
  sweep(): number {
    const now = Date.now();
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (isExpired(entry, now)) {
        this.#entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  #live(key: string): Entry | undefined {
    assertKey(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (!isExpired(entry, Date.now())) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #write(key: string, entry: Entry): void {
    // Re-inserting moves the key to the end of the Map's order, so the first key is the oldest write.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (++this.#writesSinceSweep >= SWEEP_EVERY) {
      this.#writesSinceSweep = 0;
      this.sweep();
    }
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

function isExpired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now;
}
