/**
 * The access tokens: RFC 9068 JWTs signed with the provider's own key, published at
 * /.well-known/jwks.json, verifiable by another resource server with JWTVerifier; every way a
 * token can be wrong refused at the MCP endpoint; user claims carried but never in charge.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { JWTVerifier, LocalOAuthProvider, type KeyPairAlgorithm, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { jwtParts, keyRingOf, mcpStatus, register, SCOPES, startLocal, tokensFor, USERS, whoami, type LocalServer, type RegisteredClient } from "./harness.js";

const OTHER_RESOURCE = "https://reports.example.com/mcp";

function localProvider(baseUrl: string, options: Partial<LocalOAuthProviderOptions> = {}): LocalOAuthProvider {
  return new LocalOAuthProvider({ baseUrl, users: USERS, store: new MemoryStore(), ...SCOPES, additionalResources: [OTHER_RESOURCE], ...options });
}

let server: LocalServer;
let client: RegisteredClient;

beforeAll(async () => {
  server = await startLocal((baseUrl) => localProvider(baseUrl));
  client = await register(server.baseUrl);
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

async function jwks(baseUrl: string): Promise<{ keys: Array<Record<string, unknown>> }> {
  const response = await fetch(`${baseUrl}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as { keys: Array<Record<string, unknown>> };
}

/** A token signed by the provider's real key with exactly these claims (for the refusal cases). */
async function signedByProvider(claims: Record<string, unknown>): Promise<string> {
  const ring = await keyRingOf(server.provider);
  return ring.sign(claims);
}

/** The claims of a token the provider would issue, as a base for crafted ones. */
async function validClaims(): Promise<Record<string, unknown>> {
  const { payload } = jwtParts((await tokensFor(server, client)).access_token);
  return { ...payload, jti: randomBytes(8).toString("hex") };
}

describe("LocalOAuthProvider tokens: format", () => {
  it("issues an RFC 9068 JWT: typ at+jwt, RS256, and a kid published in the JWKS", async () => {
    const { header } = jwtParts((await tokensFor(server, client)).access_token);
    expect(header).toEqual({ alg: "RS256", typ: "at+jwt", kid: expect.any(String) });
    const keys = (await jwks(server.baseUrl)).keys;
    const key = keys.find((candidate) => candidate.kid === header.kid);
    expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: header.kid });
    expect(key).not.toHaveProperty("d");
    expect(key).not.toHaveProperty("p");
  });

  it("carries iss, aud (the resource), sub, client_id, scope, iat, exp and a unique jti", async () => {
    const first = await tokensFor(server, client, { scope: "mcp:read mcp:write" });
    const { payload } = jwtParts(first.access_token);
    expect(payload).toMatchObject({
      iss: server.baseUrl,
      aud: `${server.baseUrl}/mcp`,
      sub: "alice",
      client_id: client.client_id,
      scope: "mcp:read mcp:write",
      jti: expect.stringMatching(/^[\w-]{16,}$/),
    });
    expect(payload.exp).toBe((payload.iat as number) + 3600);
    expect(first.expires_in).toBe(3600);
    expect(first.token_type).toBe("Bearer");
    const second = jwtParts((await tokensFor(server, client)).access_token).payload;
    expect(second.jti).not.toBe(payload.jti);
  });

  it("advertises the JWKS in the authorization server metadata", async () => {
    const metadata = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.jwks_uri).toBe(`${server.baseUrl}/.well-known/jwks.json`);
    expect(metadata.issuer).toBe(server.baseUrl);
  });

  it("binds a token asked for another resource server to that resource", async () => {
    const { payload } = jwtParts((await tokensFor(server, client, { resource: OTHER_RESOURCE })).access_token);
    expect(payload.aud).toBe(OTHER_RESOURCE);
  });

  it.each(["ES256", "EdDSA"] as const)("signs with %s end to end when asked to", async (algorithm: KeyPairAlgorithm) => {
    const signing = await startLocal((baseUrl) => localProvider(baseUrl, { signingAlgorithm: algorithm }));
    try {
      const signingClient = await register(signing.baseUrl);
      const tokens = await tokensFor(signing, signingClient);
      const { header } = jwtParts(tokens.access_token);
      expect(header).toMatchObject({ alg: algorithm, typ: "at+jwt" });
      const key = (await jwks(signing.baseUrl)).keys.find((candidate) => candidate.kid === header.kid);
      expect(key).toMatchObject(algorithm === "ES256" ? { kty: "EC", crv: "P-256", alg: "ES256" } : { kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
      expect(await whoami(signing.url, tokens.access_token)).toMatchObject({ subject: "alice", clientId: signingClient.client_id });
      const verifier = new JWTVerifier({ jwksUri: `${signing.baseUrl}/.well-known/jwks.json`, issuer: signing.baseUrl, audience: `${signing.baseUrl}/mcp`, algorithm });
      expect((await verifier.verifyToken(tokens.access_token))?.subject).toBe("alice");
    } finally {
      await signing.close();
    }
  });
});

describe("LocalOAuthProvider tokens: another resource server verifies them", () => {
  it("verifies with JWTVerifier({ jwksUri, issuer, audience })", async () => {
    const tokens = await tokensFor(server, client, { scope: "mcp:read mcp:write" });
    const verifier = new JWTVerifier({ jwksUri: `${server.baseUrl}/.well-known/jwks.json`, issuer: server.baseUrl, audience: `${server.baseUrl}/mcp` });
    const verified = await verifier.verifyToken(tokens.access_token);
    expect(verified).toMatchObject({ subject: "alice", clientId: client.client_id, scopes: ["mcp:read", "mcp:write"] });
    expect(verified!.claims.email).toBe("alice@example.com");
  });

  it("lets a resource server named in additionalResources verify the tokens issued for it, and no other", async () => {
    const tokens = await tokensFor(server, client, { resource: OTHER_RESOURCE });
    const reports = new JWTVerifier({ jwksUri: `${server.baseUrl}/.well-known/jwks.json`, issuer: server.baseUrl, audience: OTHER_RESOURCE });
    expect((await reports.verifyToken(tokens.access_token))?.subject).toBe("alice");
    const own = new JWTVerifier({ jwksUri: `${server.baseUrl}/.well-known/jwks.json`, issuer: server.baseUrl, audience: `${server.baseUrl}/mcp` });
    expect(await own.verifyToken(tokens.access_token)).toBeNull();
  });
});

describe("LocalOAuthProvider tokens: refused at the MCP endpoint", () => {
  it("accepts the genuine token (the baseline of the refusals)", async () => {
    expect(await mcpStatus(server.url, (await tokensFor(server, client)).access_token)).toBe(200);
  });

  it("refuses a token signed by another key under the provider's kid", async () => {
    const { kid } = jwtParts((await tokensFor(server, client)).access_token).header;
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = await new SignJWT(await validClaims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: kid as string }).sign(privateKey);
    expect(await mcpStatus(server.url, forged)).toBe(401);
  });

  it("refuses a token signed by another key under a kid it does not know", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = await new SignJWT(await validClaims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "attacker" }).sign(privateKey);
    expect(await mcpStatus(server.url, forged)).toBe(401);
  });

  it("refuses an unsigned token (alg none)", async () => {
    const { kid } = jwtParts((await tokensFor(server, client)).access_token).header;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "none", typ: "at+jwt", kid })}.${encode(await validClaims())}.`;
    expect(await mcpStatus(server.url, unsigned)).toBe(401);
  });

  it("refuses an HS256 token keyed with the published public key (algorithm confusion)", async () => {
    const { kid } = jwtParts((await tokensFor(server, client)).access_token).header;
    const jwk = (await jwks(server.baseUrl)).keys.find((key) => key.kid === kid)!;
    const confused = await new SignJWT(await validClaims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: kid as string }).sign(new TextEncoder().encode(JSON.stringify(jwk)));
    expect(await mcpStatus(server.url, confused)).toBe(401);
  });

  it("refuses a genuine token whose payload was altered", async () => {
    const token = (await tokensFor(server, client)).access_token;
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: "mcp:read mcp:write", sub: "root" })).toString("base64url")}.${signature}`;
    expect(await mcpStatus(server.url, altered)).toBe(401);
  });

  it("refuses a token issued for another resource (wrong aud)", async () => {
    const tokens = await tokensFor(server, client, { resource: OTHER_RESOURCE });
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
  });

  it("refuses a token signed by its key with a wrong aud, iss or typ", async () => {
    const claims = await validClaims();
    expect(await mcpStatus(server.url, await signedByProvider({ ...claims, aud: "https://elsewhere.example.com/mcp" }))).toBe(401);
    expect(await mcpStatus(server.url, await signedByProvider({ ...claims, iss: "https://elsewhere.example.com" }))).toBe(401);
    const ring = await keyRingOf(server.provider);
    const { kid } = jwtParts(await ring.sign(claims)).header;
    // The same key, but an ID token's typ: not an access token.
    const privateKey = (ring as unknown as { keys: Array<{ kid: string; privateKey: import("node:crypto").KeyObject }> }).keys.find((key) => key.kid === kid)!.privateKey;
    const idToken = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: kid as string }).sign(privateKey);
    expect(await mcpStatus(server.url, idToken)).toBe(401);
    expect(await mcpStatus(server.url, await new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: kid as string }).sign(privateKey))).toBe(200);
  });

  it("refuses a token signed by its key without the grant it belongs to", async () => {
    const { gid: _gid, ...claims } = await validClaims();
    expect(await mcpStatus(server.url, await signedByProvider(claims))).toBe(401);
    expect(await mcpStatus(server.url, await signedByProvider({ ...claims, gid: "no-such-grant" }))).toBe(401);
  });

  it("refuses an expired token", async () => {
    const short = await startLocal((baseUrl) => localProvider(baseUrl, { accessTokenTtlSeconds: 60 }));
    try {
      const token = (await tokensFor(short, await register(short.baseUrl))).access_token;
      expect(await mcpStatus(short.url, token)).toBe(200);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
      expect(await mcpStatus(short.url, token)).toBe(401);
    } finally {
      await short.close();
    }
  });

  it("refuses a token signed by its key whose exp has passed", async () => {
    const claims = await validClaims();
    const now = Math.floor(Date.now() / 1000);
    expect(await mcpStatus(server.url, await signedByProvider({ ...claims, iat: now - 120, exp: now - 60 }))).toBe(401);
  });
});

describe("LocalOAuthProvider tokens: user claims", () => {
  it("puts the details of a users entry into ctx.auth.claims", async () => {
    const me = await whoami(server.url, (await tokensFor(server, client)).access_token);
    expect(me.claims).toMatchObject({ name: "Alice Liddell", email: "alice@example.com", roles: ["reader"] });
  });

  it("puts what authenticate returns into the token, with its subject", async () => {
    const authenticating = await startLocal((baseUrl) => new LocalOAuthProvider({
      baseUrl,
      store: new MemoryStore(),
      ...SCOPES,
      authenticate: (username, password) => (username === "bob" && password === "builder" ? { subject: "user-42", name: "Bob", claims: { department: "construction" } } : null),
    }));
    try {
      const tokens = await tokensFor(authenticating, await register(authenticating.baseUrl), { username: "bob", password: "builder" });
      const me = await whoami(authenticating.url, tokens.access_token);
      expect(me).toMatchObject({ subject: "user-42", claims: { sub: "user-42", name: "Bob", department: "construction" } });
    } finally {
      await authenticating.close();
    }
  });

  it("never lets user claims override the standard ones", async () => {
    const hostile = { iss: "https://evil.example.com", aud: "https://evil.example.com/mcp", sub: "root", exp: 9_999_999_999, iat: 1, nbf: 9_999_999_999, jti: "fixed", scope: "mcp:read mcp:write admin", scp: ["admin"], client_id: "evil", azp: "evil", gid: "evil", email: "mallory@example.com" };
    const overriding = await startLocal((baseUrl) => localProvider(baseUrl, { users: { mallory: { password: "pw", claims: hostile } } }));
    try {
      const malloryClient = await register(overriding.baseUrl);
      const tokens = await tokensFor(overriding, malloryClient, { username: "mallory", password: "pw" });
      const { payload } = jwtParts(tokens.access_token);
      expect(payload).toMatchObject({ iss: overriding.baseUrl, aud: `${overriding.baseUrl}/mcp`, sub: "mallory", client_id: malloryClient.client_id, scope: "mcp:read", email: "mallory@example.com" });
      expect(payload.exp).toBe((payload.iat as number) + 3600);
      expect(payload.jti).not.toBe("fixed");
      expect(payload.gid).not.toBe("evil");
      expect(payload).not.toHaveProperty("nbf");
      expect(payload).not.toHaveProperty("scp");
      expect(payload).not.toHaveProperty("azp");
      const me = await whoami(overriding.url, tokens.access_token);
      expect(me).toMatchObject({ subject: "mallory", clientId: malloryClient.client_id, scopes: ["mcp:read"] });
      expect(me.claims.email).toBe("mallory@example.com");
      // Another resource server reads the same: the scopes are the grant's, not the user's.
      const verifier = new JWTVerifier({ jwksUri: `${overriding.baseUrl}/.well-known/jwks.json`, issuer: overriding.baseUrl, audience: `${overriding.baseUrl}/mcp` });
      expect((await verifier.verifyToken(tokens.access_token))?.scopes).toEqual(["mcp:read"]);
    } finally {
      await overriding.close();
    }
  });
});
