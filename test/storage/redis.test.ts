import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { closedPort } from "../helpers/ports.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore, StorageError } from "fastmcp-ts/storage";
import { describeStoreContract } from "./contract.js";

/** Every key this run writes starts with this; afterAll deletes them. */
const PREFIX = `fastmcp-ts-test:${randomUUID()}:`;



describe.skipIf(!redisAvailable)("RedisStore against a real Redis", () => {
  let raw: Redis;
  beforeAll(() => { raw = new Redis(REDIS_URL); });
  afterAll(async () => {
    const keys = await raw.keys(`${PREFIX}*`);
    if (keys.length > 0) await raw.del(...keys);
    await raw.quit();
  });

  describeStoreContract("RedisStore", { open: () => new RedisStore({ url: REDIS_URL, keyPrefix: `${PREFIX}contract:` }) });

  it("stores JSON under keyPrefix + key, with the TTL as a Redis expiry", async () => {
    const store = new RedisStore({ keyPrefix: `${PREFIX}layout:` });
    await store.set("code:1", { scope: "mcp:read" }, { ttlSeconds: 60 });
    await store.set("client:1", "forever");
    expect(await raw.get(`${PREFIX}layout:code:1`)).toBe('{"scope":"mcp:read"}');
    const pttl = await raw.pttl(`${PREFIX}layout:code:1`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(await raw.pttl(`${PREFIX}layout:client:1`)).toBe(-1);
    expect(await store.add("nx", 1, { ttlSeconds: 30 })).toBe(true);
    expect(await raw.pttl(`${PREFIX}layout:nx`)).toBeGreaterThan(0);
    await store.close();
  });

  it("reads a value it did not write (not JSON) as absent", async () => {
    const store = new RedisStore({ keyPrefix: `${PREFIX}foreign:` });
    await raw.set(`${PREFIX}foreign:k`, "{not json");
    expect(await store.get("k")).toBeUndefined();
    await store.close();
  });

  it("of two clients taking the same keys at once, exactly one gets each value", async () => {
    const keyPrefix = `${PREFIX}race-take:`;
    const [one, two] = [new RedisStore({ keyPrefix }), new RedisStore({ keyPrefix })];
    const keys = Array.from({ length: 200 }, (_, index) => `code:${index}`);
    await Promise.all(keys.map((key) => one.set(key, key)));
    const [fromOne, fromTwo] = await Promise.all([one, two].map((store) => Promise.all(keys.map((key) => store.take(key)))));
    keys.forEach((key, index) => {
      expect([fromOne![index], fromTwo![index]].filter((value) => value !== undefined), key).toEqual([key]);
    });
    expect(await raw.keys(`${keyPrefix}*`)).toEqual([]);
    await Promise.all([one.close(), two.close()]);
  });

  it("of two clients adding the same keys at once, exactly one succeeds for each", async () => {
    const keyPrefix = `${PREFIX}race-add:`;
    const [one, two] = [new RedisStore({ keyPrefix }), new RedisStore({ keyPrefix })];
    const keys = Array.from({ length: 200 }, (_, index) => `marker:${index}`);
    const [addedByOne, addedByTwo] = await Promise.all([one, two].map((store, who) => Promise.all(keys.map((key) => store.add(key, who)))));
    for (const [index, key] of keys.entries()) {
      expect([addedByOne![index], addedByTwo![index]].filter(Boolean), key).toHaveLength(1);
      expect(await one.get(key)).toBe(addedByOne![index] ? 0 : 1);
    }
    await Promise.all([one.close(), two.close()]);
  });

  it("leaves a client passed in open, and uses it", async () => {
    const client = new Redis(REDIS_URL);
    const store = new RedisStore({ client, keyPrefix: `${PREFIX}borrowed:` });
    await store.set("k", "v");
    await store.close();
    expect(await client.get(`${PREFIX}borrowed:k`)).toBe('"v"');
    expect(await store.get("k")).toBe("v");
    await client.quit();
    await expect(store.get("k")).rejects.toThrow(StorageError);
  });
});

describe("RedisStore without a Redis", () => {
  it("fails each request with a StorageError naming the URL without its password, and does not crash", async () => {
    const port = await closedPort();
    const store = new RedisStore({ url: `redis://admin:hunter2-secret@127.0.0.1:${port}/2` });
    for (const request of [() => store.get("k"), () => store.set("k", "a secret value"), () => store.take("k"), () => store.add("k", 1)]) {
      const failure = request();
      await expect(failure).rejects.toThrow(StorageError);
      await expect(failure).rejects.toThrow(`Redis at redis://127.0.0.1:${port}/2 is unavailable`);
      await expect(failure).rejects.toThrow(/ECONNREFUSED/);
      await expect(failure).rejects.not.toThrow(/hunter2|admin|secret value/);
    }
    await store.close();
  }, 20_000);

  it("constructs without connecting, and refuses a bad URL without echoing it", async () => {
    const store = new RedisStore({ url: `redis://127.0.0.1:${await closedPort()}` });
    await store.close();
    expect(() => new RedisStore({ url: "not a url with hunter2" })).toThrow(TypeError);
    expect(() => new RedisStore({ url: "not a url with hunter2" })).not.toThrow(/hunter2/);
    expect(() => new RedisStore({ url: "http://127.0.0.1:6379" })).toThrow(/redis:\/\//);
  });
});
