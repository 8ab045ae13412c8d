/**
 * The login and consent pages of LocalOAuthProvider in a real browser: headless Chromium (Debian's
 * `chromium`, driven by playwright-core) signs in on a todo server, reads the consent page, and
 * approves or denies; a loopback "client" receives the redirect, exchanges the code and calls a
 * tool with the token. `.ci/run` installs chromium when it is missing; here, without it, the
 * suite fails under CI=true and is skipped (saying why) elsewhere.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import * as z from "zod";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { LocalOAuthProvider } from "fastmcp-ts/auth";
import { Client } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { freePort } from "../auth/server/local/harness.js";
import { available, CHROMIUM, CHROMIUM_ARGS, ci, ClientApp, pkce, SCREENSHOTS } from "./support.js";

interface TodoServer {
  baseUrl: string;
  url: string;
  close(): Promise<void>;
}

/** The todo server of examples/todo, on a users table and a MemoryStore. */
async function startTodoServer(): Promise<TodoServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const auth = new LocalOAuthProvider({
    baseUrl,
    serverName: "Todo Server",
    users: { alice: { password: "correct horse battery staple", name: "Alice" } },
    store: new MemoryStore(),
    requiredScopes: ["todo:read"],
    clientRegistration: { validScopes: ["todo:read", "todo:write"] },
    scopeDescriptions: { "todo:read": "see your todos", "todo:write": "create, change and delete your todos" },
  });
  const mcp = new FastMCP({ name: "Todo Server", auth });
  const todos = new Map<string, string[]>();
  mcp.tool({
    name: "create_todo",
    description: "Create a todo. Requires todo:write.",
    parameters: z.object({ title: z.string() }),
    scopes: ["todo:write"],
    execute: ({ title }, ctx) => {
      const list = todos.get(ctx.auth!.subject!) ?? [];
      list.push(title);
      todos.set(ctx.auth!.subject!, list);
      return { created: title, owner: ctx.auth!.subject };
    },
  });
  mcp.tool({
    name: "list_todos",
    description: "Your todos. Requires todo:read.",
    execute: (_args, ctx) => ({ todos: todos.get(ctx.auth!.subject!) ?? [] }),
  });
  const running = await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
  return { baseUrl, url: running.url!, close: () => mcp.close() };
}

describe.skipIf(!available && !ci)("LocalOAuthProvider in headless Chromium", () => {
  let browser: Browser;
  let todo: TodoServer;
  let app: ClientApp;
  let clientId: string;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium); .ci/run does this before npm test`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    todo = await startTodoServer();
    app = await ClientApp.start();
  }, 60_000);

  beforeEach(async () => {
    // A new registration per test: an approval is remembered per user and client.
    const registration = await fetch(`${todo.baseUrl}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Todo Desktop", redirect_uris: [app.redirectUri], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" }),
    });
    expect(registration.status).toBe(201);
    clientId = ((await registration.json()) as { client_id: string }).client_id;
    pageErrors.length = 0;
  });

  afterAll(async () => {
    await browser?.close();
    await todo?.close();
    await app?.close();
  });

  afterEach(async () => {
    await page?.context().close();
  });

  /** A new browser profile at the consent page, signed in as alice. */
  async function signInAndReachConsent(): Promise<{ state: string; verifier: string }> {
    const context = await browser.newContext({ viewport: { width: 760, height: 820 } });
    page = await context.newPage();
    page.on("console", (message) => {
      // Chromium asks every origin for /favicon.ico; neither server has one.
      if (message.type() === "error" && !message.location().url.endsWith("/favicon.ico")) pageErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    const { verifier, challenge } = pkce();
    const state = randomBytes(12).toString("base64url");
    const url = new URL(`${todo.baseUrl}/authorize`);
    for (const [name, value] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: app.redirectUri, code_challenge: challenge, code_challenge_method: "S256", state, scope: "todo:read todo:write", resource: todo.url })) {
      url.searchParams.set(name, value);
    }
    await page.goto(url.href);
    expect(new URL(page.url()).pathname).toBe("/login");
    await expect.poll(() => page.title()).toBe("Sign in to Todo Server");
    await page.fill("#username", "alice");
    await page.fill("#password", "correct horse battery staple");
    await page.click('button[type="submit"]');
    await page.waitForURL((next) => next.pathname === "/consent", { timeout: 5000 }).catch(async (error: Error) => {
      throw new Error(`${error.message}\nat ${page.url()}: ${await page.locator("body").innerText()}`);
    });
    return { state, verifier };
  }

  it("signs in, shows the client and the redirect host, approves, and the client gets a working token", async () => {
    const received = app.received.length;
    const { state, verifier } = await signInAndReachConsent();

    expect(await page.getByTestId("client-name").textContent()).toBe("Todo Desktop");
    const host = page.getByTestId("redirect-host");
    expect(await host.textContent()).toBe(new URL(app.redirectUri).host);
    expect(await host.isVisible()).toBe(true);
    // Prominent: bold, monospace and larger than the text around it.
    const style = await host.evaluate((element) => {
      const computed = getComputedStyle(element);
      return { weight: computed.fontWeight, size: parseFloat(computed.fontSize), family: computed.fontFamily, body: parseFloat(getComputedStyle(document.body).fontSize) };
    });
    expect(Number(style.weight)).toBeGreaterThanOrEqual(700);
    expect(style.size).toBeGreaterThan(style.body);
    expect(style.family).toContain("monospace");
    const text = await page.locator("main").innerText();
    expect(text).toContain("todo:read — see your todos");
    expect(text).toContain("todo:write — create, change and delete your todos");
    expect(text).toContain("Signed in to Todo Server as Alice");
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}consent-page.png`, fullPage: true });

    await Promise.all([page.waitForURL((next) => next.href.startsWith(app.redirectUri)), page.getByRole("button", { name: "Approve" }).click()]);
    expect(await page.locator("#outcome").textContent()).toBe("Signed in");
    expect(app.received).toHaveLength(received + 1);
    const callback = app.received.at(-1)!;
    expect(callback.get("state")).toBe(state);
    expect(callback.get("iss")).toBe(todo.baseUrl);
    const code = callback.get("code");
    expect(code).toBeTruthy();

    const exchange = await fetch(`${todo.baseUrl}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code: code!, code_verifier: verifier, redirect_uri: app.redirectUri, client_id: clientId, resource: todo.url }),
    });
    expect(exchange.status).toBe(200);
    const tokens = (await exchange.json()) as { access_token: string; scope: string };
    expect(tokens.scope).toBe("todo:read todo:write");
    await using client = await new Client(todo.url, { auth: tokens.access_token }).connect();
    const created = await client.callTool("create_todo", { title: "buy milk" });
    expect(created.isError).toBeFalsy();
    const listed = await client.callTool("list_todos");
    expect(JSON.parse((listed.content[0] as { text: string }).text)).toEqual({ todos: ["buy milk"] });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 60_000);

  it("denying sends error=access_denied to the client", async () => {
    const received = app.received.length;
    const { state } = await signInAndReachConsent();
    await Promise.all([page.waitForURL((next) => next.href.startsWith(app.redirectUri)), page.getByRole("button", { name: "Deny" }).click()]);
    expect(await page.locator("#outcome").textContent()).toBe("Not signed in: access_denied");
    expect(app.received).toHaveLength(received + 1);
    const callback = app.received.at(-1)!;
    expect(callback.get("error")).toBe("access_denied");
    expect(callback.get("state")).toBe(state);
    expect(callback.getAll("iss")).toEqual([todo.baseUrl]);
    expect(callback.has("code")).toBe(false);
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 60_000);

  it("shows the login error in the page after a wrong password, and signs in on the second try", async () => {
    const context = await browser.newContext();
    page = await context.newPage();
    const url = new URL(`${todo.baseUrl}/authorize`);
    for (const [name, value] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: app.redirectUri, code_challenge: pkce().challenge, code_challenge_method: "S256", state: "s", scope: "todo:read" })) {
      url.searchParams.set(name, value);
    }
    await page.goto(url.href);
    await page.fill("#username", "alice");
    await page.fill("#password", "wrong");
    await Promise.all([page.waitForLoadState("load"), page.click('button[type="submit"]')]);
    expect(await page.getByRole("alert").textContent()).toBe("Wrong username or password.");
    expect(await page.inputValue("#username")).toBe("alice");
    await page.fill("#password", "correct horse battery staple");
    await Promise.all([page.waitForURL((next) => next.pathname === "/consent"), page.click('button[type="submit"]')]);
    expect(await page.getByTestId("client-name").textContent()).toBe("Todo Desktop");
  }, 60_000);
});
