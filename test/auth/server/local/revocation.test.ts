/**
 * Grants end everywhere: revocation on one instance is seen at once there and within
 * revocationCheckSeconds on another sharing the store; refresh rotation with its grace window;
 * a replayed authorization code ends what the first exchange started.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { FileStore, MemoryStore } from "fastmcp-ts/storage";
import {
  authorizationRequest,
  authorizeUrl,
  Browser,
  exchangeCode,
  mcpStatus,
  refreshRequest,
  register,
  SCOPES,
  startLocal,
  tokenRequest,
  tokensFor,
  USERS,
  type LocalServer,
  type RegisteredClient,
  type TokenResponse,
} from "./harness.js";

const running: LocalServer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  while (running.length > 0) await running.pop()!.close();
});

function localProvider(baseUrl: string, store: MemoryStore, options: Partial<LocalOAuthProviderOptions>): LocalOAuthProvider {
  return new LocalOAuthProvider({ baseUrl, users: USERS, store, encryptionKey: "one key for both instances of this test", ...SCOPES, ...options });
}

/** Two instances behind one public URL, sharing a MemoryStore. */
async function pair(options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ a: LocalServer; b: LocalServer; client: RegisteredClient }> {
  const store = new MemoryStore();
  const a = await startLocal((baseUrl) => localProvider(baseUrl, store, options));
  running.push(a);
  const b = await startLocal(() => localProvider(a.baseUrl, store, options), { baseUrl: a.baseUrl });
  running.push(b);
  return { a, b, client: await register(a.baseUrl) };
}

async function single(options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ server: LocalServer; client: RegisteredClient }> {
  const server = await startLocal((baseUrl) => localProvider(baseUrl, new MemoryStore(), options));
  running.push(server);
  return { server, client: await register(server.baseUrl) };
}

function revoke(baseUrl: string, client: RegisteredClient, token: string, hint?: string): Promise<Response> {
  return fetch(`${baseUrl}/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: client.client_id, ...(hint ? { token_type_hint: hint } : {}) }),
  });
}

/** Polls until `check` holds or `timeoutMs` passed; whether it held. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("LocalOAuthProvider revocation across instances", () => {
  it("refuses a revoked access token at once on the instance that revoked it, and within revocationCheckSeconds on the other", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 1 });
    const tokens = await tokensFor(a, client);
    expect(await mcpStatus(a.url, tokens.access_token)).toBe(200);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    expect((await revoke(a.baseUrl, client, tokens.access_token)).status).toBe(200);
    expect(await mcpStatus(a.url, tokens.access_token)).toBe(401);
    expect(await eventually(async () => (await mcpStatus(b.url, tokens.access_token)) === 401, 3000)).toBe(true);
    // The refresh token of the grant died with it.
    expect((await refreshRequest(a.baseUrl, client, tokens.refresh_token!)).status).toBe(401);
  });

  it("has the other instance trust its check for revocationCheckSeconds, then read the store again", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 60 });
    const tokens = await tokensFor(a, client);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    await revoke(a.baseUrl, client, tokens.access_token);
    expect(await mcpStatus(a.url, tokens.access_token)).toBe(401);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(401);
  });

  it("refuses at once on every instance with revocationCheckSeconds: 0", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 0 });
    const tokens = await tokensFor(a, client);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(200);
    await revoke(a.baseUrl, client, tokens.access_token);
    expect(await mcpStatus(b.url, tokens.access_token)).toBe(401);
  });

  it("revokes the whole grant through its refresh token", async () => {
    const { a, b, client } = await pair({ revocationCheckSeconds: 0 });
    const tokens = await tokensFor(a, client);
    expect((await revoke(b.baseUrl, client, tokens.refresh_token!, "refresh_token")).status).toBe(200);
    expect(await mcpStatus(a.url, tokens.access_token)).toBe(401);
    expect((await refreshRequest(a.baseUrl, client, tokens.refresh_token!)).status).toBe(401);
  });

  it("does not let one client revoke another client's token", async () => {
    const { server, client } = await single({ revocationCheckSeconds: 0 });
    const tokens = await tokensFor(server, client);
    const other = await register(server.baseUrl);
    expect((await revoke(server.baseUrl, other, tokens.access_token)).status).toBe(200);
    expect((await revoke(server.baseUrl, other, tokens.refresh_token!)).status).toBe(200);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    expect((await refreshRequest(server.baseUrl, client, tokens.refresh_token!)).status).toBe(200);
  });

  it("leaves the user's other grants alone", async () => {
    const { server, client } = await single({ revocationCheckSeconds: 0 });
    const first = await tokensFor(server, client);
    const second = await tokensFor(server, client);
    await revoke(server.baseUrl, client, first.access_token);
    expect(await mcpStatus(server.url, first.access_token)).toBe(401);
    expect(await mcpStatus(server.url, second.access_token)).toBe(200);
  });
});

describe("LocalOAuthProvider refresh rotation", () => {
  async function refreshed(baseUrl: string, client: RegisteredClient, token: string): Promise<TokenResponse> {
    const response = await refreshRequest(baseUrl, client, token);
    expect(response.status).toBe(200);
    return (await response.json()) as TokenResponse;
  }

  it("rotates the refresh token and keeps the grant's scopes", async () => {
    const { server, client } = await single();
    const tokens = await tokensFor(server, client, { scope: "mcp:read mcp:write" });
    const next = await refreshed(server.baseUrl, client, tokens.refresh_token!);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    expect(next.scope).toBe("mcp:read mcp:write");
    expect(await mcpStatus(server.url, next.access_token)).toBe(200);
    // Narrowing is allowed, widening is not.
    const narrow = (await (await tokenRequest(server.baseUrl, { grant_type: "refresh_token", refresh_token: next.refresh_token!, client_id: client.client_id, scope: "mcp:read" })).json()) as TokenResponse;
    expect(narrow.scope).toBe("mcp:read");
  });

  it("answers a retry within the grace window with the identical tokens", async () => {
    const { server, client } = await single();
    const tokens = await tokensFor(server, client);
    const first = await refreshed(server.baseUrl, client, tokens.refresh_token!);
    const retry = await refreshed(server.baseUrl, client, tokens.refresh_token!);
    expect(retry).toEqual(first);
    // Still one live successor: it refreshes normally.
    expect((await refreshRequest(server.baseUrl, client, first.refresh_token!)).status).toBe(200);
  });

  it("answers concurrent refreshes with one set of tokens (no second line of tokens for the grant), on a store that does I/O", async () => {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-refresh-race-"));
    try {
      const server = await startLocal((baseUrl) => new LocalOAuthProvider({ baseUrl, users: USERS, store: new FileStore({ directory }), ...SCOPES }));
      running.push(server);
      const client = await register(server.baseUrl);
      const tokens = await tokensFor(server, client);
      const answers = await Promise.all(Array.from({ length: 4 }, () => refreshed(server.baseUrl, client, tokens.refresh_token!)));
      for (const answer of answers) expect(answer).toEqual(answers[0]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("refuses the rotated token after the grace window with invalid_grant, and ends the grant", async () => {
    const { server, client } = await single({ refreshTokenGraceSeconds: 10, revocationCheckSeconds: 0 });
    const tokens = await tokensFor(server, client);
    const next = await refreshed(server.baseUrl, client, tokens.refresh_token!);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 11_000 });
    const late = await refreshRequest(server.baseUrl, client, tokens.refresh_token!);
    expect(late.status).toBe(401);
    expect(await late.json()).toMatchObject({ error: "invalid_grant" });
    // A copy of the token was in someone else's hands: what it led to is over too.
    expect(await mcpStatus(server.url, next.access_token)).toBe(401);
    expect((await refreshRequest(server.baseUrl, client, next.refresh_token!)).status).toBe(401);
  });

  it("refuses a refresh token presented by another client", async () => {
    const { server, client } = await single();
    const tokens = await tokensFor(server, client);
    const other = await register(server.baseUrl);
    const response = await refreshRequest(server.baseUrl, other, tokens.refresh_token!);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    expect((await refreshRequest(server.baseUrl, client, tokens.refresh_token!)).status).toBe(200);
  });
});

describe("LocalOAuthProvider authorization code replay", () => {
  it("refuses a second exchange of a code and ends the tokens of the first", async () => {
    const { server, client } = await single({ revocationCheckSeconds: 0 });
    const request = authorizationRequest(client, { scope: "mcp:read" });
    const { params } = await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, request));
    const code = params.get("code")!;
    const tokens = await exchangeCode(server.baseUrl, request, code);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    const replay = await tokenRequest(server.baseUrl, { grant_type: "authorization_code", code, code_verifier: request.pkce.verifier, redirect_uri: client.redirect_uris[0]!, client_id: client.client_id });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
    expect((await refreshRequest(server.baseUrl, client, tokens.refresh_token!)).status).toBe(401);
  });

  it("ends them at once on this instance even with the default revocationCheckSeconds", async () => {
    const { server, client } = await single();
    const request = authorizationRequest(client, { scope: "mcp:read" });
    const { params } = await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, request));
    const tokens = await exchangeCode(server.baseUrl, request, params.get("code")!);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
    await tokenRequest(server.baseUrl, { grant_type: "authorization_code", code: params.get("code")!, code_verifier: request.pkce.verifier, redirect_uri: client.redirect_uris[0]!, client_id: client.client_id });
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(401);
  });

  it("gives one exchange of two concurrent ones the tokens", async () => {
    const { server, client } = await single();
    const request = authorizationRequest(client, { scope: "mcp:read" });
    const { params } = await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, request));
    const exchange = () => tokenRequest(server.baseUrl, { grant_type: "authorization_code", code: params.get("code")!, code_verifier: request.pkce.verifier, redirect_uri: client.redirect_uris[0]!, client_id: client.client_id });
    const statuses = (await Promise.all([exchange(), exchange()])).map((response) => response.status).sort();
    expect(statuses).toEqual([200, 401]);
  });

  it("does not let another client redeem the code (and the real client still can)", async () => {
    const { server, client } = await single();
    const request = authorizationRequest(client, { scope: "mcp:read" });
    const { params } = await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, request));
    const other = await register(server.baseUrl);
    const stolen = await tokenRequest(server.baseUrl, { grant_type: "authorization_code", code: params.get("code")!, code_verifier: request.pkce.verifier, redirect_uri: client.redirect_uris[0]!, client_id: other.client_id });
    expect(stolen.status).toBe(401);
    const tokens = await exchangeCode(server.baseUrl, request, params.get("code")!);
    expect(await mcpStatus(server.url, tokens.access_token)).toBe(200);
  });
});
