import type { Redis } from "ioredis";
import { StorageError } from "./errors.js";
import { assertIncrement, assertKey, encodeValue, ttlMilliseconds, type KeyValueStore, type SetOptions } from "./store.js";

export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Ignored when `client` is
   * given. Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /** An ioredis client to use instead of one made from `url`; it stays yours (`close()` leaves it open). */
  client?: Redis;
  /** Prepended to every key, to share one Redis database with other applications. Default "". */
  keyPrefix?: string;
}

const DEFAULT_URL = "redis://127.0.0.1:6379";

/** INCRBY, with the expiry set only when the call creates the key (one round trip, atomic). */
const INCREMENT_SCRIPT = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

/**
 * Settings for a client this store creates: against an unreachable or stuck Redis, a request
 * fails within seconds instead of waiting in the offline queue forever. The client keeps
 * reconnecting in the background, so the store recovers when Redis comes back.
 */
const CLIENT_OPTIONS = { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, commandTimeout: 5000 };

/**
 * A store in Redis (>= 6.2), for several server instances behind a load balancer. TTLs are
 * Redis expiries (PX), `add` is `SET NX`, `take` is `GETDEL`: atomic across every client.
 */
export class RedisStore implements KeyValueStore {
  /** ioredis is loaded on demand: importing the storage module does not cost its load time. */
  readonly #client: Promise<Redis>;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  /** The server's address without credentials, for error messages. */
  readonly #where: string;
  #lastConnectionError: string | undefined;

  constructor(options: RedisStoreOptions = {}) {
    const prefix = options.keyPrefix ?? "";
    if (typeof prefix !== "string") throw new TypeError("keyPrefix must be a string");
    this.#prefix = prefix;
    if (options.client !== undefined) {
      this.#client = Promise.resolve(options.client);
      this.#ownsClient = false;
      this.#where = describeClient(options.client);
      return;
    }
    const url = options.url ?? DEFAULT_URL;
    this.#where = redactUrl(url);
    this.#ownsClient = true;
    this.#client = import("ioredis").then(({ Redis }) => {
      const client = new Redis(url, CLIENT_OPTIONS);
      // Without a listener ioredis logs every failed reconnect; the last one explains later failures.
      client.on("error", (error: Error) => { this.#lastConnectionError = error.message; });
      client.on("ready", () => { this.#lastConnectionError = undefined; });
      return client;
    });
    this.#client.catch(() => undefined); // a failed import is reported by the first request
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const name = this.#key(key);
    return decode<T>(await this.#run("GET", (client) => client.get(name)));
  }

  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    const name = this.#key(key);
    const json = encodeValue(value);
    const ttl = ttlMilliseconds(options);
    await this.#run("SET", (client) => ttl === undefined ? client.set(name, json) : client.set(name, json, "PX", ttl));
  }

  async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    const name = this.#key(key);
    const json = encodeValue(value);
    const ttl = ttlMilliseconds(options);
    const reply = await this.#run("SET NX", (client) =>
      ttl === undefined ? client.set(name, json, "NX") : client.set(name, json, "PX", ttl, "NX"));
    return reply === "OK";
  }

  async take<T = unknown>(key: string): Promise<T | undefined> {
    const name = this.#key(key);
    return decode<T>(await this.#run("GETDEL", (client) => client.getdel(name)));
  }

  async delete(key: string): Promise<void> {
    const name = this.#key(key);
    await this.#run("DEL", (client) => client.del(name));
  }

  async increment(key: string, by = 1, options?: SetOptions): Promise<number> {
    assertIncrement(by);
    const name = this.#key(key);
    const ttl = ttlMilliseconds(options);
    const reply = await this.#run("INCRBY", (client) => client.eval(INCREMENT_SCRIPT, 1, name, String(by), ttl === undefined ? "" : String(ttl)));
    return Number(reply);
  }

  /** Closes the connection if this store created it; a client passed in is left as it is. */
  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    const client = await this.#client.catch(() => undefined);
    if (client === undefined) return;
    if (client.status === "ready") {
      try {
        await client.quit();
        return;
      } catch {
        // Fall through: drop the connection without waiting for the server.
      }
    }
    client.disconnect();
  }

  #key(key: string): string {
    assertKey(key);
    return this.#prefix + key;
  }

  async #run<T>(command: string, run: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await run(await this.#client);
    } catch (error) {
      throw this.#failure(command, error);
    }
  }

  /** A StorageError without the command's arguments (ioredis errors can carry keys and values). */
  #failure(command: string, error: unknown): StorageError {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && error.name === "ReplyError") {
      // Redis echoes the start of an unknown command's arguments; they may be secrets.
      const reply = message.replace(/,? with args beginning with:.*$/s, "");
      const hint = /unknown command/i.test(reply) && command === "GETDEL" ? " (take needs Redis >= 6.2)" : "";
      return new StorageError(`Redis at ${this.#where} refused ${command}: ${reply}${hint}`);
    }
    const reason = this.#lastConnectionError ?? message;
    return new StorageError(`Redis at ${this.#where} is unavailable (${command} failed: ${reason})`);
  }
}

function decode<T>(json: string | null): T | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined; // not written by a KeyValueStore: as good as absent
  }
}

/** `redis://host:port/db` without user or password; a TypeError (not naming it) for a bad URL. */
function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("RedisStore url is not a valid URL (expected redis://host:port or rediss://host:port)");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(`RedisStore url must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const path = parsed.pathname === "/" ? "" : parsed.pathname;
  return `${parsed.protocol}//${parsed.host}${path}`;
}

function describeClient(client: Redis): string {
  const { host, port, path, db } = client.options;
  if (path) return `unix:${path}`;
  return `redis://${host ?? "127.0.0.1"}:${port ?? 6379}${db ? `/${db}` : ""}`;
}
