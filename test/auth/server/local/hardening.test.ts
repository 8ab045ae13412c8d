/**
 * Failures reproduced by attacking the authorization server from outside, each first a failing
 * test: anonymous /authorize traffic writing to the store, registrations that never expire and
 * have no cap, login throttling per address only, and refused CIMD fetches logged on every request.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { MemoryStore, type SetOptions } from "fastmcp-ts/storage";
import {
  authorizationRequest,
  authorizeUrl,
  Browser,
  register,
  REDIRECT_URI,
  SCOPES,
  startLocal,
  textOf,
  tokensFor,
  USERS,
  type LocalServer,
} from "./harness.js";

/** A MemoryStore that counts its writes and the keys it holds. */
class CountingStore extends MemoryStore {
  writes = 0;
  readonly keys = new Set<string>();
  override async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    this.writes++;
    this.keys.add(key);
    return super.set(key, value, options);
  }
  override async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    this.writes++;
    const added = await super.add(key, value, options);
    if (added) this.keys.add(key);
    return added;
  }
  override async increment(key: string, by?: number, options?: SetOptions): Promise<number> {
    this.writes++;
    this.keys.add(key);
    return super.increment(key, by, options);
  }
  /** Keys still live whose name (after the provider's prefix) starts with `kind:`. */
  async live(kind: string): Promise<number> {
    let count = 0;
    for (const key of this.keys) if (key.startsWith(`fastmcp-oauth:${kind}:`) && (await this.get(key)) !== undefined) count++;
    return count;
  }
}

const servers: LocalServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ server: LocalServer; store: CountingStore; errors: unknown[] }> {
  const store = new CountingStore();
  const errors: unknown[] = [];
  const server = await startLocal((baseUrl) => new LocalOAuthProvider({
    baseUrl,
    users: USERS,
    store,
    onError: (error) => errors.push(error),
    ...SCOPES,
    ...options,
  }));
  servers.push(server);
  return { server, store, errors };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, { redirect: "manual", headers });
  await response.body?.cancel();
  return response;
}

describe("unauthenticated /authorize writes nothing to the store", () => {
  it("2,000 valid-looking authorization requests from one address add no entry and no write", async () => {
    const { server, store } = await serve();
    const client = await register(server.baseUrl);
    const before = { writes: store.writes, keys: store.keys.size };
    for (let batch = 0; batch < 20; batch++) {
      const statuses = await Promise.all(Array.from({ length: 100 }, async () => (await get(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })))).status));
      expect(new Set(statuses)).toEqual(new Set([302]));
    }
    // The login page they lead to writes nothing either.
    const { page } = await new Browser(server.baseUrl).open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    expect(page?.status).toBe(200);
    expect({ writes: store.writes, keys: store.keys.size }).toEqual(before);
  });

  it("a wrong password writes nothing; the store is written once someone has signed in", async () => {
    const { server, store } = await serve();
    const client = await register(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    const { page } = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    const writes = store.writes;
    const wrong = await browser.submit(page!, { username: "alice", password: "not it" });
    expect(wrong.page?.status).toBe(401);
    expect(store.writes).toBe(writes);
    const consent = await browser.submit(page!, { username: "alice", password: USERS.alice.password });
    expect(new URL(consent.page!.url).pathname).toBe("/consent");
    expect(store.writes).toBeGreaterThan(writes);
  });

  it("refuses a transaction altered, forged, sealed by another server, or too large", async () => {
    const { server } = await serve();
    const other = await serve();
    const client = await register(server.baseUrl);
    const { page } = await new Browser(server.baseUrl).open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    const txn = page!.hidden.txn!;
    const otherClient = await register(other.server.baseUrl);
    const { page: otherPage } = await new Browser(other.server.baseUrl).open(authorizeUrl(other.server.baseUrl, authorizationRequest(otherClient, { scope: "mcp:read" })));
    const flipped = `${txn.slice(0, 40)}${txn[40] === "A" ? "B" : "A"}${txn.slice(41)}`;
    for (const candidate of [flipped, txn.slice(0, -2), `${txn}x`, otherPage!.hidden.txn!, "v1.AAAA.BBBB.CCCC", "x".repeat(9000)]) {
      const response = await fetch(`${server.baseUrl}/login?txn=${encodeURIComponent(candidate)}`);
      expect(response.status).toBe(400);
      expect(textOf(await response.text())).toContain("This sign-in has expired");
    }
  });

  it("opens a transaction sealed by an instance whose clock runs up to a minute ahead, and not one from the future", async () => {
    const { server } = await serve();
    const client = await register(server.baseUrl);
    const { page } = await new Browser(server.baseUrl).open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    const url = `${server.baseUrl}/login?txn=${encodeURIComponent(page!.hidden.txn!)}`;
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - 30_000 });
    expect((await get(url)).status).toBe(200);
    vi.setSystemTime(Date.now() - 60_000);
    expect((await get(url)).status).toBe(400);
  });

  it("refuses an authorization request too large to carry in the pages' URLs, at the client's redirect URI", async () => {
    const { server } = await serve();
    const client = await register(server.baseUrl);
    const url = new URL(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    url.searchParams.set("state", "s".repeat(7000));
    const response = await get(url.href);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get("error")).toBe("invalid_request");
  });

  it("ends a transaction once: a second approval of the same one gets no code", async () => {
    const { server } = await serve({ consentTtlSeconds: 0 });
    const client = await register(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    const { page } = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    const consent = (await browser.submit(page!, { username: "alice", password: USERS.alice.password })).page!;
    const [first, second] = await Promise.all([browser.submit(consent, { action: "approve" }), browser.submit(consent, { action: "approve" })]);
    expect([first, second].filter((arrival) => arrival.redirect?.searchParams.get("code"))).toHaveLength(1);
  });
});

describe("dynamically registered clients expire unused, and are capped", () => {
  it("forgets a client nobody used after unusedClientTtlSeconds", async () => {
    const { server } = await serve({ clientRegistration: { ...SCOPES.clientRegistration, unusedClientTtlSeconds: 1 } });
    const client = await register(server.baseUrl);
    expect((await get(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })))).status).toBe(302);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const response = await fetch(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    expect(response.status).toBe(400);
    expect(textOf(await response.text())).toContain("not registered with this server");
  });

  it("keeps a client that got a grant as long as its grants", async () => {
    const { server } = await serve({ clientRegistration: { ...SCOPES.clientRegistration, unusedClientTtlSeconds: 1 } });
    const client = await register(server.baseUrl);
    const tokens = await tokensFor(server, client);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const refreshed = await fetch(`${server.baseUrl}/token`, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: client.client_id }) });
    expect(refreshed.status).toBe(200);
    expect((await get(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })))).status).toBe(302);
  });

  it("registrations from 40 addresses stop at maxUnusedClients with a clear 429, and a used client frees its place", async () => {
    const { server, store } = await serve({ trustProxyHeaders: true, clientRegistration: { ...SCOPES.clientRegistration, rateLimit: { requests: 20, windowSeconds: 60 }, maxUnusedClients: 50 } });
    const attempt = (index: number) => fetch(`${server.baseUrl}/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${index % 40}` },
      body: JSON.stringify({ client_name: `c${index}`, redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none" }),
    });
    const responses = await Promise.all(Array.from({ length: 200 }, (_, index) => attempt(index)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(50);
    expect(statuses.filter((status) => status === 429)).toHaveLength(150);
    const refused = responses.find((response) => response.status === 429)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: "temporarily_unavailable", error_description: expect.stringContaining("Client ID Metadata Document") });
    expect(await store.live("client")).toBe(50);

    // One of them is used: its place is free for one more registration.
    const registered = (await Promise.all(responses.filter((response) => response.status === 201).map((response) => response.json()))) as Array<{ client_id: string; redirect_uris: string[] }>;
    await tokensFor(server, registered[0]!);
    expect((await attempt(1)).status).toBe(201);
    expect((await attempt(2)).status).toBe(429);
  });
});

describe("login throttling per account, not only per address", () => {
  /** A login page of a new browser at `address` (X-Forwarded-For, trusted by these servers). */
  async function loginPage(server: LocalServer, address: string, browser = new Browser(server.baseUrl)) {
    browser.headers["x-forwarded-for"] = address;
    const client = await register(server.baseUrl);
    const { page } = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    return { browser, page: page! };
  }

  async function serveCounting() {
    let checks = 0;
    const served = await serve({
      trustProxyHeaders: true,
      users: undefined,
      authenticate: (username, password) => {
        checks++;
        return username === "alice" && password === USERS.alice.password ? { subject: "alice" } : null;
      },
    });
    return { ...served, checks: () => checks };
  }

  it("checks at most 5 guesses per address at one account: 100 guesses from 5 addresses reach the password check 25 times", async () => {
    const { server, checks } = await serveCounting();
    const statuses: number[] = [];
    for (let address = 0; address < 5; address++) {
      const { browser, page } = await loginPage(server, `203.0.113.${address}`);
      for (let guess = 0; guess < 20; guess++) statuses.push((await browser.submit(page, { username: "alice", password: `guess ${address}-${guess}` })).page!.status);
    }
    expect(checks()).toBe(25);
    expect(statuses.filter((status) => status === 401)).toHaveLength(25);
    expect(statuses.filter((status) => status === 429)).toHaveLength(75);
  });

  it("spends a per-account budget across addresses, which cannot lock out a browser that signed in to the account before", async () => {
    const { server, checks } = await serveCounting();
    // The real user signed in from this browser earlier: it holds the device cookie.
    const own = await loginPage(server, "192.0.2.1");
    expect((await own.browser.submit(own.page, { username: "alice", password: USERS.alice.password })).page?.status).toBe(200);

    // An attacker spreads guesses over 12 addresses (5 each is the per-address limit).
    for (let address = 0; address < 12; address++) {
      const { browser, page } = await loginPage(server, `203.0.113.${address}`);
      for (let guess = 0; guess < 5; guess++) await browser.submit(page, { username: "ALICE", password: `guess ${address}-${guess}` });
    }
    expect(checks()).toBe(1 + 50);
    // A fresh browser on a fresh address: the account's budget is spent for it, even with the right password.
    const fresh = await loginPage(server, "198.51.100.7");
    const refused = await fresh.browser.submit(fresh.page, { username: "alice", password: USERS.alice.password });
    expect(refused.page?.status).toBe(429);
    expect(textOf(refused.page!.html)).toMatch(/Too many sign-in attempts/);
    // The user's own browser still signs in.
    const again = await loginPage(server, "192.0.2.1", own.browser);
    expect(again.page.url).toContain("/consent"); // still signed in: log out by dropping the session cookie
    own.browser.cookies.delete("fastmcp_session");
    const relogin = await loginPage(server, "192.0.2.1", own.browser);
    const signedIn = await relogin.browser.submit(relogin.page, { username: "alice", password: USERS.alice.password });
    expect(new URL(signedIn.page!.url).pathname).toBe("/consent");
  });
});

describe("Client ID Metadata Documents refused by the SSRF guard", () => {
  it("are reported once per period, not on every request", async () => {
    const { server, errors } = await serve({ clientMetadataDocuments: {} });
    for (let index = 0; index < 30; index++) {
      const response = await fetch(`${server.baseUrl}/authorize?${new URLSearchParams({ client_id: "https://localhost:9/oauth/client.json", response_type: "code", redirect_uri: REDIRECT_URI, code_challenge: "x".repeat(43), code_challenge_method: "S256" })}`);
      expect(response.status).toBe(400);
      await response.body?.cancel();
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/localhost/);
  });
});
