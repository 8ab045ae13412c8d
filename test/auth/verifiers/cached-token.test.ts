import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { DebugTokenVerifier, JWTVerifier, RemoteAuthProvider, RSAKeyPair, type JWTKeyPair } from "fastmcp-ts/auth";
import { signatureTail, VerifiedTokenCache } from "../../../src/auth/verifiers/token-cache.js";
import { eventually, nowSeconds, privateKeyOf, signJwt, sleep, TestEndpoint, withoutAuthEnvironment } from "./helpers.js";

withoutAuthEnvironment();

const NOW = 1_700_000_000_000;
const LATER = NOW + 60_000;
const AUDIENCE = "api://x";

/** Two tokens with the same last 43 characters (what a JWT cache keys by). */
const TAIL = "t".repeat(43);
const tokenA = `aaaa.bbbb.${TAIL}`;
const tokenB = `cccc.dddd.${TAIL}`;

describe("VerifiedTokenCache keyed by part of the token", () => {
  it("a token sharing another's key is a miss, and does not disturb the stored one", () => {
    const cache = new VerifiedTokenCache<string>(10, () => true, signatureTail);
    cache.set(tokenA, "A", LATER);
    expect(signatureTail(tokenA)).toBe(signatureTail(tokenB));
    expect(cache.get(tokenB, NOW)).toBeUndefined();
    expect(cache.get(tokenA, NOW)).toBe("A");
    cache.delete(tokenB);
    expect(cache.get(tokenA, NOW)).toBe("A");
  });

  it("storing a second token under the same key replaces the first (one entry per key)", () => {
    const cache = new VerifiedTokenCache<string>(10, () => true, signatureTail);
    cache.set(tokenA, "A", LATER);
    cache.set(tokenB, "B", LATER);
    expect(cache.size).toBe(1);
    expect(cache.get(tokenA, NOW)).toBeUndefined();
    expect(cache.get(tokenB, NOW)).toBe("B");
  });

  it("short tokens are keyed by themselves", () => {
    expect(signatureTail("abc")).toBe("abc");
    expect(signatureTail("x".repeat(43))).toBe("x".repeat(43));
    expect(signatureTail(`y${"x".repeat(43)}`)).toBe("x".repeat(43));
  });

  it("stores only RFC 6750 b64token strings", () => {
    const cache = new VerifiedTokenCache<string>(10);
    for (const token of ["has space", "a,b", "tab\tin", "trailing ", "équipe", "a=b", ""]) cache.set(token, "v", LATER);
    expect(cache.size).toBe(0);
    for (const token of ["abc", "a.b.c", "A-Z_a~z+/9", "abc==", "a.b="]) cache.set(token, "v", LATER);
    expect(cache.size).toBe(5);
  });

  it("delete forgets a token", () => {
    const cache = new VerifiedTokenCache<string>(10);
    cache.set("a", "A", LATER);
    cache.set("b", "B", LATER);
    cache.delete("a");
    expect(cache.get("a", NOW)).toBeUndefined();
    expect(cache.get("b", NOW)).toBe("B");
    expect(cache.size).toBe(1);
  });

  it("stays least-recently-used when the newest entry is read again and again", () => {
    const cache = new VerifiedTokenCache<string>(3);
    cache.set("a", "A", LATER);
    cache.set("b", "B", LATER);
    cache.set("c", "C", LATER);
    for (let i = 0; i < 3; i++) expect(cache.get("c", NOW)).toBe("C");
    expect(cache.get("a", NOW)).toBe("A"); // order now b, c, a
    expect(cache.get("a", NOW)).toBe("A");
    cache.set("d", "D", LATER); // evicts b
    expect(cache.get("b", NOW)).toBeUndefined();
    cache.set("e", "E", LATER); // evicts c
    expect(cache.get("c", NOW)).toBeUndefined();
    expect([cache.get("a", NOW), cache.get("d", NOW), cache.get("e", NOW)]).toEqual(["A", "D", "E"]);
  });

  it("an expired or vetoed entry is dropped even when it was the newest", () => {
    let trusted = true;
    const cache = new VerifiedTokenCache<string>(10, () => trusted);
    cache.set("a", "A", LATER);
    expect(cache.get("a", NOW)).toBe("A");
    trusted = false;
    expect(cache.get("a", NOW)).toBeUndefined();
    expect(cache.size).toBe(0);
    trusted = true;
    cache.set("b", "B", LATER);
    expect(cache.get("b", LATER)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("matches a reference LRU over a long random sequence of reads, writes, deletes and expiries", () => {
    // The reference: an array, oldest first.
    const reference: Array<{ token: string; value: number; expiresAtMs: number }> = [];
    const capacity = 5;
    const cache = new VerifiedTokenCache<number>(capacity);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const token = `t${random(9)}`;
      const now = NOW + random(100);
      const op = random(10);
      const at = reference.findIndex((entry) => entry.token === token);
      if (op < 5) {
        let expected: number | undefined;
        if (at >= 0) {
          const [entry] = reference.splice(at, 1);
          if (entry!.expiresAtMs > now) {
            reference.push(entry!);
            expected = entry!.value;
          }
        }
        expect(cache.get(token, now)).toBe(expected);
      } else if (op < 9) {
        const entry = { token, value: step, expiresAtMs: NOW + random(200) };
        if (at >= 0) reference.splice(at, 1);
        reference.push(entry);
        if (reference.length > capacity) reference.shift();
        cache.set(token, entry.value, entry.expiresAtMs);
      } else {
        if (at >= 0) reference.splice(at, 1);
        cache.delete(token);
      }
      expect(cache.size).toBe(reference.length);
    }
  });

  it("clear forgets the newest entry too", () => {
    const cache = new VerifiedTokenCache<string>(2);
    cache.set("a", "A", LATER);
    expect(cache.get("a", NOW)).toBe("A");
    cache.clear();
    expect(cache.get("a", NOW)).toBeUndefined();
    cache.set("b", "B", LATER);
    cache.set("c", "C", LATER);
    cache.set("d", "D", LATER);
    expect(cache.get("b", NOW)).toBeUndefined();
    expect(cache.size).toBe(2);
  });
});

describe("JWTVerifier.cachedToken", () => {
  let pair: JWTKeyPair;
  beforeAll(() => {
    pair = RSAKeyPair.generate();
  });

  const verifier = (options: { cacheSize?: number; clockTolerance?: number } = {}) => new JWTVerifier({ publicKey: pair.publicKey, audience: AUDIENCE, ...options });
  const mint = (expiresInSeconds = 600) => pair.createToken({ audience: AUDIENCE, expiresInSeconds, additionalClaims: { jti: randomUUID() } });

  it("knows nothing before a verification, then answers with the very token verified", async () => {
    const v = verifier();
    const token = await mint();
    expect(v.cachedToken(token)).toBeUndefined();
    const verified = await v.verifyToken(token);
    expect(verified).not.toBeNull();
    expect(v.cachedToken(token)).toBe(verified);
    expect(await v.verifyToken(token)).toBe(verified);
  });

  it("never answers for a refused token", async () => {
    const v = verifier();
    const foreign = await RSAKeyPair.generate().createToken({ audience: AUDIENCE });
    const otherAudience = await pair.createToken({ audience: "api://elsewhere" });
    for (const token of [foreign, otherAudience, "not.a.jwt", ""]) {
      await expect(v.verifyToken(token)).resolves.toBeNull();
      expect(v.cachedToken(token)).toBeUndefined();
    }
  });

  it("a forged token carrying a cached token's signature tail is refused, and the cached token keeps working", async () => {
    const v = verifier();
    const token = await mint();
    const verified = await v.verifyToken(token);
    const [, , signature] = token.split(".");
    // Another payload, the same signature: same cache key, different token.
    const forged = `${token.split(".")[0]}.${Buffer.from(JSON.stringify({ aud: AUDIENCE, sub: "mallory", exp: nowSeconds() + 600 })).toString("base64url")}.${signature}`;
    expect(signatureTail(forged)).toBe(signatureTail(token));
    expect(v.cachedToken(forged)).toBeUndefined();
    await expect(v.verifyToken(forged)).resolves.toBeNull();
    expect(v.cachedToken(token)).toBe(verified);
  });

  it("stops answering once exp (+ clockTolerance) passes", async () => {
    const v = verifier({ clockTolerance: 1 });
    const exp = nowSeconds() + 1;
    const token = await signJwt(privateKeyOf(pair), { alg: "RS256" }, { aud: AUDIENCE, exp });
    await expect(v.verifyToken(token)).resolves.not.toBeNull();
    await sleep(exp * 1000 - Date.now() + 50);
    expect(v.cachedToken(token)).toBeDefined(); // within the tolerance
    await sleep((exp + 1) * 1000 - Date.now() + 50);
    expect(v.cachedToken(token)).toBeUndefined();
    await expect(v.verifyToken(token)).resolves.toBeNull();
  });

  it("answers nothing with cacheSize: 0", async () => {
    const v = verifier({ cacheSize: 0 });
    const token = await mint();
    await expect(v.verifyToken(token)).resolves.not.toBeNull();
    expect(v.cachedToken(token)).toBeUndefined();
  });

  it("is bounded by cacheSize", async () => {
    const v = verifier({ cacheSize: 2 });
    const [a, b, c] = [await mint(), await mint(), await mint()];
    for (const token of [a, b, c]) await v.verifyToken(token);
    expect([v.cachedToken(a), v.cachedToken(b) !== undefined, v.cachedToken(c) !== undefined]).toEqual([undefined, true, true]);
  });

  it("forgets everything when the verifier is bound to another path (the audience may change)", async () => {
    const v = new JWTVerifier({ publicKey: pair.publicKey, baseUrl: "https://mcp.test" });
    const token = await pair.createToken({ audience: "https://mcp.test/mcp" });
    v.bind("/mcp");
    await expect(v.verifyToken(token)).resolves.not.toBeNull();
    v.bind("/other");
    expect(v.cachedToken(token)).toBeUndefined();
    await expect(v.verifyToken(token)).resolves.toBeNull();
  });

  it("ignores what is not a token", () => {
    const v = verifier();
    for (const value of [undefined, null, 42, "", "x".repeat(16_385)]) expect(v.cachedToken(value as unknown as string)).toBeUndefined();
  });
});

describe("JWTVerifier.cachedToken with a remote JWKS", () => {
  it("stops answering for a token whose key left the set, after the refresh that its own presentations start", async () => {
    const keyA = RSAKeyPair.generate({ kid: "key-a" });
    const keyB = RSAKeyPair.generate({ kid: "key-b" });
    const endpoint = await TestEndpoint.start();
    try {
      let keys = [await keyA.publicJwk()];
      endpoint.reply = () => ({ body: { keys } });
      const maxAgeMs = 300;
      const v = new JWTVerifier({ jwksUri: endpoint.url("/jwks"), audience: AUDIENCE, jwks: { cooldownMs: 100, maxAgeMs }, onError: () => undefined });
      const token = await keyA.createToken({ audience: AUDIENCE });
      const verified = await v.verifyToken(token);
      expect(v.cachedToken(token)).toBe(verified);
      keys = [await keyB.publicJwk()];
      await sleep(maxAgeMs + 100);
      // Only the synchronous lookup is used from now on: it must start the refresh itself.
      expect(await eventually(() => v.cachedToken(token) === undefined, 3_000, 25)).toBe(true);
      expect(v.jwksFetches).toBe(2);
      await expect(v.verifyToken(token)).resolves.toBeNull();
    } finally {
      await endpoint.close();
    }
  });
});

describe("cachedToken on other providers", () => {
  it("answers undefined by default", async () => {
    const debug = new DebugTokenVerifier();
    await expect(debug.verifyToken("anything")).resolves.not.toBeNull();
    expect(debug.cachedToken("anything")).toBeUndefined();
  });

  it("RemoteAuthProvider asks its verifier", async () => {
    const pair = RSAKeyPair.generate();
    const tokenVerifier = new JWTVerifier({ publicKey: pair.publicKey, audience: AUDIENCE });
    const remote = new RemoteAuthProvider({ tokenVerifier, authorizationServers: ["https://idp.test"], baseUrl: "https://mcp.test" });
    const token = await pair.createToken({ audience: AUDIENCE });
    expect(remote.cachedToken(token)).toBeUndefined();
    const verified = await remote.verifyToken(token);
    expect(verified).not.toBeNull();
    expect(remote.cachedToken(token)).toBe(verified);
  });

  it("the short form answers undefined until its verifier is built", () => {
    const remote = new RemoteAuthProvider({ authorizationServerUrl: "https://idp.test", baseUrl: "https://mcp.test" });
    expect(remote.cachedToken("a.b.c")).toBeUndefined();
  });
});
