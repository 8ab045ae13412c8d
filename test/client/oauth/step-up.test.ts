/**
 * Step-up: on 403 insufficient_scope the client authorizes again for the union of the scopes it
 * asked for, holds and now needs, retries, and gives up with a clear error after `maxStepUps`.
 * Two bugs of the official SDK must not come back: the scope of a challenge replacing the held
 * ones (modelcontextprotocol/typescript-sdk#1582) and a refresh standing in for the step-up when
 * a refresh token is held (#2255).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalOAuthProvider, RemoteAuthProvider } from "fastmcp-ts/auth";
import { Client, OAuth, OAuthFlowError } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { startIdentityProvider, type IdentityProvider } from "../../helpers/idp.js";
import { recordingFetch, SCOPES, scopesOf, scriptedBrowser, startServer, storedTokens, TOOL, textOf, USER, watchMcpTraffic, type McpServer } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A 403 whose challenge names `scope` instead of what the server wrote there. */
async function withChallengeScope(response: Response, scope: (missing: string[]) => string): Promise<Response> {
  if (response.status !== 403) return response;
  const body = (await response.clone().json()) as { error_description?: string };
  const missing = /needs: (.*)$/.exec(body.error_description ?? "")?.[1]?.split(" ") ?? [];
  const headers = new Headers(response.headers);
  headers.set("www-authenticate", headers.get("www-authenticate")!.replace(/scope="[^"]*"/, `scope="${scope(missing)}"`));
  return new Response(await response.text(), { status: 403, statusText: response.statusText, headers });
}

describe("step-up against LocalOAuthProvider", () => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer((baseUrl) => new LocalOAuthProvider({
      baseUrl,
      users: { [USER.login]: USER.password },
      store: new MemoryStore(),
      requiredScopes: SCOPES.required,
      clientRegistration: { validScopes: SCOPES.valid, rateLimit: false },
    }));
  });
  afterAll(async () => {
    await server?.close();
  });

  async function connected(options: { maxStepUps?: number } = {}) {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    const client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store, ...options }) });
    await client.connect();
    return { client, browser, oauthRequests, store };
  }

  it("re-authorizes for the union of the held scopes and the required one, and the call goes through", async () => {
    const { client, browser, store } = await connected();
    await using _ = client;
    expect(scopesOf(browser.opened[0]!)).toContain("mcp:read");
    const traffic = watchMcpTraffic(server.url);

    expect(textOf(await client.callTool(TOOL.write, { text: "x" }))).toBe("wrote x");
    expect(traffic.exchanges.map((e) => e.status)).toEqual([403, 200]);
    expect(browser.opened).toHaveLength(2);
    const stepUp = scopesOf(browser.opened[1]!);
    expect(stepUp).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
    expect(browser.opened[1]!.searchParams.get("resource")).toBe(server.url);
    expect((await storedTokens(store, server.url))!.scope!.split(" ")).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));

    // Then admin: the third authorization still asks for everything held before.
    expect(textOf(await client.callTool(TOOL.admin))).toBe("admin ok");
    expect(browser.opened).toHaveLength(3);
    expect(scopesOf(browser.opened[2]!)).toEqual(expect.arrayContaining(["mcp:read", "mcp:write", "admin"]));
    // Nothing held was lost: the write tool needs no new authorization.
    expect(textOf(await client.callTool(TOOL.write, { text: "y" }))).toBe("wrote y");
    expect(browser.opened).toHaveLength(3);
  });

  it("typescript-sdk#1582: a challenge naming only the scope the operation needs does not replace the held ones", async () => {
    const { client, browser } = await connected();
    await using _ = client;
    // A server in the RFC 6750 style: each 403 names just what that request lacks.
    const traffic = watchMcpTraffic(server.url, (response) => withChallengeScope(response, (missing) => missing.join(" ")));

    expect(textOf(await client.callTool(TOOL.write, { text: "x" }))).toBe("wrote x");
    expect(textOf(await client.callTool(TOOL.admin))).toBe("admin ok");
    const challenges = traffic.exchanges.filter((e) => e.status === 403);
    expect(challenges).toHaveLength(2);
    // The admin step-up asked for admin and kept mcp:read and mcp:write.
    expect(scopesOf(browser.opened[2]!)).toEqual(expect.arrayContaining(["mcp:read", "mcp:write", "admin"]));
    // With the scopes overwritten, write would need yet another authorization, then admin, and so on.
    expect(textOf(await client.callTool(TOOL.write, { text: "y" }))).toBe("wrote y");
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(3);
    expect(traffic.exchanges.filter((e) => e.status === 403)).toHaveLength(2);
  });

  it("typescript-sdk#2255: with a refresh token held, the step-up goes to the browser, not to a refresh that cannot widen the grant", async () => {
    const { client, browser, oauthRequests, store } = await connected();
    await using _ = client;
    expect((await storedTokens(store, server.url))!.refresh_token).toEqual(expect.any(String));
    const before = oauthRequests.exchanges.length;

    expect(textOf(await client.callTool(TOOL.write, { text: "x" }))).toBe("wrote x");
    const during = oauthRequests.exchanges.slice(before);
    expect(during.filter((e) => e.form?.get("grant_type") === "refresh_token")).toHaveLength(0);
    expect(during.filter((e) => e.form?.get("grant_type") === "authorization_code")).toHaveLength(1);
    expect(browser.opened).toHaveLength(2);
  });

  it("gives up after maxStepUps when the server keeps refusing, with an OAuthFlowError saying what it requires", async () => {
    const { client, browser } = await connected({ maxStepUps: 2 });
    await using _ = client;
    // A misconfigured server: the admin tool's 403 asks for mcp:write, which never satisfies it.
    const traffic = watchMcpTraffic(server.url, (response) => withChallengeScope(response, () => "mcp:write"));

    const failure = await client.callTool(TOOL.admin).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OAuthFlowError);
    expect((failure as Error).message).toMatch(/still refuses after 2 re-authorization\(s\): it requires mcp:write/);
    expect((failure as Error).message).toContain("lacks the scopes this request needs: admin");
    // The first request and one retry per step-up, each refused.
    expect(traffic.exchanges.map((e) => e.status)).toEqual([403, 403, 403]);
    // The first step-up asked the user for mcp:write; the second had nothing new to ask for.
    expect(browser.opened).toHaveLength(2);
    // The client still works for what it holds.
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
  });

  it("maxStepUps: 0 turns step-up off: the first 403 is the error", async () => {
    const { client, browser } = await connected({ maxStepUps: 0 });
    await using _ = client;
    await expect(client.callTool(TOOL.write, { text: "x" })).rejects.toThrow(/still refuses after 0 re-authorization\(s\): it requires .*mcp:write/);
    expect(browser.opened).toHaveLength(1);
  });

  it("the user denying the step-up is a clear error, and the client keeps what it had", async () => {
    const { client, browser, store } = await connected();
    await using _ = client;
    const held = (await storedTokens(store, server.url))!.access_token;
    browser.decision = "deny";
    const failure = await client.callTool(TOOL.write, { text: "x" }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "AuthorizationDeniedError", message: "Access was denied by the authorization server" });
    expect(browser.outcomes[1]!.params.get("error")).toBe("access_denied");
    expect((await storedTokens(store, server.url))!.access_token).toBe(held);
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(2);
  });
});

describe("step-up against oidc-provider behind RemoteAuthProvider", () => {
  let idp: IdentityProvider;
  let server: McpServer;
  beforeAll(async () => {
    idp = await startIdentityProvider();
    server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idp.issuer, baseUrl, requiredScopes: SCOPES.required }));
    idp.allowResource(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it("asks the identity provider for the union, through the browser, though a refresh token is held (typescript-sdk#2255)", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch, tokenStorage: store }) });
    await client.connect();
    expect((await storedTokens(store, server.url))!.refresh_token).toEqual(expect.any(String));

    expect(textOf(await client.callTool(TOOL.write, { text: "x" }))).toBe("wrote x");
    expect(browser.opened).toHaveLength(2);
    expect(scopesOf(browser.opened[1]!)).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
    expect(oauthRequests.to("/token", "refresh_token")).toHaveLength(0);
    expect(browser.outcomes[1]!.prompts).toEqual(["consent"]);
    expect(textOf(await client.callTool(TOOL.admin))).toBe("admin ok");
    expect(scopesOf(browser.opened[2]!)).toEqual(expect.arrayContaining(["mcp:read", "mcp:write", "admin"]));
  });
});
