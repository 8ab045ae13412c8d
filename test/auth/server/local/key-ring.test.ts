/**
 * The signing key ring: generated once per store (however many instances start on it), kept
 * sealed, rotated with an overlap during which the old key still verifies, and unusable with
 * another encryption key.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { AuthConfigurationError, JWTVerifier, LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { FileStore, MemoryStore, SecretBox } from "fastmcp-ts/storage";
import { jwtParts, keyRingOf, mcpStatus, register, SCOPES, startLocal, tokensFor, USERS, type LocalServer } from "./harness.js";

const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  vi.useRealTimers();
  while (cleanups.length > 0) await cleanups.pop()!();
});

function localProvider(baseUrl: string, options: Partial<LocalOAuthProviderOptions> = {}): LocalOAuthProvider {
  return new LocalOAuthProvider({ baseUrl, users: USERS, store: new MemoryStore(), ...SCOPES, ...options });
}

async function serve(make: (baseUrl: string) => LocalOAuthProvider, options: { baseUrl?: string } = {}): Promise<LocalServer> {
  const server = await startLocal(make, options);
  cleanups.push(() => server.close());
  return server;
}

function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "fastmcp-keyring-"));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function kids(baseUrl: string): Promise<string[]> {
  const { keys } = (await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return keys.map((key) => key.kid).sort();
}

const kidOf = (token: string) => jwtParts(token).header.kid as string;

describe("LocalOAuthProvider key ring: rotation", () => {
  it("signs new tokens with the new key and keeps the old one verifying during the overlap", async () => {
    const server = await serve((baseUrl) => localProvider(baseUrl));
    const client = await register(server.baseUrl);
    const before = (await tokensFor(server, client)).access_token;
    const oldKid = kidOf(before);
    expect(await kids(server.baseUrl)).toEqual([oldKid]);

    await server.provider.rotateSigningKey();
    const after = (await tokensFor(server, client)).access_token;
    const newKid = kidOf(after);
    expect(newKid).not.toBe(oldKid);
    expect(await kids(server.baseUrl)).toEqual([oldKid, newKid].sort());

    expect(await mcpStatus(server.url, before)).toBe(200);
    expect(await mcpStatus(server.url, after)).toBe(200);
    const verifier = new JWTVerifier({ jwksUri: `${server.baseUrl}/.well-known/jwks.json`, issuer: server.baseUrl, audience: `${server.baseUrl}/mcp` });
    expect((await verifier.verifyToken(before))?.subject).toBe("alice");
    expect((await verifier.verifyToken(after))?.subject).toBe("alice");
  });

  it("stops publishing the old key once the tokens it signed have expired", async () => {
    const server = await serve((baseUrl) => localProvider(baseUrl, { accessTokenTtlSeconds: 60 }));
    const oldKid = kidOf((await tokensFor(server, await register(server.baseUrl))).access_token);
    await server.provider.rotateSigningKey();
    expect(await kids(server.baseUrl)).toContain(oldKid);
    // The overlap is the access token lifetime plus 5 minutes.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + (60 + 300 + 1) * 1000 });
    const published = await kids(server.baseUrl);
    expect(published).not.toContain(oldKid);
    expect(published).toHaveLength(1);
  });

  it("rotates by itself once the key is signingKeyRotationDays old", async () => {
    const server = await serve((baseUrl) => localProvider(baseUrl, { signingKeyRotationDays: 1 }));
    const client = await register(server.baseUrl);
    const oldKid = kidOf((await tokensFor(server, client)).access_token);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 86_400_000 + 1000 });
    const newKid = kidOf((await tokensFor(server, client)).access_token);
    expect(newKid).not.toBe(oldKid);
    expect(await kids(server.baseUrl)).toEqual([oldKid, newKid].sort());
  });
});

describe("LocalOAuthProvider key ring: scheduled rotation", () => {
  const day = 86_400_000;

  it("publishes the next key a quarter of the period (at most a day) before it signs, then retires the old one after the overlap", async () => {
    const server = await serve((baseUrl) => localProvider(baseUrl, { signingKeyRotationDays: 2, accessTokenTtlSeconds: 60 }));
    const client = await register(server.baseUrl);
    const start = Date.now();
    const firstKid = kidOf((await tokensFor(server, client)).access_token);

    // 1.5 days in: half a day before the rotation is due, the successor is published but does not sign.
    vi.useFakeTimers({ toFake: ["Date"], now: start + 1.5 * day + 1000 });
    expect(kidOf((await tokensFor(server, client)).access_token)).toBe(firstKid);
    const published = await kids(server.baseUrl);
    expect(published).toHaveLength(2);
    const nextKid = published.find((kid) => kid !== firstKid)!;

    // A resource server that fetched the JWKS now (and will not fetch it again) already knows the key the next tokens carry.
    const verifier = new JWTVerifier({ jwksUri: `${server.baseUrl}/.well-known/jwks.json`, issuer: server.baseUrl, audience: `${server.baseUrl}/mcp`, jwks: { cooldownMs: 3 * day, maxAgeMs: 3 * day } });
    expect(await verifier.verifyToken((await tokensFor(server, client)).access_token)).not.toBeNull();

    // Due: the successor signs; the old key is still published for its last tokens.
    vi.setSystemTime(start + 2 * day + 1000);
    const after = (await tokensFor(server, client)).access_token;
    expect(kidOf(after)).toBe(nextKid);
    expect(await verifier.verifyToken(after)).not.toBeNull();
    expect(await kids(server.baseUrl)).toEqual([firstKid, nextKid].sort());

    // Past the overlap (access token lifetime + 5 minutes): only the new key remains.
    vi.setSystemTime(start + 2 * day + (60 + 300 + 2) * 1000);
    expect(await kids(server.baseUrl)).toEqual([nextKid]);
  });
});

describe("LocalOAuthProvider key ring: instances sharing a store", () => {
  it("generates one key for two instances on one MemoryStore, and each verifies the other's tokens", async () => {
    const store = new MemoryStore();
    const encryptionKey = SecretBox.generateKey();
    const a = await serve((baseUrl) => localProvider(baseUrl, { store, encryptionKey }));
    const b = await serve(() => localProvider(a.baseUrl, { store, encryptionKey }), { baseUrl: a.baseUrl });
    await Promise.all([a.provider.ready(), b.provider.ready()]);
    expect(await a.provider.jwks()).toEqual(await b.provider.jwks());
    expect((await a.provider.jwks()).keys).toHaveLength(1);

    const token = (await tokensFor(a, await register(a.baseUrl))).access_token;
    expect(await mcpStatus(b.url, token)).toBe(200);
    const fromB = await (await keyRingOf(b.provider)).sign(jwtParts(token).payload);
    expect(kidOf(fromB)).toBe(kidOf(token));
    expect(await mcpStatus(a.url, fromB)).toBe(200);
  });

  it("generates one key when two instances start on one MemoryStore at the same moment, without an encryptionKey", async () => {
    const store = new MemoryStore();
    const a = localProvider("http://127.0.0.1:1", { store });
    const b = localProvider("http://127.0.0.1:1", { store });
    await Promise.all([a.ready(), b.ready()]);
    expect((await a.jwks()).keys).toHaveLength(1);
    expect(await a.jwks()).toEqual(await b.jwks());
  });

  it("generates one key for two instances on one FileStore directory (two processes), with the key file they share", async () => {
    const directory = tempDirectory();
    const a = localProvider("http://127.0.0.1:1", { store: new FileStore({ directory }) });
    const b = localProvider("http://127.0.0.1:1", { store: new FileStore({ directory }) });
    await Promise.all([a.ready(), b.ready()]);
    expect((await a.jwks()).keys).toHaveLength(1);
    expect(await a.jwks()).toEqual(await b.jwks());
  });

  it("keeps the private keys sealed in the store", async () => {
    const directory = tempDirectory();
    const provider = localProvider("http://127.0.0.1:1", { store: new FileStore({ directory }) });
    await provider.ready();
    await provider.rotateSigningKey();
    const contents = readdirSync(directory).filter((name) => name.endsWith(".json")).map((name) => readFileSync(join(directory, name), "utf8"));
    expect(contents.some((content) => content.includes("signing-keys"))).toBe(true);
    for (const content of contents) expect(content).not.toMatch(/PRIVATE KEY|"d":/);
    for (const name of readdirSync(directory)) expect(statSync(join(directory, name)).mode & 0o077, name).toBe(0);
  });

  it("makes the other instance sign with a key rotated elsewhere within a minute", async () => {
    const store = new MemoryStore();
    const encryptionKey = SecretBox.generateKey();
    const a = await serve((baseUrl) => localProvider(baseUrl, { store, encryptionKey }));
    const b = await serve(() => localProvider(a.baseUrl, { store, encryptionKey }), { baseUrl: a.baseUrl });
    const claims = jwtParts((await tokensFor(a, await register(a.baseUrl))).access_token).payload;
    const oldKid = kidOf(await (await keyRingOf(b.provider)).sign(claims));

    await a.provider.rotateSigningKey();
    const newKid = kidOf(await (await keyRingOf(a.provider)).sign(claims));
    expect(newKid).not.toBe(oldKid);
    // Whatever B signs in the meantime stays valid everywhere (the old key is still published).
    expect(await mcpStatus(a.url, await (await keyRingOf(b.provider)).sign(claims))).toBe(200);

    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    const fromB = await (await keyRingOf(b.provider)).sign({ ...claims, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 });
    expect(kidOf(fromB)).toBe(newKid);
    expect(await mcpStatus(b.url, fromB)).toBe(200);
    expect(await mcpStatus(a.url, fromB)).toBe(200);
  });

  it("lets the other instance verify tokens signed with a key rotated elsewhere", async () => {
    const store = new MemoryStore();
    const encryptionKey = SecretBox.generateKey();
    const a = await serve((baseUrl) => localProvider(baseUrl, { store, encryptionKey }));
    const b = await serve(() => localProvider(a.baseUrl, { store, encryptionKey }), { baseUrl: a.baseUrl });
    await b.provider.ready();
    await a.provider.rotateSigningKey();
    const token = (await tokensFor(a, await register(a.baseUrl))).access_token;
    // B rereads the store for a kid it does not know, at most every 5 s.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 6_000 });
    expect(await mcpStatus(b.url, token)).toBe(200);
  });
});

describe("LocalOAuthProvider key ring: encryption key", () => {
  it("fails ready() with a clear AuthConfigurationError for an instance with another encryptionKey", async () => {
    const store = new MemoryStore();
    const first = localProvider("http://127.0.0.1:1", { store, encryptionKey: SecretBox.generateKey() });
    await first.ready();
    const second = localProvider("http://127.0.0.1:1", { store, encryptionKey: SecretBox.generateKey() });
    const failure = await second.ready().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(AuthConfigurationError);
    expect((failure as Error).message).toMatch(/cannot be decrypted.*every instance sharing a store needs the same/);
  });

  it("fails the same way when only the signing keys were sealed with another key", async () => {
    const shared = new MemoryStore();
    const key = SecretBox.generateKey();
    await localProvider("http://127.0.0.1:1", { store: shared, encryptionKey: key }).ready();
    // The secrets open with this key, the ring (copied from another deployment) does not.
    const other = new MemoryStore();
    await localProvider("http://127.0.0.1:1", { store: other, encryptionKey: SecretBox.generateKey() }).ready();
    await shared.set("fastmcp-oauth:signing-keys", await other.get("fastmcp-oauth:signing-keys"));
    const failure = await localProvider("http://127.0.0.1:1", { store: shared, encryptionKey: key }).ready().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(AuthConfigurationError);
    expect((failure as Error).message).toMatch(/signing keys in the store cannot be decrypted/);
  });

  it("serves nothing signed while misconfigured when mounted without run(): the JWKS answers 5xx without leaking why", async () => {
    const store = new MemoryStore();
    await localProvider("http://127.0.0.1:8000", { store, encryptionKey: SecretBox.generateKey() }).ready();
    const mcp = new FastMCP({ name: "misconfigured", auth: localProvider("http://127.0.0.1:8000", { store, encryptionKey: SecretBox.generateKey() }) });
    const response = await mcp.httpApp().request("http://127.0.0.1:8000/.well-known/jwks.json");
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(await response.text()).not.toMatch(/decrypt|encryptionKey/);
  });
});
