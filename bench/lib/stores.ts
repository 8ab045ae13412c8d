/**
 * The stores behind the authorization-server rows, one per server process: a MemoryStore (nothing
 * to set up), a FileStore in a fresh temporary directory (removed after), or a RedisStore under a
 * key prefix of its own (its keys deleted after). For Redis, the harness also reads the Redis
 * server's CPU time from /proc, like the server's, and its command count (INFO): its share of the
 * work is part of what a request costs.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export type StoreKind = "memory" | "file" | "redis";

/** Where the Redis rows' store lives (`BENCH_REDIS_URL` overrides it). */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface BenchStore {
  readonly kind: StoreKind;
  /** What the server process is configured with (BENCH_STORE...). */
  readonly env: Record<string, string>;
  /** The Redis server's pid, when its /proc entry is visible. */
  readonly pid: number | undefined;
  /** Commands the Redis server has processed so far (all clients'), when the store is Redis. */
  commands(): Promise<number | undefined>;
  /** Removes what the row left: the directory, or every key under the prefix. */
  dispose(): Promise<void>;
}

export async function openStore(kind: StoreKind): Promise<BenchStore> {
  if (kind === "memory") return { kind, env: { BENCH_STORE: "memory" }, pid: undefined, commands: async () => undefined, dispose: async () => {} };
  if (kind === "file") {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-bench-store-"));
    return {
      kind,
      env: { BENCH_STORE: "file", BENCH_STORE_DIR: directory },
      pid: undefined,
      commands: async () => undefined,
      dispose: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const prefix = `fastmcp-bench:${randomBytes(6).toString("hex")}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const pid = redisPid(await redis.info("server"));
  return {
    kind,
    env: {
      BENCH_STORE: "redis",
      BENCH_REDIS_URL: REDIS_URL,
      BENCH_REDIS_PREFIX: prefix,
      // A RedisStore is shared by design, so LocalOAuthProvider needs the key configured.
      BENCH_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
    },
    pid,
    commands: async () => infoField(await redis.info("stats"), "total_commands_processed"),
    dispose: async () => {
      try {
        await deleteKeys(redis, prefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** The server's pid from INFO, if that process is visible here as redis-server. */
function redisPid(info: string): number | undefined {
  const pid = infoField(info, "process_id");
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("redis") ? pid : undefined;
  } catch {
    return undefined;
  }
}

function infoField(info: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:(\\d+)`, "m").exec(info);
  return match ? Number(match[1]) : undefined;
}

/** SCAN + UNLINK of every key under `prefix` (no KEYS: the database may be shared). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}
