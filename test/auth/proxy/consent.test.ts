/**
 * The proxy's consent page, before anyone is sent upstream: asked every time, remembered per
 * browser, client, redirect URI and scope set (only for navigations the browser started), or not
 * at all; denial goes back to the client; a page the application renders itself through
 * `renderConsent` still gets its CSRF token and the browser binding of the upstream sign-in.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ConsentView } from "fastmcp-ts/auth";
import { authorizationRequest, authorizeUrl, Browser, register, textOf, type RegisteredClient } from "../server/local/harness.js";
import { startProxiedServer, type ProxiedServer, type ProxyOverrides } from "./harness.js";

const servers: ProxiedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: ProxyOverrides = {}): Promise<{ server: ProxiedServer; client: RegisteredClient }> {
  const server = await startProxiedServer(options);
  servers.push(server);
  return { server, client: await register(server.baseUrl) };
}

/** Opens an authorization request of `client` in `browser`; where it lands (the consent page, or a redirect off the proxy). */
function open(server: ProxiedServer, client: RegisteredClient, browser: Browser, scope = "mcp:read") {
  return browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope })));
}

function isUpstream(server: ProxiedServer, url: URL | undefined): boolean {
  return url !== undefined && url.origin === server.idp.origin && url.pathname.endsWith("/auth");
}

describe("the proxy's consent page", () => {
  it("asks before sending the browser upstream, then sends it there with the proxy's PKCE challenge, a state and the binding cookie", async () => {
    const { server, client } = await serve();
    const browser = new Browser(server.baseUrl);
    const consent = await open(server, client, browser);
    expect(consent.page?.status).toBe(200);
    expect(textOf(consent.page!.html)).toContain("After you approve, you sign in with");
    const approved = await browser.submit(consent.page!, { action: "approve" });
    expect(isUpstream(server, approved.redirect)).toBe(true);
    const upstream = approved.redirect!.searchParams;
    expect(upstream.get("client_id")).toBe("mcp-proxy");
    expect(upstream.get("redirect_uri")).toBe(server.proxy.callbackUrl);
    expect(upstream.get("code_challenge_method")).toBe("S256");
    expect(upstream.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(upstream.get("resource")).toBe(server.url);
    expect(upstream.get("nonce")).toBeNull(); // no openid scope asked
    expect([...browser.cookies.keys()].some((name) => name === `fastmcp_upstream_${upstream.get("state")!.slice(0, 16)}`)).toBe(true);
  });

  it("asks upstream for upstreamSignInScopes before the client's, with a nonce when openid is sent; extraAuthorizeParams' scope wins", async () => {
    const upstreamOf = async (options: ProxyOverrides) => {
      const { server, client } = await serve(options);
      const browser = new Browser(server.baseUrl);
      return (await browser.submit((await open(server, client, browser)).page!, { action: "approve" })).redirect!.searchParams;
    };
    const signIn = await upstreamOf({ upstreamSignInScopes: ["openid", "offline_access"] });
    expect(signIn.get("scope")).toBe("openid offline_access mcp:read");
    expect(signIn.get("nonce")).toMatch(/^[\w-]{32,}$/);
    const overridden = await upstreamOf({ upstreamSignInScopes: ["openid"], extraAuthorizeParams: { scope: "mcp:read" } });
    expect(overridden.get("scope")).toBe("mcp:read");
    expect(overridden.get("nonce")).toBeNull();
  });

  it("sends a denial back to the client with access_denied, state and iss, and nothing upstream", async () => {
    const { server, client } = await serve();
    const browser = new Browser(server.baseUrl);
    const consent = await open(server, client, browser);
    const denied = await browser.submit(consent.page!, { action: "deny" });
    expect(`${denied.redirect!.origin}${denied.redirect!.pathname}`).toBe(client.redirect_uris[0]);
    expect(denied.redirect!.searchParams.get("error")).toBe("access_denied");
    expect(denied.redirect!.searchParams.get("iss")).toBe(server.baseUrl);
    expect(server.idp.authorizationRequests).toHaveLength(0);
  });

  it("refuses a submission without this browser's CSRF cookie (403), and a second submission after the first (400)", async () => {
    const { server, client } = await serve();
    const browser = new Browser(server.baseUrl);
    const consent = await open(server, client, browser);
    const elsewhere = await new Browser(server.baseUrl).submit(consent.page!, { action: "approve" });
    expect(elsewhere.page?.status).toBe(403);
    await browser.submit(consent.page!, { action: "approve" });
    const again = await browser.submit(consent.page!, { action: "approve" });
    expect(again.page?.status).toBe(400);
  });

  it("remembers an approval in this browser for the same client, redirect URI and scopes, for navigations the browser started", async () => {
    const { server, client } = await serve();
    const browser = new Browser(server.baseUrl);
    browser.headers["sec-fetch-site"] = "none";
    await browser.submit((await open(server, client, browser)).page!, { action: "approve" });
    expect(isUpstream(server, (await open(server, client, browser)).redirect)).toBe(true);
    // Wider scopes, another browser, or a navigation from another site: asked again.
    expect((await open(server, client, browser, "mcp:read mcp:write")).page?.status).toBe(200);
    expect((await open(server, client, new Browser(server.baseUrl))).page?.status).toBe(200);
    browser.headers["sec-fetch-site"] = "cross-site";
    expect((await open(server, client, browser)).page?.status).toBe(200);
    delete browser.headers["sec-fetch-site"];
    expect((await open(server, client, browser)).page?.status).toBe(200);
  });

  it("asks every time with requireConsent: true, and never with requireConsent: false (which warns at startup)", async () => {
    const always = await serve({ requireConsent: true });
    const browser = new Browser(always.server.baseUrl);
    browser.headers["sec-fetch-site"] = "none";
    await browser.submit((await open(always.server, always.client, browser)).page!, { action: "approve" });
    expect((await open(always.server, always.client, browser)).page?.status).toBe(200);
    const never = await serve({ requireConsent: false });
    expect(isUpstream(never.server, (await open(never.server, never.client, new Browser(never.server.baseUrl))).redirect)).toBe(true);
    expect(never.server.errors.map(String).some((message) => message.includes("requireConsent is false"))).toBe(true);
  });

  it("serves a page the application renders (renderConsent), with what it must show, a CSRF token the proxy checks, and the binding cookie on approval", async () => {
    const views: ConsentView[] = [];
    const { server, client } = await serve({
      serverName: "Acme MCP",
      scopeDescriptions: { "mcp:read": "read your notes" },
      renderConsent: (view) => {
        views.push(view);
        const hidden = Object.entries(view.form.fields).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join("");
        return `<!doctype html><h1>Let ${view.client.name} in?</h1><form method="post" action="${view.form.action}">${hidden}<button name="action" value="approve">Yes</button><button name="action" value="deny">No</button></form>`;
      },
    });
    const browser = new Browser(server.baseUrl);
    const consent = await open(server, client, browser);
    expect(consent.page!.html).toContain("Let Test Client in?");
    expect(consent.page!.headers.get("x-frame-options")).toBe("DENY");
    expect(views[0]).toMatchObject({
      serverName: "Acme MCP",
      client: { id: client.client_id, name: "Test Client" },
      redirectUri: client.redirect_uris[0],
      redirectHost: new URL(client.redirect_uris[0]!).host,
      scopes: [{ scope: "mcp:read", description: "read your notes" }],
      form: { action: `${server.baseUrl}/consent`, fields: { txn: expect.any(String), csrf: expect.any(String) } },
    });
    const forged = await browser.post(`${server.baseUrl}/consent`, { ...consent.page!.hidden, csrf: "forged", action: "approve" });
    expect(forged.page?.status).toBe(403);
    const approved = await browser.submit(consent.page!, { action: "approve" });
    expect(isUpstream(server, approved.redirect)).toBe(true);
  });

  it("sends no PKCE challenge upstream with forwardPkce: false (for an upstream that refuses one)", async () => {
    const { server, client } = await serve({ forwardPkce: false });
    const browser = new Browser(server.baseUrl);
    const approved = await browser.submit((await open(server, client, browser)).page!, { action: "approve" });
    expect(isUpstream(server, approved.redirect)).toBe(true);
    expect(approved.redirect!.searchParams.has("code_challenge")).toBe(false);
    expect(approved.redirect!.searchParams.has("code_challenge_method")).toBe(false);
  });

  it("sends the consentCsp given, or none for \"\" (the page still refuses framing)", async () => {
    const policy = "default-src 'self'; img-src https://cdn.example.com; frame-ancestors 'none'";
    const custom = await serve({ consentCsp: policy });
    const page = (await open(custom.server, custom.client, new Browser(custom.server.baseUrl))).page!;
    expect(page.headers.get("content-security-policy")).toBe(policy);
    const none = await serve({ consentCsp: "" });
    const bare = (await open(none.server, none.client, new Browser(none.server.baseUrl))).page!;
    expect(bare.status).toBe(200);
    expect(bare.headers.get("content-security-policy")).toBeNull();
    expect(bare.headers.get("x-frame-options")).toBe("DENY");
  });

  it("leaves out an extraAuthorizeParams value that is empty, and sends the others last (they win)", async () => {
    const { server, client } = await serve({ extraAuthorizeParams: { prompt: "", access_type: "offline", response_type: "code" } });
    const browser = new Browser(server.baseUrl);
    const approved = await browser.submit((await open(server, client, browser)).page!, { action: "approve" });
    const upstream = approved.redirect!.searchParams;
    expect(upstream.has("prompt")).toBe(false);
    expect(upstream.get("access_type")).toBe("offline");
    expect(upstream.getAll("response_type")).toEqual(["code"]);
  });
});

describe("OIDCProxy's audience upstream", () => {
  it("is sent with the authorization request, and an audience in extraAuthorizeParams wins over it", async () => {
    const sent = async (options: ProxyOverrides) => {
      const server = await startProxiedServer(options, {}, "oidc");
      servers.push(server);
      const client = await register(server.baseUrl);
      const browser = new Browser(server.baseUrl);
      const approved = await browser.submit((await open(server, client, browser)).page!, { action: "approve" });
      return approved.redirect!.searchParams.getAll("audience");
    };
    expect(await sent({ audience: "https://api.example.com" })).toEqual(["https://api.example.com"]);
    expect(await sent({ audience: "https://api.example.com", extraAuthorizeParams: { audience: "https://chosen.example.com" } })).toEqual(["https://chosen.example.com"]);
    expect(await sent({ audience: "https://api.example.com", sendAudience: false })).toEqual([]);
  });
});
