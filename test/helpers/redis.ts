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
