/**
 * LocalOAuthProvider.cachedToken: the synchronous path the HTTP transports try before
 * verifyToken. It answers only for a token this instance verified, while the grant's live verdict
 * holds, so revocation is seen exactly as on the full path: at once on the instance that revoked,
 * within revocationCheckSeconds on another sharing the store, on every request with 0.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { mcpStatus, register, SCOPES, startLocal, tokensFor, USERS, type LocalServer, type RegisteredClient } from "./harness.js";

const running: LocalServer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  while (running.length > 0) await running.pop()!.close();
});

function localProvider(baseUrl: string, store: MemoryStore, options: Partial<LocalOAuthProviderOptions>): LocalOAuthProvider {
  return new LocalOAuthProvider({ baseUrl, users: USERS, store, encryptionKey: "one key for both instances of this test", ...SCOPES, ...options });
}

async function single(options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ server: LocalServer; client: RegisteredClient }> {
  const server = await startLocal((baseUrl) => localProvider(baseUrl, new MemoryStore(), options));
  running.push(server);
  return { server, client: await register(server.baseUrl) };
}

/** Two instances behind one public URL, sharing a store. */
async function pair(options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ a: LocalServer; b: LocalServer; client: RegisteredClient }> {
  const store = new MemoryStore();
  const a = await startLocal((baseUrl) => localProvider(baseUrl, store, options));
  running.push(a);
  const b = await startLocal(() => localProvider(a.baseUrl, store, options), { baseUrl: a.baseUrl });
  running.push(b);
  return { a, b, client: await register(a.baseUrl) };
}

function revoke(baseUrl: string, client: RegisteredClient, token: string, hint?: string): Promise<Response> {
  return fetch(`${baseUrl}/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token, client_id: client.client_id, ...(hint ? { token_type_hint: hint } : {}) }) });
}

/**
 * A MemoryStore whose next read of a grant, once `hold()` is called, answers only when released
 * (what the grant was at the time of the read): a store with I/O, where a revocation can land
 * while a read is in flight.
 */
class SlowGrantReads extends MemoryStore {
  private held: { reached: () => void; release: Promise<void> } | undefined;

  hold(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => { reached = resolve; });
    this.held = { reached, release: new Promise<void>((resolve) => { release = resolve; }) };
    return { reached: reachedPromise, release };
  }

  override async get<T = unknown>(key: string): Promise<T | undefined> {
    const value = await super.get<T>(key);
    const held = this.held;
    if (held && key.includes("grant:")) {
      this.held = undefined;
      held.reached();
      await held.release;
    }
    return value;
  }
}

describe("LocalOAuthProvider.cachedToken", () => {
  it("knows no token before verifying it, then answers the verified AccessToken synchronously", async () => {
    const { server, client } = await single();
    const tokens = await tokensFor(server, client);
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    const cached = server.provider.cachedToken(tokens.access_token);
    expect(cached).toMatchObject({ token: tokens.access_token, clientId: client.client_id, subject: "alice", resource: server.url });
    expect(cached).toBe(await server.provider.verifyToken(tokens.access_token));
    expect(server.provider.cachedToken("")).toBeUndefined();
    expect(server.provider.cachedToken(`${tokens.access_token}x`)).toBeUndefined();
    expect(server.provider.cachedToken(tokens.access_token.slice(1))).toBeUndefined();
  });

  it("serves requests without verifyToken while the verdict holds, and reads the store again once it is due", async () => {
    const { server, client } = await single({ revocationCheckSeconds: 5 });
    const tokens = await tokensFor(server, client);
    const verify = vi.spyOn(server.provider, "verifyToken");
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 5_001 });
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(verify).toHaveBeenCalledTimes(2);
    expect(server.provider.cachedToken(tokens.access_token)).toBeDefined();
  });

  it("refuses a revoked grant at once on the instance that revoked it", async () => {
    const { server, client } = await single({ revocationCheckSeconds: 60 });
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(server.provider.cachedToken(tokens.access_token)).toBeDefined();
    expect((await revoke(server.baseUrl, client, tokens.access_token)).status).toBe(200);
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
  });

  it("refuses a grant revoked elsewhere within revocationCheckSeconds, on the fast path as on the full one", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 2 });
    const tokens = await tokensFor(a, client);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    expect((await revoke(a.baseUrl, client, tokens.access_token)).status).toBe(200);
    // b's verdict is still fresh: it does not know yet (the documented window).
    expect(b.provider.cachedToken(tokens.access_token)).toBeDefined();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 2_001 });
    expect(b.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(401);
    expect(b.provider.cachedToken(tokens.access_token)).toBeUndefined();
  });

  it("does not remember a grant read that a revocation on this instance overtook", async () => {
    const store = new SlowGrantReads();
    const server = await startLocal((baseUrl) => localProvider(baseUrl, store, { revocationCheckSeconds: 60 }));
    running.push(server);
    const client = await register(server.baseUrl);
    const tokens = await tokensFor(server, client);
    const { reached, release } = store.hold();
    // The first request with the token reads its grant, and that read is slow...
    const first = mcpStatus(server.url, tokens.access_token);
    await reached;
    // ...while the grant is revoked here.
    expect((await revoke(server.baseUrl, client, tokens.refresh_token!, "refresh_token")).status).toBe(200);
    release();
    // The request that read before the revocation may pass; nothing after it does.
    expect([200, 401]).toContain(await first);
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
  });

  it("never answers with revocationCheckSeconds: 0 (every request reads the store)", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 0 });
    const tokens = await tokensFor(a, client);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    expect(b.provider.cachedToken(tokens.access_token)).toBeUndefined();
    await revoke(a.baseUrl, client, tokens.access_token);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(401);
  });

  it("forgets a token at its exp", async () => {
    const { server, client } = await single({ accessTokenTtlSeconds: 60, revocationCheckSeconds: 600 });
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(server.provider.cachedToken(tokens.access_token)).toBeDefined();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
  });

  it("forgets verified tokens when the MCP path changes (their audience is the old endpoint)", async () => {
    const { server, client } = await single();
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect(server.provider.cachedToken(tokens.access_token)).toBeDefined();
    server.provider.bind("/elsewhere");
    expect(server.provider.cachedToken(tokens.access_token)).toBeUndefined();
    expect(await server.provider.verifyToken(tokens.access_token)).toBeNull();
  });
});
