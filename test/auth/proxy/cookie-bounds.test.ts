/**
 * A browser that starts many sign-ins and finishes few (tabs left open, a client retried, a
 * person clicking Connect again) must not collect cookies until the server refuses its requests
 * with 431: the proxy drops the oldest sign-in cookies beyond a byte budget, and the consent
 * forms' CSRF cookies beyond a count. The newest sign-in and form keep working; a dropped one is
 * refused as any sign-in this browser did not start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizationRequest, authorizeUrl, Browser, register, type Page, type RegisteredClient } from "../server/local/harness.js";
import { startProxiedServer, type ProxiedServer } from "./harness.js";

const SIGN_IN_BUDGET = 8_000;
const MAX_OPEN_FORMS = 20;

function cookiesNamed(browser: Browser, prefix: string): Array<[string, string]> {
  return [...browser.cookies].filter(([name]) => name.startsWith(prefix));
}

function bytes(cookies: Array<[string, string]>): number {
  return cookies.reduce((total, [name, value]) => total + name.length + value.length, 0);
}

function callback(server: ProxiedServer, state: string): string {
  return `${server.proxy.callbackUrl}?${new URLSearchParams({ code: "made-up-upstream-code", state, iss: server.idp.issuer })}`;
}

describe("sign-in cookies, with consent off (every /authorize goes straight upstream)", () => {
  let server: ProxiedServer;
  let client: RegisteredClient;
  beforeAll(async () => {
    server = await startProxiedServer({ requireConsent: false });
    client = await register(server.baseUrl);
  });
  afterAll(async () => server?.close());

  /** Starts a sign-in in `browser` with a long client state (a bigger cookie); its upstream state. */
  async function start(browser: Browser): Promise<string> {
    const request = { ...authorizationRequest(client, { scope: "mcp:read" }), state: "s".repeat(400) + String(Math.random()) };
    const { redirect } = await browser.open(authorizeUrl(server.baseUrl, request));
    expect(redirect?.origin).toBe(server.idp.origin);
    return redirect!.searchParams.get("state")!;
  }

  it("keeps at most the budget in the browser, dropping the oldest, and the newest still completes", async () => {
    const browser = new Browser(server.baseUrl);
    const states: string[] = [];
    for (let i = 0; i < 30; i++) {
      states.push(await start(browser));
      expect(bytes(cookiesNamed(browser, "fastmcp_upstream_"))).toBeLessThanOrEqual(SIGN_IN_BUDGET);
    }
    const held = cookiesNamed(browser, "fastmcp_upstream_");
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.length).toBeLessThan(30);
    // The newest sign-ins are the ones kept, the oldest the ones dropped.
    expect(held.map(([name]) => name)).toEqual(states.slice(-held.length).map((state) => `fastmcp_upstream_${state.slice(0, 16)}`));

    const oldest = await browser.send(callback(server, states[0]!), "GET");
    expect(oldest.status).toBe(403);
    // The newest completes: the proxy redeems the (made-up) code upstream and tells the client it failed.
    const newest = await browser.send(callback(server, states.at(-1)!), "GET");
    expect(newest.status).toBe(302);
    expect(new URL(newest.headers.get("location")!).searchParams.get("error")).toBe("server_error");
  });

  it("drops a sign-in cookie it cannot open (forged, or sealed by another key) at the next sign-in", async () => {
    const browser = new Browser(server.baseUrl);
    browser.cookies.set("fastmcp_upstream_AAAAAAAAAAAAAAAA", "v1.forged.value.here");
    await start(browser);
    expect(browser.cookies.has("fastmcp_upstream_AAAAAAAAAAAAAAAA")).toBe(false);
    expect(cookiesNamed(browser, "fastmcp_upstream_")).toHaveLength(1);
  });
});

describe("consent form cookies", () => {
  let server: ProxiedServer;
  let client: RegisteredClient;
  beforeAll(async () => {
    server = await startProxiedServer({ requireConsent: true });
    client = await register(server.baseUrl);
  });
  afterAll(async () => server?.close());

  it(`keep at most ${MAX_OPEN_FORMS} forms' cookies, dropping the oldest; the newest form still submits`, async () => {
    const browser = new Browser(server.baseUrl);
    const pages: Page[] = [];
    for (let i = 0; i < 30; i++) {
      const { page } = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
      expect(page?.status).toBe(200);
      pages.push(page!);
      expect(cookiesNamed(browser, "fastmcp_csrf_").length).toBeLessThanOrEqual(MAX_OPEN_FORMS);
    }
    expect(cookiesNamed(browser, "fastmcp_csrf_")).toHaveLength(MAX_OPEN_FORMS);
    const newest = await browser.submit(pages.at(-1)!, { action: "approve" });
    expect(newest.redirect?.origin).toBe(server.idp.origin);
    const oldest = await browser.submit(pages[0]!, { action: "approve" });
    expect(oldest.page?.status).toBe(403);
  });
});
