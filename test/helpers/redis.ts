import { Redis } from "ioredis";

/** The Redis the tests use: Debian's redis-server on its standard loopback port (.ci/run starts one). */
export const REDIS_URL = "redis://127.0.0.1:6379";

/** Whether a Redis answers at REDIS_URL. */
async function redisAnswers(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined);
  try {
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** True under CI (where a missing Redis must fail the tests, not skip them); elsewhere, whether one answers. */
export const redisAvailable = process.env.CI ? true : await redisAnswers();

/** Deletes every key under `prefix` with SCAN + DEL (no KEYS: the database may be shared); how many keys are left. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const raw = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await raw.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    return (await raw.keys(`${prefix}*`)).length;
  } finally {
    raw.disconnect();
  }
}
