import { beforeAll, describe, expect, it } from "vitest";
import { IntrospectionTokenVerifier, JWTVerifier, RSAKeyPair, type JWTKeyPair } from "fastmcp-ts/auth";
import { VerifiedTokenCache } from "../../../src/auth/verifiers/token-cache.js";
import { nowSeconds, privateKeyOf, signJwt, sleep, TestEndpoint, withoutAuthEnvironment } from "./helpers.js";

withoutAuthEnvironment();

const NOW = 1_700_000_000_000;
const LATER = NOW + 60_000;

describe("VerifiedTokenCache", () => {
  it("returns what was stored until it expires", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("t", "value", LATER);
    expect(cache.get("t", NOW)).toBe("value");
    expect(cache.get("t", LATER - 1)).toBe("value");
  });

  it("an entry expires exactly at its expiry time, and is dropped then", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("t", "value", LATER);
    expect(cache.get("t", LATER)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get("t", NOW)).toBeUndefined();
  });

  it("misses for unknown tokens", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("t", "value", LATER);
    expect(cache.get("u", NOW)).toBeUndefined();
  });

  it("is bounded: the least recently stored entry goes first", () => {
    const cache = new VerifiedTokenCache<string>(2);
    cache.set("a", "A", LATER);
    cache.set("b", "B", LATER);
    cache.set("c", "C", LATER);
    expect(cache.size).toBe(2);
    expect(cache.get("a", NOW)).toBeUndefined();
    expect(cache.get("b", NOW)).toBe("B");
    expect(cache.get("c", NOW)).toBe("C");
  });

  it("is least-recently-used: a read protects an entry from the next eviction", () => {
    const cache = new VerifiedTokenCache<string>(2);
    cache.set("a", "A", LATER);
    cache.set("b", "B", LATER);
    expect(cache.get("a", NOW)).toBe("A");
    cache.set("c", "C", LATER);
    expect(cache.get("b", NOW)).toBeUndefined();
    expect(cache.get("a", NOW)).toBe("A");
    expect(cache.get("c", NOW)).toBe("C");
  });

  it("overwriting an entry replaces it without evicting another", () => {
    const cache = new VerifiedTokenCache<string>(2);
    cache.set("a", "A", LATER);
    cache.set("b", "B", LATER);
    cache.set("a", "A2", LATER + 1);
    expect(cache.size).toBe(2);
    expect(cache.get("a", NOW)).toBe("A2");
    expect(cache.get("b", NOW)).toBe("B");
  });

  it("a size of 0 (or less) disables it", () => {
    for (const size of [0, -1]) {
      const cache = new VerifiedTokenCache<string>(size);
      cache.set("t", "value", LATER);
      expect(cache.size).toBe(0);
      expect(cache.get("t", NOW)).toBeUndefined();
    }
  });

  it("the validity veto drops an entry its owner no longer trusts", () => {
    const revoked = new Set<string>();
    const cache = new VerifiedTokenCache<{ key: string }>(10, (value) => !revoked.has(value.key));
    cache.set("t1", { key: "k1" }, LATER);
    cache.set("t2", { key: "k2" }, LATER);
    expect(cache.get("t1", NOW)).toEqual({ key: "k1" });
    revoked.add("k1");
    expect(cache.get("t1", NOW)).toBeUndefined();
    expect(cache.size).toBe(1);
    // Trusting the key again does not bring the dropped entry back.
    revoked.delete("k1");
    expect(cache.get("t1", NOW)).toBeUndefined();
    expect(cache.get("t2", NOW)).toEqual({ key: "k2" });
  });

  it("clear empties it", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("a", "A", LATER);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get("a", NOW)).toBeUndefined();
  });
});

describe("the verified-token cache inside JWTVerifier", () => {
  // A cache hit returns the very object verified before; a fresh verification builds a new one.
  let pair: JWTKeyPair;
  beforeAll(() => {
    pair = RSAKeyPair.generate();
  });

  const verifier = (cacheSize?: number, clockTolerance?: number) =>
    new JWTVerifier({ publicKey: pair.publicKey, audience: "api://x", ...(cacheSize !== undefined ? { cacheSize } : {}), ...(clockTolerance !== undefined ? { clockTolerance } : {}) });
  const mint = (expiresInSeconds = 600) => pair.createToken({ audience: "api://x", expiresInSeconds, additionalClaims: { jti: Math.random().toString(36) } });

  it("serves a token seen before from the cache", async () => {
    const v = verifier();
    const token = await mint();
    const first = await v.verifyToken(token);
    expect(first).not.toBeNull();
    expect(await v.verifyToken(token)).toBe(first);
  });

  it("cacheSize: 0 verifies every time", async () => {
    const v = verifier(0);
    const token = await mint();
    const first = await v.verifyToken(token);
    const second = await v.verifyToken(token);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  it("is bounded by cacheSize, least recently used out first", async () => {
    const v = verifier(2);
    const [a, b, c] = [await mint(), await mint(), await mint()];
    const firstA = await v.verifyToken(a);
    const firstB = await v.verifyToken(b);
    expect(await v.verifyToken(a)).toBe(firstA); // a is now the most recently used
    await v.verifyToken(c); // evicts b
    expect(await v.verifyToken(a)).toBe(firstA);
    const againB = await v.verifyToken(b);
    expect(againB).toEqual(firstB);
    expect(againB).not.toBe(firstB);
  });

  it("a cached token is refused once its exp passes", async () => {
    const v = verifier();
    const exp = nowSeconds() + 2;
    const token = await signJwt(privateKeyOf(pair), { alg: "RS256" }, { aud: "api://x", exp });
    const first = await v.verifyToken(token);
    expect(first).not.toBeNull();
    expect(await v.verifyToken(token)).toBe(first);
    await sleep(exp * 1000 - Date.now() + 50);
    await expect(v.verifyToken(token)).resolves.toBeNull();
  });

  it("a cached token accepted within clockTolerance is refused once exp + tolerance passes", async () => {
    const v = verifier(undefined, 1);
    const exp = nowSeconds();
    const token = await signJwt(privateKeyOf(pair), { alg: "RS256" }, { aud: "api://x", exp });
    await expect(v.verifyToken(token)).resolves.not.toBeNull();
    await sleep((exp + 1) * 1000 - Date.now() + 50);
    await expect(v.verifyToken(token)).resolves.toBeNull();
  });
});

describe("the cache inside IntrospectionTokenVerifier", () => {
  it("is bounded by maxCacheSize", async () => {
    const endpoint = await TestEndpoint.start();
    try {
      endpoint.reply = () => ({ body: { active: true, sub: "alice", exp: nowSeconds() + 600 } });
      const verifier = new IntrospectionTokenVerifier({ introspectionUrl: endpoint.url("/introspect"), clientId: "c", clientSecret: "s", cacheTtlSeconds: 60, maxCacheSize: 2 });
      for (const token of ["a", "b", "c"]) await verifier.verifyToken(token);
      expect(endpoint.count()).toBe(3);
      await verifier.verifyToken("c");
      await verifier.verifyToken("b");
      expect(endpoint.count()).toBe(3);
      await verifier.verifyToken("a"); // evicted when c came in
      expect(endpoint.count()).toBe(4);
    } finally {
      await endpoint.close();
    }
  });
});
