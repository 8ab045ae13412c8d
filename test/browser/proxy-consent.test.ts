/**
 * The OAuth proxy's consent page in a real browser: headless Chromium approves an application on
 * the proxy's page, signs in on the upstream identity provider's pages (oidc-provider's), and is
 * sent back to a loopback client with a code that works; or denies, and the client gets
 * access_denied without the browser ever reaching the upstream.
 */
import { randomBytes } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "fastmcp-ts/client";
import { startProxiedServer, type ProxiedServer } from "../auth/proxy/harness.js";
import { available, CHROMIUM, CHROMIUM_ARGS, ci, ClientApp, pkce } from "./support.js";

describe.skipIf(!available && !ci)("the OAuth proxy's consent page in headless Chromium", () => {
  let browser: Browser;
  let server: ProxiedServer;
  let app: ClientApp;
  let clientId: string;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium); .ci/run does this before npm test`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    server = await startProxiedServer({ serverName: "Notes", identityProviderName: "Example IdP", scopeDescriptions: { "mcp:read": "read your notes" } });
    app = await ClientApp.start();
  }, 60_000);

  beforeEach(async () => {
    const registration = await fetch(`${server.baseUrl}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Notes Desktop", redirect_uris: [app.redirectUri], grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none" }),
    });
    expect(registration.status).toBe(201);
    clientId = ((await registration.json()) as { client_id: string }).client_id;
    pageErrors.length = 0;
    page = await (await browser.newContext()).newPage();
    page.on("console", (message) => {
      // Only the proxy's pages and the client's are ours: oidc-provider's development pages load web fonts this closed network cannot reach.
      const where = message.location().url;
      const ours = where.startsWith(server.baseUrl) || where.startsWith(new URL(app.redirectUri).origin);
      if (message.type() === "error" && ours && !where.endsWith("/favicon.ico")) pageErrors.push(`${message.text()} (${where})`);
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });

  afterEach(async () => {
    await page?.context().close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
  });

  async function openConsent(): Promise<{ state: string; verifier: string }> {
    const { verifier, challenge } = pkce();
    const state = randomBytes(12).toString("base64url");
    const url = new URL(`${server.baseUrl}/authorize`);
    for (const [name, value] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: app.redirectUri, code_challenge: challenge, code_challenge_method: "S256", state, scope: "mcp:read", resource: server.url })) {
      url.searchParams.set(name, value);
    }
    await page.goto(url.href);
    expect(new URL(page.url()).pathname).toBe("/consent");
    return { state, verifier };
  }

  it("approves on the proxy's page, signs in upstream, and the client's code gets a token that works", async () => {
    const { state, verifier } = await openConsent();
    expect(await page.getByTestId("client-name").textContent()).toBe("Notes Desktop");
    expect(await page.getByTestId("redirect-host").textContent()).toBe(new URL(app.redirectUri).host);
    const text = await page.locator("main").innerText();
    expect(text).toContain("mcp:read — read your notes");
    expect(text).toContain("After you approve, you sign in with Example IdP.");

    await page.getByRole("button", { name: "Approve" }).click();
    // oidc-provider's development pages: a login form, then its own consent.
    await page.waitForURL((next) => next.origin === server.idp.origin);
    await page.fill('input[name="login"]', "alice");
    await page.fill('input[name="password"]', "any");
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    if (!page.url().startsWith(app.redirectUri)) {
      await Promise.all([page.waitForURL((next) => next.href.startsWith(app.redirectUri)), page.click('button[type="submit"]')]);
    }
    expect(await page.locator("#outcome").textContent()).toBe("Signed in");
    const callback = app.received.at(-1)!;
    expect(callback.get("state")).toBe(state);
    expect(callback.get("iss")).toBe(server.baseUrl);

    const exchange = await fetch(`${server.baseUrl}/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "authorization_code", code: callback.get("code")!, code_verifier: verifier, redirect_uri: app.redirectUri, client_id: clientId }),
    });
    expect(exchange.status).toBe(200);
    const tokens = (await exchange.json()) as { access_token: string };
    await using client = await new Client(server.url, { auth: tokens.access_token }).connect();
    const me = JSON.parse(((await client.callTool("whoami")).content[0] as { text: string }).text) as { subject: string };
    expect(me.subject).toBe("alice");
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 60_000);

  it("denies on the proxy's page: the client gets access_denied, and the browser never reaches the upstream", async () => {
    const upstreamBefore = server.idp.authorizationRequests.length;
    const { state } = await openConsent();
    await Promise.all([page.waitForURL((next) => next.href.startsWith(app.redirectUri)), page.getByRole("button", { name: "Deny" }).click()]);
    expect(await page.locator("#outcome").textContent()).toBe("Not signed in: access_denied");
    const callback = app.received.at(-1)!;
    expect(callback.get("state")).toBe(state);
    expect(callback.getAll("iss")).toEqual([server.baseUrl]);
    expect(server.idp.authorizationRequests.length).toBe(upstreamBefore);
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 60_000);
});
