/**
 * When the authorization server takes back what it gave: a revoked grant sends the user through
 * the login again (no error reaches the caller); an InMemoryOAuthProvider server restarted on the
 * same port has forgotten every client, so the stale registration is cleared and redone once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemoryOAuthProvider, LocalOAuthProvider, type OAuthProvider } from "fastmcp-ts/auth";
import { Client, OAuth, OAuthFlowError } from "fastmcp-ts/client";
import { MemoryStore, type KeyValueStore } from "fastmcp-ts/storage";
import { recordingFetch, SCOPES, scriptedBrowser, startServer, statuses, storedRecord, storedTokens, TOOL, textOf, USER, watchMcpTraffic, type McpServer } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

const OPTIONS = { requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false as const } };

function inMemory(baseUrl: string): InMemoryOAuthProvider {
  return new InMemoryOAuthProvider({ baseUrl, ...OPTIONS });
}

/** Revokes `token` at the server's RFC 7009 endpoint, as the client that holds it (a public client). */
async function revoke(server: McpServer, store: KeyValueStore, token: string): Promise<void> {
  const record = await storedRecord(store, server.url);
  const clientId = record.clients[record.latestIssuer!]!.client_id;
  const response = await fetch(`${server.baseUrl}/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: clientId }),
  });
  if (response.status !== 200) throw new Error(`revocation failed: ${response.status} ${await response.text()}`);
}

const SERVERS: Array<[name: string, make: (baseUrl: string) => OAuthProvider]> = [
  ["InMemoryOAuthProvider", inMemory],
  ["LocalOAuthProvider", (baseUrl) => new LocalOAuthProvider({ baseUrl, users: { [USER.login]: USER.password }, store: new MemoryStore(), ...OPTIONS })],
];

describe.each(SERVERS)("revoked tokens at %s", (_name, make) => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer(make);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a revoked grant (the refresh token revoked, and the access token with it): the next request logs in again and succeeds", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store }) });
    await client.connect();
    const revoked = (await storedTokens(store, server.url))!;
    await revoke(server, store, revoked.refresh_token!);

    const traffic = watchMcpTraffic(server.url);
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    // Refused, then the refresh refused (invalid_grant), then the browser, then the retry.
    expect(statuses(traffic)).toEqual([401, 200]);
    // (invalid_grant: 400 by RFC 6749 §5.2, 401 from our servers, as MCP clients expect.)
    expect(oauthRequests.to("/token", "refresh_token").map((e) => e.status >= 400)).toEqual([true]);
    expect(browser.opened).toHaveLength(2);
    expect(server.registrations).toBeGreaterThanOrEqual(1);
    const renewed = (await storedTokens(store, server.url))!;
    expect(renewed.access_token).not.toBe(revoked.access_token);
    expect(renewed.refresh_token).not.toBe(revoked.refresh_token);
  });

  it("a revoked access token alone is replaced the same way: the request is answered, not failed", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store }) });
    await client.connect();
    await revoke(server, store, (await storedTokens(store, server.url))!.access_token);
    await client.ping();
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(2);
  });
});

describe("an InMemoryOAuthProvider server restarted on the same port", () => {
  it("has forgotten the client: the client registers once more (one /register), logs in again, and carries on", async () => {
    let server = await startServer(inMemory);
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store });
    try {
      {
        await using client = new Client(server.url, { auth: oauth });
        await client.connect();
      }
      const before = await storedRecord(store, server.url);
      const staleClient = Object.values(before.clients)[0]!;
      expect(server.registrations).toBe(1);

      const port = server.port;
      await server.close();
      server = await startServer(inMemory, { port });
      expect(server.url).toBe(before.discovery!.resourceMetadata!.resource);

      const traffic = watchMcpTraffic(server.url);
      await using client = new Client(server.url, { auth: oauth });
      await client.connect();
      expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
      expect(server.registrations).toBe(1);
      expect(browser.opened).toHaveLength(2);
      expect(statuses(traffic)[0]).toBe(401);
      const after = await storedRecord(store, server.url);
      const client2 = Object.values(after.clients)[0]!;
      expect(client2.client_id).not.toBe(staleClient.client_id);
      expect(browser.opened[1]!.searchParams.get("client_id")).toBe(client2.client_id);
      // The new registration kept the callback port of the old one.
      expect((client2 as { redirect_uris?: string[] }).redirect_uris).toEqual((staleClient as { redirect_uris?: string[] }).redirect_uris);
    } finally {
      await server.close();
    }
  });

  it("while the client holds no refresh token to be refused either: the authorization endpoint's error page is what tells it, and it registers once", async () => {
    let server = await startServer(inMemory);
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store });
    try {
      {
        await using client = new Client(server.url, { auth: oauth });
        await client.connect();
      }
      // Only an access token held (some servers issue no refresh token).
      const record = await storedRecord(store, server.url);
      delete record.tokens[record.latestIssuer!]!.refresh_token;
      await store.set(`mcp-oauth:${server.url}`, record);

      const port = server.port;
      await server.close();
      server = await startServer(inMemory, { port });
      await using client = new Client(server.url, { auth: oauth });
      await client.connect();
      expect(server.registrations).toBe(1);
      expect(browser.opened).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
