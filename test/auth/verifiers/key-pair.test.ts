import { decodeJwt, decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError, JWTKeyPair, JWTVerifier, RSAKeyPair, type KeyPairAlgorithm } from "fastmcp-ts/auth";
import { nowSeconds, withoutAuthEnvironment } from "./helpers.js";

withoutAuthEnvironment();

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"];

describe.each(["RS256", "ES256", "EdDSA"] as const)("JWTKeyPair %s", (algorithm: KeyPairAlgorithm) => {
  let pair: JWTKeyPair;
  beforeAll(() => {
    pair = JWTKeyPair.generate(algorithm, { kid: `kid-${algorithm}` });
  });

  it("mints a token with the pair's alg, kid and typ, verifiable with its public key", async () => {
    const token = await pair.createToken({ audience: "api://x" });
    expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, kid: `kid-${algorithm}`, typ: "JWT" });
    const verifier = new JWTVerifier({ publicKey: pair.publicKey, algorithm, audience: "api://x" });
    await expect(verifier.verifyToken(token)).resolves.not.toBeNull();
  });

  it("default claims: sub fastmcp-user, iss https://fastmcp.example.com, iat now, exp in an hour, no aud or scope", async () => {
    const before = nowSeconds();
    const claims = decodeJwt(await pair.createToken());
    expect(claims.sub).toBe("fastmcp-user");
    expect(claims.iss).toBe("https://fastmcp.example.com");
    expect(claims.aud).toBeUndefined();
    expect(claims.scope).toBeUndefined();
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBeGreaterThanOrEqual(3599);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(3601);
  });

  it("options: subject, issuer, audience list, scopes joined by spaces, lifetime, extra claims, kid override", async () => {
    const token = await pair.createToken({
      subject: "alice",
      issuer: "https://idp.test",
      audience: ["a", "b"],
      scopes: ["read", "write"],
      expiresInSeconds: 60,
      additionalClaims: { client_id: "app", tenant: { id: 1 } },
      kid: "override",
    });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: "alice", iss: "https://idp.test", aud: ["a", "b"], scope: "read write", client_id: "app", tenant: { id: 1 } });
    expect(claims.exp! - nowSeconds()).toBeLessThanOrEqual(60);
    expect(decodeProtectedHeader(token).kid).toBe("override");
  });

  it("publicJwk carries kid, alg and use, and no private member", async () => {
    const jwk = await pair.publicJwk();
    expect(jwk).toMatchObject({ kid: `kid-${algorithm}`, alg: algorithm, use: "sig" });
    for (const member of PRIVATE_JWK_MEMBERS) expect(jwk).not.toHaveProperty(member);
  });

  it("jwks() is a JWKS document holding the public JWK", async () => {
    expect(await pair.jwks()).toEqual({ keys: [await pair.publicJwk()] });
  });

  it("publicKey is an SPKI PEM and never the private key", () => {
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pair.publicKey).not.toContain("PRIVATE");
    expect(pair.publicKeyObject.type).toBe("public");
  });

  it("round-trips through privateKeyPem / fromPrivateKey", async () => {
    const pem = pair.privateKeyPem();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const restored = JWTKeyPair.fromPrivateKey(pem, algorithm, { kid: "restored" });
    expect(restored.publicKey).toBe(pair.publicKey);
    const verifier = new JWTVerifier({ publicKey: pair.publicKey, algorithm, audience: false });
    await expect(verifier.verifyToken(await restored.createToken())).resolves.not.toBeNull();
  });

  it("two generated pairs differ, and a kid is generated when none is given", () => {
    const a = JWTKeyPair.generate(algorithm);
    const b = JWTKeyPair.generate(algorithm);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(a.kid).not.toBe(b.kid);
    expect(a.kid.length).toBeGreaterThan(0);
  });
});

describe("RSAKeyPair", () => {
  it("generates RS256 pairs with a 2048-bit modulus", () => {
    const pair = RSAKeyPair.generate();
    expect(pair.algorithm).toBe("RS256");
    expect(pair.publicKeyObject.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("fromPrivateKey accepts a PKCS#1 (traditional) PEM", async () => {
    const original = RSAKeyPair.generate();
    const { createPrivateKey } = await import("node:crypto");
    const pkcs1 = createPrivateKey(original.privateKeyPem()).export({ type: "pkcs1", format: "pem" }).toString();
    expect(RSAKeyPair.fromPrivateKey(pkcs1).publicKey).toBe(original.publicKey);
  });
});

describe("JWTKeyPair.fromPrivateKey errors", () => {
  it("refuses text that is not a PEM private key", () => {
    expect(() => JWTKeyPair.fromPrivateKey("not a key")).toThrow(AuthConfigurationError);
  });

  it("refuses a public key", () => {
    expect(() => JWTKeyPair.fromPrivateKey(RSAKeyPair.generate().publicKey)).toThrow(AuthConfigurationError);
  });

  it("refuses a key whose type does not fit the algorithm (an RSA key for ES256)", () => {
    const rsaPem = RSAKeyPair.generate().privateKeyPem();
    expect(() => JWTKeyPair.fromPrivateKey(rsaPem, "ES256")).toThrow(AuthConfigurationError);
  });
});
