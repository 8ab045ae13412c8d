import { generateKeyPairSync, webcrypto, X509Certificate } from "node:crypto";
import { CompactSign, exportJWK, type JWTHeaderParameters, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError, JWTKeyPair, JWTVerifier, RSAKeyPair, type AccessToken, type JWTVerifierOptions } from "fastmcp-ts/auth";
import { b64, nowSeconds, privateKeyOf, selfSignedCertificate, signCompact, signJwt, withoutAuthEnvironment } from "./helpers.js";

withoutAuthEnvironment();

const ISSUER = "https://idp.test";
const AUDIENCE = "https://mcp.test/mcp";
const SECRET = "a-shared-secret-of-at-least-32-characters!";

let rsa: JWTKeyPair;
let otherRsa: JWTKeyPair;
let ec: JWTKeyPair;
let ed: JWTKeyPair;

beforeAll(() => {
  rsa = RSAKeyPair.generate({ kid: "rsa-1" });
  otherRsa = RSAKeyPair.generate({ kid: "rsa-1" }); // same kid, different key
  ec = JWTKeyPair.generate("ES256", { kid: "ec-1" });
  ed = JWTKeyPair.generate("EdDSA", { kid: "ed-1" });
});

function verifierFor(pair: JWTKeyPair, options: Partial<JWTVerifierOptions> = {}): JWTVerifier {
  return new JWTVerifier({ publicKey: pair.publicKey, algorithm: pair.algorithm, issuer: ISSUER, audience: AUDIENCE, ...options });
}

function mint(pair: JWTKeyPair, options: Parameters<JWTKeyPair["createToken"]>[0] = {}): Promise<string> {
  return pair.createToken({ issuer: ISSUER, audience: AUDIENCE, scopes: ["read"], ...options });
}

/** A token with exactly these claims (defaults: iss, aud, exp in 10 minutes), signed by `pair`. */
function signClaims(pair: JWTKeyPair, claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  return signJwt(privateKeyOf(pair), { alg: pair.algorithm, kid: pair.kid, typ: "JWT", ...header }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, ...claims });
}

async function expectRefused(verifier: JWTVerifier, token: string): Promise<void> {
  // `resolves` also proves the verifier did not throw.
  await expect(verifier.verifyToken(token)).resolves.toBeNull();
}

function parts(token: string): [string, string, string] {
  const [header, payload, signature] = token.split(".");
  return [header!, payload!, signature!];
}

describe("JWTVerifier: the token that every rejection case is derived from is accepted", () => {
  it("accepts a well-formed RS256 token from the configured key", async () => {
    const result = await verifierFor(rsa).verifyToken(await mint(rsa));
    expect(result).not.toBeNull();
    expect(result!.scopes).toEqual(["read"]);
  });
});

describe("JWTVerifier rejection paths (each returns null, never throws)", () => {
  it("bad signature: one bit of the signature flipped", async () => {
    const [header, payload, signature] = parts(await mint(rsa));
    const bytes = Buffer.from(signature, "base64url");
    bytes[0] = bytes[0]! ^ 0x01;
    await expectRefused(verifierFor(rsa), `${header}.${payload}.${bytes.toString("base64url")}`);
  });

  it("signature stripped (empty third part)", async () => {
    const [header, payload] = parts(await mint(rsa));
    await expectRefused(verifierFor(rsa), `${header}.${payload}.`);
  });

  it("token signed by another key (same kid, same claims)", async () => {
    await expectRefused(verifierFor(rsa), await mint(otherRsa));
  });

  it("signature of another valid token spliced onto this one", async () => {
    const [header, payload] = parts(await mint(rsa, { subject: "alice" }));
    const [, , signature] = parts(await mint(rsa, { subject: "mallory" }));
    await expectRefused(verifierFor(rsa), `${header}.${payload}.${signature}`);
  });

  describe("alg: none", () => {
    const unsignedParts = async (): Promise<[string, string, string]> => {
      const header = b64({ alg: "none", typ: "JWT" });
      const payload = b64({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, sub: "mallory", scope: "admin" });
      const [, , realSignature] = parts(await mint(rsa));
      return [header, payload, realSignature];
    };

    it("unsigned, with an empty signature part", async () => {
      const [header, payload] = await unsignedParts();
      await expectRefused(verifierFor(rsa), `${header}.${payload}.`);
    });

    it("unsigned, without a signature part at all", async () => {
      const [header, payload] = await unsignedParts();
      await expectRefused(verifierFor(rsa), `${header}.${payload}`);
    });

    it("with a (real, unrelated) signature part", async () => {
      const [header, payload, signature] = await unsignedParts();
      await expectRefused(verifierFor(rsa), `${header}.${payload}.${signature}`);
    });

    it("spelled NONE / None", async () => {
      const [, payload] = await unsignedParts();
      await expectRefused(verifierFor(rsa), `${b64({ alg: "NONE" })}.${payload}.`);
      await expectRefused(verifierFor(rsa), `${b64({ alg: "None" })}.${payload}.`);
    });
  });

  it("HS/RS confusion: HS256 token whose HMAC secret is the verifier's RSA public key PEM", async () => {
    const secret = new TextEncoder().encode(rsa.publicKey);
    const forged = await signJwt(secret, { alg: "HS256", typ: "JWT" }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, sub: "mallory" });
    await expectRefused(verifierFor(rsa), forged);
  });

  it("HS/RS confusion with the key's JWK serialization as the secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(await rsa.publicJwk()));
    const forged = await signJwt(secret, { alg: "HS256", typ: "JWT" }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });
    await expectRefused(verifierFor(rsa), forged);
  });

  it("PS256 token (valid signature by the configured RSA key) when only RS256 is configured", async () => {
    const token = await signClaims(rsa, {}, { alg: "PS256" });
    await expectRefused(verifierFor(rsa), token);
    // Control: the very same token passes when PS256 is allowed, so the algorithm is the only reason.
    await expect(verifierFor(rsa, { algorithm: "PS256" }).verifyToken(token)).resolves.not.toBeNull();
  });

  it("RS512 token when only RS256 is configured", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, {}, { alg: "RS512" }));
  });

  it("ES256 token to an RS256 verifier", async () => {
    await expectRefused(verifierFor(rsa), await mint(ec));
  });

  it("ES256 token to a verifier allowing RS256 and ES256 whose static key is RSA", async () => {
    await expectRefused(verifierFor(rsa, { algorithm: ["RS256", "ES256"] }), await mint(ec));
  });

  it("RS256 token to an EdDSA verifier", async () => {
    await expectRefused(verifierFor(ed), await mint(rsa));
  });

  it("HS256 token to an HS384 verifier (same secret)", async () => {
    const token = await signJwt(new TextEncoder().encode(SECRET), { alg: "HS256" }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });
    await expectRefused(new JWTVerifier({ publicKey: SECRET, algorithm: "HS384", issuer: ISSUER, audience: AUDIENCE }), token);
  });

  it("a header without alg", async () => {
    const [, payload, signature] = parts(await mint(rsa));
    await expectRefused(verifierFor(rsa), `${b64({ typ: "JWT" })}.${payload}.${signature}`);
  });

  describe("crit", () => {
    const claims = () => ({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });

    it("(control) the hand-signed token without crit is accepted", async () => {
      await expect(verifierFor(rsa).verifyToken(signCompact(rsa, { alg: "RS256", "urn:example:must-understand": true }, claims()))).resolves.not.toBeNull();
    });

    it("an unsupported critical header parameter", async () => {
      await expectRefused(verifierFor(rsa), signCompact(rsa, { alg: "RS256", crit: ["urn:example:must-understand"], "urn:example:must-understand": true }, claims()));
    });

    it("crit naming a parameter absent from the header", async () => {
      await expectRefused(verifierFor(rsa), signCompact(rsa, { alg: "RS256", crit: ["urn:example:absent"] }, claims()));
    });

    it("crit that is not a list, or an empty list", async () => {
      await expectRefused(verifierFor(rsa), signCompact(rsa, { alg: "RS256", crit: "urn:example:x", "urn:example:x": 1 }, claims()));
      await expectRefused(verifierFor(rsa), signCompact(rsa, { alg: "RS256", crit: [] }, claims()));
    });

    it("crit naming a registered header parameter (alg)", async () => {
      await expectRefused(verifierFor(rsa), signCompact(rsa, { alg: "RS256", crit: ["alg"] }, claims()));
    });
  });

  it("(control) a non-critical private header parameter is accepted", async () => {
    await expect(verifierFor(rsa).verifyToken(await signClaims(rsa, {}, { "x-tenant": "acme" }))).resolves.not.toBeNull();
  });

  it("expired", async () => {
    await expectRefused(verifierFor(rsa), await mint(rsa, { expiresInSeconds: -60 }));
  });

  it("expired one second ago, with no clock tolerance", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, { exp: nowSeconds() - 1 }));
  });

  it("nbf in the future", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, { nbf: nowSeconds() + 600 }));
  });

  it("clockTolerance accepts a slightly expired token but not a very expired one", async () => {
    const lenient = verifierFor(rsa, { clockTolerance: 60 });
    const slightlyExpired = await signClaims(rsa, { exp: nowSeconds() - 10 });
    await expect(lenient.verifyToken(slightlyExpired)).resolves.not.toBeNull();
    await expectRefused(verifierFor(rsa), slightlyExpired);
    await expectRefused(lenient, await signClaims(rsa, { exp: nowSeconds() - 600 }));
  });

  it("clockTolerance accepts an nbf slightly in the future but not far in the future", async () => {
    const lenient = verifierFor(rsa, { clockTolerance: 60 });
    await expect(lenient.verifyToken(await signClaims(rsa, { nbf: nowSeconds() + 10 }))).resolves.not.toBeNull();
    await expectRefused(lenient, await signClaims(rsa, { nbf: nowSeconds() + 600 }));
  });

  it("missing exp is refused by default and accepted with requireExpiry: false", async () => {
    const token = await signJwt(privateKeyOf(rsa), { alg: "RS256" }, { iss: ISSUER, aud: AUDIENCE, sub: "alice" });
    await expectRefused(verifierFor(rsa), token);
    const accepted = await verifierFor(rsa, { requireExpiry: false }).verifyToken(token);
    expect(accepted).not.toBeNull();
    expect(accepted!.expiresAt).toBeUndefined();
  });

  it("exp that is not a number", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, { exp: "tomorrow" as unknown as number }));
  });

  it("wrong issuer", async () => {
    await expectRefused(verifierFor(rsa), await mint(rsa, { issuer: "https://evil.test" }));
  });

  it("issuer that only differs by a trailing slash", async () => {
    await expectRefused(verifierFor(rsa), await mint(rsa, { issuer: `${ISSUER}/` }));
  });

  it("missing iss when an issuer is configured", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, { iss: undefined }));
  });

  it("issuer list: each listed issuer is accepted, others refused; non-URL issuers work", async () => {
    const verifier = verifierFor(rsa, { issuer: ["https://a.test", "urn:idp:b"] });
    await expect(verifier.verifyToken(await mint(rsa, { issuer: "https://a.test" }))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(rsa, { issuer: "urn:idp:b" }))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(rsa, { issuer: "https://c.test" }));
  });

  it("wrong audience", async () => {
    await expectRefused(verifierFor(rsa), await mint(rsa, { audience: "https://other-service.test" }));
  });

  it("missing aud when an audience is configured", async () => {
    await expectRefused(verifierFor(rsa), await signClaims(rsa, { aud: undefined }));
  });

  it("audience list in the configuration, audience lists in tokens", async () => {
    const verifier = verifierFor(rsa, { audience: ["https://a.test", "https://b.test"] });
    await expect(verifier.verifyToken(await mint(rsa, { audience: "https://b.test" }))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(rsa, { audience: ["https://x.test", "https://a.test"] }))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(rsa, { audience: ["https://x.test", "https://y.test"] }));
    await expectRefused(verifier, await mint(rsa, { audience: [] }));
  });

  it("audience: false turns the audience check off", async () => {
    const verifier = verifierFor(rsa, { audience: false });
    expect(verifier.audience).toBe(false);
    await expect(verifier.verifyToken(await signClaims(rsa, { aud: undefined }))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await mint(rsa, { audience: "https://anything.test" }))).resolves.not.toBeNull();
  });

  it("audience defaults to the MCP URL when only baseUrl is given, and follows bind(path)", async () => {
    const verifier = new JWTVerifier({ publicKey: rsa.publicKey, issuer: ISSUER, baseUrl: "https://mcp.example.com/" });
    expect(verifier.audience).toEqual(["https://mcp.example.com/mcp"]);
    const forMcp = await mint(rsa, { audience: "https://mcp.example.com/mcp" });
    await expect(verifier.verifyToken(forMcp)).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(rsa, { audience: "https://mcp.example.com" }));
    await expectRefused(verifier, await mint(rsa, { audience: "https://other.example.com/mcp" }));

    verifier.bind("/api/v1/mcp");
    expect(verifier.audience).toEqual(["https://mcp.example.com/api/v1/mcp"]);
    // The token accepted (and cached) for the old path must not survive the rebinding.
    await expectRefused(verifier, forMcp);
    await expect(verifier.verifyToken(await mint(rsa, { audience: "https://mcp.example.com/api/v1/mcp" }))).resolves.not.toBeNull();
  });

  it("audience defaults to resourceBaseUrl + MCP path when resourceBaseUrl is given", async () => {
    const verifier = new JWTVerifier({ publicKey: rsa.publicKey, issuer: ISSUER, baseUrl: "https://example.com", resourceBaseUrl: "https://example.com/api" });
    expect(verifier.audience).toEqual(["https://example.com/api/mcp"]);
    await expect(verifier.verifyToken(await mint(rsa, { audience: "https://example.com/api/mcp" }))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(rsa, { audience: "https://example.com/mcp" }));
  });

  it("an explicit audience wins over the baseUrl default", async () => {
    const verifier = new JWTVerifier({ publicKey: rsa.publicKey, issuer: ISSUER, baseUrl: "https://mcp.example.com", audience: "api://mcp" });
    await expect(verifier.verifyToken(await mint(rsa, { audience: "api://mcp" }))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(rsa, { audience: "https://mcp.example.com/mcp" }));
  });

  describe("malformed tokens", () => {
    it("garbage", async () => {
      await expectRefused(verifierFor(rsa), "not-a-jwt");
    });

    it("two parts", async () => {
      const [header, payload] = parts(await mint(rsa));
      await expectRefused(verifierFor(rsa), `${header}.${payload}`);
    });

    it("four and five parts", async () => {
      const token = await mint(rsa);
      await expectRefused(verifierFor(rsa), `${token}.extra`);
      await expectRefused(verifierFor(rsa), `${token}.extra.more`);
    });

    it("bad base64 in every part", async () => {
      await expectRefused(verifierFor(rsa), "@@@.###.$$$");
    });

    it("bad base64 in the payload only", async () => {
      const [header, , signature] = parts(await mint(rsa));
      await expectRefused(verifierFor(rsa), `${header}.!!not*base64!!.${signature}`);
    });

    it("header that is not JSON", async () => {
      const [, payload, signature] = parts(await mint(rsa));
      await expectRefused(verifierFor(rsa), `${b64("{alg: RS256")}.${payload}.${signature}`);
    });

    it("header that is JSON but not an object", async () => {
      const [, payload, signature] = parts(await mint(rsa));
      await expectRefused(verifierFor(rsa), `${b64(["RS256"])}.${payload}.${signature}`);
      await expectRefused(verifierFor(rsa), `${b64("null")}.${payload}.${signature}`);
    });

    it("payload that is JSON but not an object, correctly signed", async () => {
      const key = privateKeyOf(rsa);
      for (const payload of ["[1,2]", "null", "42", '"text"']) {
        const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "RS256" }).sign(key);
        await expectRefused(verifierFor(rsa), token);
      }
    });

    it("payload that is not JSON, correctly signed", async () => {
      const token = await new CompactSign(new TextEncoder().encode("hello")).setProtectedHeader({ alg: "RS256" }).sign(privateKeyOf(rsa));
      await expectRefused(verifierFor(rsa), token);
    });

    it("a huge token (1 MiB)", async () => {
      const [header, , signature] = parts(await mint(rsa));
      await expectRefused(verifierFor(rsa), `${header}.${"A".repeat(1024 * 1024)}.${signature}`);
    });

    it("a correctly signed token longer than 16 KiB is refused before any parsing", async () => {
      const token = await signClaims(rsa, { padding: "x".repeat(17_000) });
      expect(token.length).toBeGreaterThan(16_384);
      await expectRefused(verifierFor(rsa), token);
    });

    it("empty string", async () => {
      await expectRefused(verifierFor(rsa), "");
    });

    it("whitespace and a token wrapped in whitespace", async () => {
      await expectRefused(verifierFor(rsa), "   ");
      await expectRefused(verifierFor(rsa), ` ${await mint(rsa)} `);
    });

    it("a value that is not a string", async () => {
      await expectRefused(verifierFor(rsa), undefined as unknown as string);
      await expectRefused(verifierFor(rsa), { toString: () => "x" } as unknown as string);
    });
  });

  it("right key, tampered payload (scope escalated)", async () => {
    const [header, payload, signature] = parts(await mint(rsa));
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    const escalated = b64({ ...claims, scope: "read admin" });
    await expectRefused(verifierFor(rsa), `${header}.${escalated}.${signature}`);
  });

  it("right key, tampered header (kid changed)", async () => {
    const [, payload, signature] = parts(await mint(rsa));
    await expectRefused(verifierFor(rsa), `${b64({ alg: "RS256", typ: "JWT", kid: "another" })}.${payload}.${signature}`);
  });

});

describe("JWTVerifier construction errors", () => {
  const construct = (options: JWTVerifierOptions) => () => new JWTVerifier(options);

  it("refuses a static key whose type cannot verify the configured algorithm", () => {
    expect(construct({ publicKey: ec.publicKey, algorithm: "RS256", issuer: ISSUER, audience: AUDIENCE })).toThrow(/is a ec key, which cannot verify RS256/);
    expect(construct({ publicKey: rsa.publicKey, algorithm: "ES256", issuer: ISSUER, audience: AUDIENCE })).toThrow(/cannot verify ES256/);
    expect(construct({ publicKey: rsa.publicKeyObject, algorithm: "EdDSA", issuer: ISSUER, audience: AUDIENCE })).toThrow(/cannot verify EdDSA/);
  });

  it("needs exactly one of publicKey and jwksUri", () => {
    expect(construct({ audience: AUDIENCE })).toThrow(AuthConfigurationError);
    expect(construct({ audience: AUDIENCE })).toThrow(/exactly one of publicKey and jwksUri/);
    expect(construct({ audience: AUDIENCE, publicKey: rsa.publicKey, jwksUri: "https://idp.test/jwks" })).toThrow(/exactly one/);
  });

  it("refuses a private key given as publicKey (PKCS#8 PEM, PKCS#1 PEM, private JWK, private KeyObject)", async () => {
    expect(construct({ audience: AUDIENCE, publicKey: rsa.privateKeyPem() })).toThrow(/private key/);
    const pkcs1 = privateKeyOf(rsa).export({ type: "pkcs1", format: "pem" }).toString();
    expect(construct({ audience: AUDIENCE, publicKey: pkcs1 })).toThrow(/private key/);
    const privateJwk = await exportJWK(privateKeyOf(rsa));
    expect(construct({ audience: AUDIENCE, publicKey: privateJwk })).toThrow(/private JWK/);
    expect(construct({ audience: AUDIENCE, publicKey: privateKeyOf(rsa) })).toThrow(/public KeyObject/);
  });

  it("refuses a string that is not a PEM public key or certificate", () => {
    expect(construct({ audience: AUDIENCE, publicKey: "not a key" })).toThrow(AuthConfigurationError);
  });

  it("refuses, at construction, a PEM public key whose body is not a key (the constructor promises startup failure)", () => {
    const broken = "-----BEGIN PUBLIC KEY-----\nTm90IGEga2V5IGF0IGFsbA==\n-----END PUBLIC KEY-----\n";
    expect(construct({ audience: AUDIENCE, publicKey: broken })).toThrow(AuthConfigurationError);
  });

  it("refuses HS* with a jwksUri", () => {
    expect(construct({ audience: AUDIENCE, algorithm: "HS256", jwksUri: "https://idp.test/jwks" })).toThrow(/shared secret/);
  });

  it("refuses an HS* secret shorter than 32 characters, accepts 32", () => {
    expect(construct({ audience: AUDIENCE, algorithm: "HS256", publicKey: "x".repeat(31) })).toThrow(/at least 32/);
    expect(construct({ audience: AUDIENCE, algorithm: "HS256", publicKey: "x".repeat(32) })).not.toThrow();
  });

  it("refuses an HS* secret that is a PEM key or not a string", async () => {
    expect(construct({ audience: AUDIENCE, algorithm: "HS256", publicKey: rsa.publicKey })).toThrow(/not a PEM key/);
    expect(construct({ audience: AUDIENCE, algorithm: "HS256", publicKey: await rsa.publicJwk() })).toThrow(/as a string/);
  });

  it("refuses mixing HS* and public-key algorithms", () => {
    expect(construct({ audience: AUDIENCE, algorithm: ["RS256", "HS256"], publicKey: rsa.publicKey })).toThrow(/cannot mix/);
    expect(construct({ audience: AUDIENCE, algorithm: ["HS256", "ES256"], publicKey: SECRET })).toThrow(/cannot mix/);
  });

  it("refuses unknown algorithms, none, and an empty list", () => {
    for (const algorithm of ["none", "RS1", "HS1", "rs256", "Ed448x"]) {
      expect(construct({ audience: AUDIENCE, publicKey: rsa.publicKey, algorithm: algorithm as "RS256" })).toThrow(AuthConfigurationError);
    }
    expect(construct({ audience: AUDIENCE, publicKey: rsa.publicKey, algorithm: [] })).toThrow(/at least one algorithm/);
  });

  it("needs an audience or a baseUrl", () => {
    expect(construct({ publicKey: rsa.publicKey })).toThrow(/needs an audience/);
    expect(construct({ publicKey: rsa.publicKey, baseUrl: "https://mcp.example.com" })).not.toThrow();
    expect(construct({ publicKey: rsa.publicKey, audience: false })).not.toThrow();
  });

  it("refuses a non-loopback http jwksUri unless allowInsecureHttp", () => {
    expect(construct({ audience: AUDIENCE, jwksUri: "http://idp.example.com/jwks" })).toThrow(/must use https/);
    expect(construct({ audience: AUDIENCE, jwksUri: "http://10.0.0.5/jwks" })).toThrow(/must use https/);
    expect(construct({ audience: AUDIENCE, jwksUri: "http://idp.example.com/jwks", allowInsecureHttp: true })).not.toThrow();
    for (const loopback of ["http://127.0.0.1:9/jwks", "http://localhost:9/jwks", "http://[::1]:9/jwks"]) {
      expect(construct({ audience: AUDIENCE, jwksUri: loopback })).not.toThrow();
    }
    expect(construct({ audience: AUDIENCE, jwksUri: "https://idp.example.com/jwks" })).not.toThrow();
  });

  it("refuses a jwksUri that is not an absolute http(s) URL", () => {
    expect(construct({ audience: AUDIENCE, jwksUri: "/jwks" })).toThrow(AuthConfigurationError);
    expect(construct({ audience: AUDIENCE, jwksUri: "file:///etc/jwks.json" })).toThrow(AuthConfigurationError);
    expect(construct({ audience: AUDIENCE, jwksUri: "https://user:pass@idp.test/jwks" })).toThrow(AuthConfigurationError);
  });
});

describe("JWTVerifier claim mapping", () => {
  const verify = async (claims: JWTPayload): Promise<AccessToken> => {
    const result = await verifierFor(rsa).verifyToken(await signClaims(rsa, claims));
    expect(result).not.toBeNull();
    return result!;
  };

  it("scopes from a space-delimited `scope` string (extra whitespace ignored)", async () => {
    expect((await verify({ scope: "  read   write\tadmin " })).scopes).toEqual(["read", "write", "admin"]);
  });

  it("scopes from a `scope` list", async () => {
    expect((await verify({ scope: ["read", "write"] })).scopes).toEqual(["read", "write"]);
  });

  it("scopes from `scp` (string and list) when there is no `scope`", async () => {
    expect((await verify({ scp: "a b" })).scopes).toEqual(["a", "b"]);
    expect((await verify({ scp: ["c", "d"] })).scopes).toEqual(["c", "d"]);
  });

  it("`scope` takes precedence over `scp`", async () => {
    expect((await verify({ scope: "from-scope", scp: ["from-scp"] })).scopes).toEqual(["from-scope"]);
  });

  it("no scopes when neither claim is present", async () => {
    expect((await verify({})).scopes).toEqual([]);
  });

  it("clientId from client_id, then azp, then sub, else \"unknown\"", async () => {
    expect((await verify({ client_id: "cid", azp: "azp", sub: "sub" })).clientId).toBe("cid");
    expect((await verify({ azp: "azp", sub: "sub" })).clientId).toBe("azp");
    expect((await verify({ sub: "sub" })).clientId).toBe("sub");
    expect((await verify({})).clientId).toBe("unknown");
    expect((await verify({ client_id: "", azp: 7, sub: "sub" })).clientId).toBe("sub");
  });

  it("subject, expiresAt, resource, token and every claim", async () => {
    const exp = nowSeconds() + 900;
    const raw = await signClaims(rsa, { sub: "alice", exp, email: "alice@example.com", roles: ["admin"] });
    const result = (await verifierFor(rsa).verifyToken(raw))!;
    expect(result.token).toBe(raw);
    expect(result.subject).toBe("alice");
    expect(result.expiresAt).toBe(exp);
    expect(result.resource).toBe(AUDIENCE);
    expect(result.claims).toMatchObject({ sub: "alice", exp, iss: ISSUER, aud: AUDIENCE, email: "alice@example.com", roles: ["admin"] });
  });

  it("subject is absent without sub", async () => {
    expect((await verify({ client_id: "c" })).subject).toBeUndefined();
  });

  it("resource from a one-element aud list; none from a multi-element one", async () => {
    expect((await verify({ aud: [AUDIENCE] })).resource).toBe(AUDIENCE);
    expect((await verify({ aud: [AUDIENCE, "https://other.test"] })).resource).toBeUndefined();
  });

  it("the returned AccessToken is frozen, claims and scopes included, deeply", async () => {
    const result = await verify({ scope: "read", realm: { roles: ["user"] } });
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.claims)).toBe(true);
    expect(Object.isFrozen(result.scopes)).toBe(true);
    expect(Object.isFrozen((result.claims.realm as { roles: string[] }).roles)).toBe(true);
    expect(() => { (result as { clientId: string }).clientId = "evil"; }).toThrow(TypeError);
    expect(() => { (result.claims as Record<string, unknown>).admin = true; }).toThrow(TypeError);
    expect(() => { (result.scopes as string[]).push("admin"); }).toThrow(TypeError);
    expect(() => { (result.claims.realm as { roles: string[] }).roles.push("admin"); }).toThrow(TypeError);
  });
});

describe("JWTVerifier static key forms and algorithms", () => {
  it("PEM SPKI", async () => {
    await expect(verifierFor(rsa, { publicKey: rsa.publicKey }).verifyToken(await mint(rsa))).resolves.not.toBeNull();
  });

  it("X.509 certificate (self-signed, built with node:crypto)", async () => {
    const certificate = selfSignedCertificate(rsa);
    // The certificate is genuine: Node parses it and its signature checks out.
    const parsed = new X509Certificate(certificate);
    expect(parsed.verify(rsa.publicKeyObject)).toBe(true);
    expect(parsed.publicKey.export({ type: "spki", format: "pem" })).toBe(rsa.publicKey);

    const verifier = verifierFor(rsa, { publicKey: certificate });
    await expect(verifier.verifyToken(await mint(rsa))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(otherRsa));
  });

  it("X.509 certificate of an EC key (ES256)", async () => {
    const verifier = verifierFor(ec, { publicKey: selfSignedCertificate(ec) });
    await expect(verifier.verifyToken(await mint(ec))).resolves.not.toBeNull();
  });

  it("JWK", async () => {
    const verifier = verifierFor(rsa, { publicKey: await rsa.publicJwk() });
    await expect(verifier.verifyToken(await mint(rsa))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(otherRsa));
  });

  it("KeyObject", async () => {
    const verifier = verifierFor(rsa, { publicKey: rsa.publicKeyObject });
    await expect(verifier.verifyToken(await mint(rsa))).resolves.not.toBeNull();
    await expectRefused(verifier, await mint(otherRsa));
  });

  it("WebCrypto CryptoKey", async () => {
    const cryptoKey = await webcrypto.subtle.importKey("jwk", await rsa.publicJwk(), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
    const verifier = verifierFor(rsa, { publicKey: cryptoKey as CryptoKey });
    await expect(verifier.verifyToken(await mint(rsa))).resolves.not.toBeNull();
  });

  it("several RSA algorithms with one static key (RS256 and PS384)", async () => {
    const verifier = verifierFor(rsa, { algorithm: ["RS256", "PS384"] });
    await expect(verifier.verifyToken(await signClaims(rsa, {}, { alg: "RS256" }))).resolves.not.toBeNull();
    await expect(verifier.verifyToken(await signClaims(rsa, {}, { alg: "PS384" }))).resolves.not.toBeNull();
    await expectRefused(verifier, await signClaims(rsa, {}, { alg: "PS256" }));
  });

  it("ES256 pair: PEM and JWK", async () => {
    const token = await mint(ec);
    await expect(verifierFor(ec).verifyToken(token)).resolves.not.toBeNull();
    await expect(verifierFor(ec, { publicKey: await ec.publicJwk() }).verifyToken(token)).resolves.not.toBeNull();
    await expectRefused(verifierFor(ec), await mint(JWTKeyPair.generate("ES256")));
  });

  it("EdDSA pair: PEM, JWK and KeyObject", async () => {
    const token = await mint(ed);
    await expect(verifierFor(ed).verifyToken(token)).resolves.not.toBeNull();
    await expect(verifierFor(ed, { publicKey: await ed.publicJwk() }).verifyToken(token)).resolves.not.toBeNull();
    await expect(verifierFor(ed, { publicKey: ed.publicKeyObject }).verifyToken(token)).resolves.not.toBeNull();
    await expectRefused(verifierFor(ed), await mint(JWTKeyPair.generate("EdDSA")));
  });

  it("the fully specified Ed25519 algorithm name", async () => {
    const token = await signClaims(ed, {}, { alg: "Ed25519" });
    await expect(verifierFor(ed, { algorithm: "Ed25519" }).verifyToken(token)).resolves.not.toBeNull();
    await expectRefused(verifierFor(ed, { algorithm: "EdDSA" }), token);
  });

  it("ES384 with a P-384 key", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const token = await signJwt(privateKey, { alg: "ES384" }, { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });
    const verifier = new JWTVerifier({ publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), algorithm: "ES384", issuer: ISSUER, audience: AUDIENCE });
    await expect(verifier.verifyToken(token)).resolves.not.toBeNull();
  });

  it.each(["HS256", "HS384", "HS512"] as const)("%s with a shared secret; another secret is refused", async (alg) => {
    const verifier = new JWTVerifier({ publicKey: SECRET, algorithm: alg, issuer: ISSUER, audience: AUDIENCE });
    const claims = { iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, scope: "read" };
    const good = await signJwt(new TextEncoder().encode(SECRET), { alg }, claims);
    expect((await verifier.verifyToken(good))?.scopes).toEqual(["read"]);
    await expectRefused(verifier, await signJwt(new TextEncoder().encode(`${SECRET}-other`), { alg }, claims));
  });
});
