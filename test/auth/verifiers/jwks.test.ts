import { generateKeyPairSync, randomUUID } from "node:crypto";
import { base64url, exportJWK, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { JWTKeyPair, JWTVerifier, RSAKeyPair, type JWTVerifierOptions } from "fastmcp-ts/auth";
import { b64, errorSink, eventually, nowSeconds, signCompact, sleep, TestEndpoint, withoutAuthEnvironment } from "./helpers.js";

withoutAuthEnvironment();

const ISSUER = "https://idp.test";
const AUDIENCE = "https://mcp.test/mcp";

let keyA: JWTKeyPair;
let keyB: JWTKeyPair;
let attacker: JWTKeyPair;
let ecKey: JWTKeyPair;

beforeAll(() => {
  keyA = RSAKeyPair.generate({ kid: "key-a" });
  keyB = RSAKeyPair.generate({ kid: "key-b" });
  attacker = RSAKeyPair.generate({ kid: "attacker" });
  ecKey = JWTKeyPair.generate("ES256", { kid: "ec-good" });
});

/** A JWKS host on a real loopback server: `keys` is what it serves, the endpoint counts fetches. */
interface JwksHost {
  endpoint: TestEndpoint;
  keys: JWK[];
  readonly url: string;
}

const endpoints: TestEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
});

async function jwksHost(keys: JWK[]): Promise<JwksHost> {
  const endpoint = await TestEndpoint.start();
  endpoints.push(endpoint);
  const host: JwksHost = { endpoint, keys, url: endpoint.url("/jwks") };
  endpoint.reply = (request) => (request.path === "/jwks" ? { body: { keys: host.keys } } : { status: 404 });
  return host;
}

/** The JWKS document answers normally again. */
function serveKeys(host: JwksHost): void {
  host.endpoint.reply = (request) => (request.path === "/jwks" ? { body: { keys: host.keys } } : { status: 404 });
}

function remoteVerifier(host: JwksHost, jwks: JWTVerifierOptions["jwks"] = {}, options: Partial<JWTVerifierOptions> = {}): JWTVerifier {
  return new JWTVerifier({ jwksUri: host.url, issuer: ISSUER, audience: AUDIENCE, jwks, onError: () => undefined, ...options });
}

/** A fresh token every call (distinct `jti`), so the verified-token cache never answers for it. */
function mint(pair: JWTKeyPair, kid?: string): Promise<string> {
  return pair.createToken({ issuer: ISSUER, audience: AUDIENCE, scopes: ["read"], additionalClaims: { jti: randomUUID() }, ...(kid !== undefined ? { kid } : {}) });
}

/** A token without a kid header. */
function mintWithoutKid(pair: JWTKeyPair): string {
  return signCompact(pair, { alg: pair.algorithm, typ: "JWT" }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, jti: randomUUID() });
}

/** A token naming a random kid, with a signature nobody can check: what a kid sprayer sends. */
function sprayToken(): string {
  return `${b64({ alg: "RS256", kid: randomUUID() })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 })}.${base64url.encode("not-a-signature")}`;
}

const fetchesOf = (host: JwksHost): number => host.endpoint.count("/jwks");

describe("remote JWKS: fetching and caching", () => {
  it("fetches the keys once and serves many verifications from memory", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host);
    for (let i = 0; i < 30; i++) {
      await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    }
    expect(fetchesOf(host)).toBe(1);
    expect(verifier.jwksFetches).toBe(1);
    const [request] = host.endpoint.requests;
    expect(request!.method).toBe("GET");
    expect(request!.headers.accept).toContain("application/json");
  });

  it("keeps the keys when the verified-token cache is off (cacheSize: 0)", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, {}, { cacheSize: 0 });
    const token = await mint(keyA);
    for (let i = 0; i < 10; i++) await expect(verifier.verifyToken(token)).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(1);
  });

  it("does not fetch at construction, only on the first token", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host);
    await sleep(50);
    expect(fetchesOf(host)).toBe(0);
    await verifier.verifyToken(await mint(keyA));
    expect(fetchesOf(host)).toBe(1);
  });

  it("cold start: many simultaneous verifications share one fetch", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    host.endpoint.reply = () => ({ body: { keys: host.keys }, delayMs: 150 });
    const verifier = remoteVerifier(host);
    const tokens = await Promise.all(Array.from({ length: 25 }, () => mint(keyA)));
    const results = await Promise.all(tokens.map((token) => verifier.verifyToken(token)));
    expect(results.every((result) => result !== null)).toBe(true);
    expect(fetchesOf(host)).toBe(1);
  });

  it("verifies ES256 and RS256 keys from one set when both algorithms are configured", async () => {
    const host = await jwksHost([await keyA.publicJwk(), await ecKey.publicJwk()]);
    const verifier = remoteVerifier(host, {}, { algorithm: ["RS256", "ES256"] });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(ecKey))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(1);
  });

  it("verifies EdDSA keys from a JWKS", async () => {
    const ed = JWTKeyPair.generate("EdDSA", { kid: "ed" });
    const host = await jwksHost([await ed.publicJwk()]);
    await expect(remoteVerifier(host, {}, { algorithm: "EdDSA" }).verifyToken(await mint(ed))).resolves.not.toBeNull();
  });

  it("refuses a token signed by a key the set does not hold, even under a known kid", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    await expect(remoteVerifier(host).verifyToken(await mint(attacker, "key-a"))).resolves.toBeNull();
  });

  it("uses only the public members of a JWKS entry that leaks private ones", async () => {
    const leaked = { ...(await exportJWK(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey)), kid: "leaky", alg: "RS256", use: "sig" };
    const host = await jwksHost([leaked, await keyA.publicJwk()]);
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(attacker, "leaky"))).resolves.toBeNull();
  });
});

describe("remote JWKS: rotation", () => {
  it("a token with a new kid triggers a refetch and verifies", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 150 });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(1);

    host.keys = [await keyA.publicJwk(), await keyB.publicJwk()];
    await sleep(300); // past the cooldown
    await expect(verifier.verifyToken(await mint(keyB))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(2);
    // Both keys are now known: no further fetch for either.
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(keyB))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(2);
  });

  it("a new kid inside the cooldown of the last fetch is refused without a fetch", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 60_000 });
    await verifier.verifyToken(await mint(keyA));
    host.keys = [await keyA.publicJwk(), await keyB.publicJwk()];
    await expect(verifier.verifyToken(await mint(keyB))).resolves.toBeNull();
    expect(fetchesOf(host)).toBe(1);
  });

  it("many simultaneous verifications of a new kid trigger one fetch", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 100 });
    await verifier.verifyToken(await mint(keyA));
    host.keys = [await keyA.publicJwk(), await keyB.publicJwk()];
    host.endpoint.reply = () => ({ body: { keys: host.keys }, delayMs: 150 });
    await sleep(250);

    const tokens = await Promise.all(Array.from({ length: 30 }, () => mint(keyB)));
    const results = await Promise.all(tokens.map((token) => verifier.verifyToken(token)));
    expect(results.filter((result) => result === null)).toHaveLength(0);
    expect(fetchesOf(host)).toBe(2);
  });
});

describe("remote JWKS: kid spraying", () => {
  it("100 simultaneous tokens with random unknown kids cause one refetch and are all refused", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 250 });
    await verifier.verifyToken(await mint(keyA));
    await sleep(400); // past the cooldown, so that a refetch is allowed
    const tokens = Array.from({ length: 100 }, () => signCompact(attacker, { alg: "RS256", kid: randomUUID() }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 }));

    const results = await Promise.all(tokens.map((token) => verifier.verifyToken(token)));
    expect(results.every((result) => result === null)).toBe(true);
    expect(fetchesOf(host)).toBe(2);
    expect(verifier.jwksFetches).toBe(2);
    // Legitimate traffic is unaffected.
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
  });

  it("a sustained spray causes at most one fetch per cooldown", async () => {
    const cooldownMs = 200;
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs });
    await verifier.verifyToken(await mint(keyA));
    const before = fetchesOf(host);

    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 1_000) {
      const batch = Array.from({ length: 20 }, () => verifier.verifyToken(sprayToken()));
      expect((await Promise.all(batch)).every((result) => result === null)).toBe(true);
      sent += batch.length;
      await sleep(5);
    }
    const elapsed = Date.now() - started;
    const refetches = fetchesOf(host) - before;
    expect(sent).toBeGreaterThan(100);
    expect(refetches).toBeGreaterThanOrEqual(1);
    expect(refetches).toBeLessThanOrEqual(Math.floor(elapsed / cooldownMs) + 1);
  });

  it("tokens without kid do not trigger refetches", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 0 });
    await verifier.verifyToken(await mint(keyA));
    for (let i = 0; i < 20; i++) {
      const noKid = `${b64({ alg: "RS256" })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 })}.${base64url.encode("x")}`;
      await expect(verifier.verifyToken(noKid)).resolves.toBeNull();
    }
    await expect(verifier.verifyToken(mintWithoutKid(attacker))).resolves.toBeNull();
    expect(fetchesOf(host)).toBe(1);
  });
});

describe("remote JWKS: the endpoint goes down", () => {
  it("closed (connection refused): cached keys still verify, an unknown kid is null, the failure is reported", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const sink = errorSink();
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs: 100 }, { onError: sink.onError });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await host.endpoint.close();
    await sleep(250); // the set is now stale: the next verification tries a background refresh

    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(keyB))).resolves.toBeNull();
    await expect(verifier.verifyToken(sprayToken())).resolves.toBeNull();
    expect(await eventually(() => sink.messages().some((m) => m.includes("could not fetch the JWKS")), 3_000)).toBe(true);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
  });

  it("answering 500: cached keys still verify, an unknown kid is null", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const sink = errorSink();
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs: 100 }, { onError: sink.onError });
    await verifier.verifyToken(await mint(keyA));
    host.endpoint.reply = () => ({ status: 500, body: "internal error" });
    await sleep(250);

    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await sleep(150);
    await expect(verifier.verifyToken(await mint(keyB))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBeGreaterThanOrEqual(2);
    expect(await eventually(() => sink.messages().some((m) => m.includes("HTTP 500")), 3_000)).toBe(true);
  });

  it("dropping connections: cached keys still verify, an unknown kid is null", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs: 100 });
    await verifier.verifyToken(await mint(keyA));
    host.endpoint.reply = () => ({ reset: true });
    await sleep(250);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await sleep(150);
    await expect(verifier.verifyToken(await mint(keyB))).resolves.toBeNull();
  });

  it("hanging: an unknown kid is null once the fetch times out, cached keys keep verifying", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 100, timeoutMs: 200 });
    await verifier.verifyToken(await mint(keyA));
    host.endpoint.reply = () => ({ hang: true });
    await sleep(150);
    const started = Date.now();
    await expect(verifier.verifyToken(await mint(keyB))).resolves.toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
  });

  it("first fetch failing (500) gives null; recovers once the endpoint answers again, after the cooldown", async () => {
    const cooldownMs = 300;
    const host = await jwksHost([await keyA.publicJwk()]);
    host.endpoint.reply = () => ({ status: 500 });
    const verifier = remoteVerifier(host, { cooldownMs });
    const started = Date.now();
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    if (Date.now() - started < cooldownMs) expect(fetchesOf(host)).toBe(1); // no retry inside the cooldown

    serveKeys(host);
    const token = await mint(keyA);
    expect(await eventually(async () => (await verifier.verifyToken(token)) !== null, 5_000, 50)).toBe(true);
    const elapsed = Date.now() - started;
    expect(fetchesOf(host)).toBeLessThanOrEqual(Math.floor(elapsed / cooldownMs) + 1);
  });

  it("first fetch failing (endpoint closed) gives null; recovers when the endpoint comes back", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    await host.endpoint.close();
    const sink = errorSink();
    const verifier = remoteVerifier(host, { cooldownMs: 100 }, { onError: sink.onError });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    expect(sink.messages().join("\n")).toContain("could not fetch the JWKS");

    await host.endpoint.restart();
    const token = await mint(keyA);
    expect(await eventually(async () => (await verifier.verifyToken(token)) !== null, 5_000, 50)).toBe(true);
  });

  it("a first fetch that hangs past timeoutMs gives null", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    host.endpoint.reply = () => ({ hang: true });
    const sink = errorSink();
    const verifier = remoteVerifier(host, { timeoutMs: 200 }, { onError: sink.onError });
    const started = Date.now();
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sink.errors).toHaveLength(1);
  });

  it("a redirect is not followed", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    host.endpoint.reply = (request) => (request.path === "/jwks" ? { status: 302, headers: { location: "/elsewhere" } } : { body: { keys: host.keys } });
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    expect(host.endpoint.count("/elsewhere")).toBe(0);
  });
});

describe("remote JWKS: unusable keys", () => {
  let unusable: JWK[];
  let goodJwk: JWK;

  beforeAll(async () => {
    goodJwk = await keyA.publicJwk();
    const p384 = await exportJWK(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey);
    unusable = [
      { ...goodJwk, kid: "enc", use: "enc" },
      { ...goodJwk, kid: "encrypt-only", key_ops: ["encrypt"] },
      { kty: "oct", kid: "oct", k: base64url.encode("a-symmetric-key-that-must-not-be-used"), alg: "HS256" },
      { ...(await keyB.publicJwk()), kid: "wrong-alg", alg: "RS512" },
      { kty: "RSA", kid: "broken", n: "%%%not-a-modulus%%%", e: "AQAB", alg: "RS256" },
      { kty: "RSA", kid: "no-modulus", e: "AQAB" },
      { ...p384, kid: "p384" },
      { kty: "EC", kid: "bad-curve", crv: "P-256", x: "AAAA", y: "AAAA", alg: "ES256" },
      "not an object" as unknown as JWK,
      null as unknown as JWK,
    ];
  });

  it("are skipped; the usable keys still work", async () => {
    const host = await jwksHost([...unusable, goodJwk, await ecKey.publicJwk()]);
    const sink = errorSink();
    const verifier = remoteVerifier(host, {}, { algorithm: ["RS256", "ES256"], onError: sink.onError });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(ecKey))).resolves.not.toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("tokens naming an unusable key are refused, whatever key signed them", async () => {
    const host = await jwksHost([...unusable, goodJwk]);
    const verifier = remoteVerifier(host, {}, { algorithm: ["RS256", "ES256"] });
    // Same key material as the good key, but published for encryption only.
    await expect(verifier.verifyToken(await mint(keyA, "enc"))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA, "encrypt-only"))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA, "oct"))).resolves.toBeNull();
    // keyB's material, published for RS512 only, used for an RS256 token.
    await expect(verifier.verifyToken(await mint(keyB, "wrong-alg"))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA, "broken"))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA, "no-modulus"))).resolves.toBeNull();
    const es256OnP384 = `${b64({ alg: "ES256", kid: "p384" })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 })}.${base64url.encode(new Uint8Array(64))}`;
    await expect(verifier.verifyToken(es256OnP384)).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(ecKey, "bad-curve"))).resolves.toBeNull();
    expect(fetchesOf(host)).toBe(1);
  });

  it("a set with only unusable keys refuses cleanly", async () => {
    const host = await jwksHost(unusable);
    const verifier = remoteVerifier(host, {}, { algorithm: ["RS256", "ES256"] });
    await expect(verifier.verifyToken(await mint(keyA, "enc"))).resolves.toBeNull();
    await expect(verifier.verifyToken(mintWithoutKid(keyA))).resolves.toBeNull();
  });
});

describe("remote JWKS: tokens without kid", () => {
  it("verify when exactly one usable key fits (other key types do not count)", async () => {
    const otherTypes = [await ecKey.publicJwk(), { ...(await keyB.publicJwk()), kid: "enc", use: "enc" }];
    const host = await jwksHost([...otherTypes, await keyA.publicJwk()]);
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(mintWithoutKid(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(mintWithoutKid(attacker))).resolves.toBeNull();
  });

  it("are refused when two usable keys fit", async () => {
    const host = await jwksHost([await keyA.publicJwk(), await keyB.publicJwk()]);
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(mintWithoutKid(keyA))).resolves.toBeNull();
    await expect(verifier.verifyToken(mintWithoutKid(keyB))).resolves.toBeNull();
    // With a kid, both keys work.
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
  });

  it("verify against a set whose only key has no kid; a kid-bearing token does not match it", async () => {
    const { kid: _kid, ...anonymous } = await keyA.publicJwk();
    const host = await jwksHost([anonymous]);
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(mintWithoutKid(keyA))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
  });

  it("two keys sharing one kid make that kid unusable", async () => {
    const host = await jwksHost([await keyA.publicJwk(), { ...(await keyB.publicJwk()), kid: "key-a" }]);
    const verifier = remoteVerifier(host);
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    await expect(verifier.verifyToken(await mint(keyB, "key-a"))).resolves.toBeNull();
  });
});

describe("remote JWKS: bad documents", () => {
  const refusedWith = async (reply: TestEndpoint["reply"], expected: RegExp): Promise<void> => {
    const host = await jwksHost([await keyA.publicJwk()]);
    host.endpoint.reply = reply;
    const sink = errorSink();
    const verifier = remoteVerifier(host, {}, { onError: sink.onError });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.toBeNull();
    expect(sink.messages().join("\n")).toMatch(expected);
  };

  it("not JSON", async () => {
    await refusedWith(() => ({ headers: { "content-type": "application/json" }, body: "<html>maintenance</html>" }), /could not fetch the JWKS/);
  });

  it("JSON without keys", async () => {
    await refusedWith(() => ({ body: { issuer: ISSUER } }), /no keys array/);
  });

  it("keys that is not a list", async () => {
    await refusedWith(() => ({ body: { keys: { kid: "key-a" } } }), /no keys array/);
  });

  it("a JSON array or null instead of an object", async () => {
    await refusedWith(() => ({ body: [{ keys: [] }] }), /no keys array/);
    await refusedWith(() => ({ headers: { "content-type": "application/json" }, body: "null" }), /no keys array/);
  });

  it("too large (over 512 KiB), even when it holds the right key", async () => {
    const keys = [await keyA.publicJwk()];
    await refusedWith(() => ({ body: { keys, padding: "x".repeat(600 * 1024) } }), /exceeds/);
  });

  it("an empty key list", async () => {
    const host = await jwksHost([]);
    await expect(remoteVerifier(host).verifyToken(await mint(keyA))).resolves.toBeNull();
  });
});

describe("remote JWKS: a key removed from the set", () => {
  it("revokes its cached tokens once a refresh (triggered by another token) sees it gone", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs: 300 });
    const tokenA = await mint(keyA);
    await expect(verifier.verifyToken(tokenA)).resolves.not.toBeNull();
    await expect(verifier.verifyToken(tokenA)).resolves.not.toBeNull(); // served by the verified-token cache

    host.keys = [await keyB.publicJwk()];
    await sleep(450); // past maxAge
    await expect(verifier.verifyToken(await mint(keyB))).resolves.not.toBeNull();
    expect(fetchesOf(host)).toBe(2);
    await expect(verifier.verifyToken(tokenA)).resolves.toBeNull();
  });

  it("revokes its cached tokens after the background refresh, even when only that cached token keeps coming", async () => {
    const host = await jwksHost([await keyA.publicJwk()]);
    const maxAgeMs = 300;
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs });
    const tokenA = await mint(keyA);
    await expect(verifier.verifyToken(tokenA)).resolves.not.toBeNull();

    host.keys = [await keyB.publicJwk()];
    await sleep(maxAgeMs + 150);
    // The set is stale: presenting the token must lead to a refresh, after which the key is gone.
    const revoked = await eventually(async () => (await verifier.verifyToken(tokenA)) === null, 3_000, 50);
    expect({ revoked, jwksFetches: fetchesOf(host) }).toEqual({ revoked: true, jwksFetches: 2 });
  });

  it("a fresh token of the removed key is refused after the refresh", async () => {
    const host = await jwksHost([await keyA.publicJwk(), await keyB.publicJwk()]);
    const verifier = remoteVerifier(host, { cooldownMs: 100, maxAgeMs: 200 });
    await expect(verifier.verifyToken(await mint(keyA))).resolves.not.toBeNull();
    host.keys = [await keyB.publicJwk()];
    await sleep(350);
    // This verification starts the background refresh; the old set may still answer for it.
    await verifier.verifyToken(await mint(keyB));
    expect(await eventually(async () => (await verifier.verifyToken(await mint(keyA))) === null, 3_000, 50)).toBe(true);
    await expect(verifier.verifyToken(await mint(keyB))).resolves.not.toBeNull();
  });
});
