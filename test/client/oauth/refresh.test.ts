/**
 * Refresh: the client keeps the absolute expiry of its access token and refreshes it before it
 * expires, by itself (no 401 first), and a new Client/OAuth over a persisted store does the same
 * from the stored expiry. Short access token lifetimes on our own authorization servers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemoryOAuthProvider, LocalOAuthProvider, type OAuthProvider } from "fastmcp-ts/auth";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { recordingFetch, SCOPES, scriptedBrowser, startServer, statuses, storedTokens, TOOL, textOf, until, USER, watchMcpTraffic, type McpServer } from "./helpers.js";

const TTL_SECONDS = 3;
/** Refresh when less than this is left: due 2 s after issue. */
const SKEW_SECONDS = 1;

afterEach(() => {
  vi.restoreAllMocks();
});

const SERVERS: Array<[name: string, make: (baseUrl: string) => OAuthProvider]> = [
  ["InMemoryOAuthProvider", (baseUrl) => new InMemoryOAuthProvider({ baseUrl, accessTokenTtlSeconds: TTL_SECONDS, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } })],
  [
    "LocalOAuthProvider",
    (baseUrl) => new LocalOAuthProvider({ baseUrl, accessTokenTtlSeconds: TTL_SECONDS, users: { [USER.login]: USER.password }, store: new MemoryStore(), requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }),
  ],
];

describe.each(SERVERS)("%s, access tokens of 3 s", (_name, make) => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer(make);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("stores the absolute expiry and refreshes before it, without a 401 and without the browser", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store, refreshSkewSeconds: SKEW_SECONDS });
    await using client = new Client(server.url, { auth: oauth });
    await client.connect();
    const issued = await storedTokens(store, server.url);
    expect(issued!.refresh_token).toEqual(expect.any(String));
    // Absolute, in epoch milliseconds: what lets a later process know how old the token is.
    expect(issued!.expires_at).toBeGreaterThan(Date.now());
    expect(issued!.expires_at).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);

    // Well before the refresh is due: the token is used as it is.
    const traffic = watchMcpTraffic(server.url);
    const onUnauthorized = vi.spyOn(oauth, "onUnauthorized");
    await client.ping();
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(0);

    // Inside the skew: the next request refreshes first and goes out with the new token.
    await until(issued!.expires_at! - SKEW_SECONDS * 1000 + 100);
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    const [refresh, ...more] = oauthRequests.to("/token", "refresh_token");
    expect(more).toHaveLength(0);
    expect(refresh!.status).toBe(200);
    expect(refresh!.form!.get("refresh_token")).toBe(issued!.refresh_token);
    expect(refresh!.form!.get("resource")).toBe(server.url);
    const renewed = await storedTokens(store, server.url);
    expect(renewed!.access_token).not.toBe(issued!.access_token);
    expect(renewed!.expires_at).toBeGreaterThan(issued!.expires_at!);
    expect(traffic.exchanges.at(-1)!.authorization).toBe(`Bearer ${renewed!.access_token}`);

    // No request was ever refused, and no one had to log in again.
    expect(statuses(traffic).every((status) => status < 300)).toBe(true);
    expect(onUnauthorized).not.toHaveBeenCalled();
    expect(browser.opened).toHaveLength(1);
  });

  it("restores the absolute expiry from a persisted store: a new Client and OAuth refresh ahead of it too", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    {
      await using first = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store, refreshSkewSeconds: SKEW_SECONDS }) });
      await first.connect();
    }
    const issued = (await storedTokens(store, server.url))!;

    // Another process (a new OAuth over the same store): fresh tokens are used as they are.
    const oauthRequests = recordingFetch();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store, refreshSkewSeconds: SKEW_SECONDS });
    const onUnauthorized = vi.spyOn(oauth, "onUnauthorized");
    const traffic = watchMcpTraffic(server.url);
    await using second = new Client(server.url, { auth: oauth });
    await second.connect();
    expect(oauthRequests.exchanges).toHaveLength(0);
    expect(traffic.exchanges[0]!.authorization).toBe(`Bearer ${issued.access_token}`);

    // Once the stored expiry comes near, it refreshes before sending, not after a 401.
    await until(issued.expires_at! - SKEW_SECONDS * 1000 + 100);
    await second.ping();
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(1);
    expect(traffic.exchanges.at(-1)!.authorization).toBe(`Bearer ${(await storedTokens(store, server.url))!.access_token}`);
    expect(statuses(traffic).every((status) => status < 300)).toBe(true);
    expect(onUnauthorized).not.toHaveBeenCalled();
    expect(browser.opened).toHaveLength(1);
  });

  it("a token that lives less than the skew (default 60 s) is not refreshed on every request: not before half its life", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store }) });
    await client.connect();
    const issued = (await storedTokens(store, server.url))!;
    await client.ping();
    await client.listTools();
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(0);
    await until(issued.expires_at! - (TTL_SECONDS * 1000) / 2 + 100);
    await client.ping();
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(1);
  });

  it("an access token that expired while nobody used it is refreshed before the request, not after a 401", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store, refreshSkewSeconds: SKEW_SECONDS });
    await using client = new Client(server.url, { auth: oauth });
    await client.connect();
    const issued = (await storedTokens(store, server.url))!;
    await until(issued.expires_at! + 200);
    const traffic = watchMcpTraffic(server.url);
    await client.ping();
    expect(statuses(traffic)).toEqual([200]);
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(1);
    expect(browser.opened).toHaveLength(1);
  });
});

describe("concurrent requests near expiry", () => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer(SERVERS[0]![1]);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("share one refresh", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store, refreshSkewSeconds: SKEW_SECONDS }) });
    await client.connect();
    const issued = (await storedTokens(store, server.url))!;
    await until(issued.expires_at! - SKEW_SECONDS * 1000 + 100);
    const traffic = watchMcpTraffic(server.url);
    await Promise.all([client.ping(), client.callTool(TOOL.read), client.listTools()]);
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(1);
    expect(statuses(traffic).every((status) => status < 300)).toBe(true);
  });
});
