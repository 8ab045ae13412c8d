/**
 * The login and consent flow over real HTTP: CSRF double-submit tokens per transaction, cookie
 * attributes (and `__Host-` names over https), failed logins and their rate limit, transactions
 * that expired or were used, single-use consent, denial, remembered consent and login sessions.
 */
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import {
  authorizationRequest,
  authorizeUrl,
  Browser,
  cookieAttributes,
  exchangeCode,
  register,
  SCOPES,
  startLocal,
  textOf,
  tokenRequest,
  USERS,
  whoami,
  type Fetch,
  type LocalServer,
  type Page,
  type RegisteredClient,
} from "./harness.js";

let server: LocalServer;
let client: RegisteredClient;

function localProvider(baseUrl: string, options: Partial<LocalOAuthProviderOptions> = {}): LocalOAuthProvider {
  return new LocalOAuthProvider({ baseUrl, users: USERS, store: new MemoryStore(), ...SCOPES, ...options });
}

beforeAll(async () => {
  server = await startLocal((baseUrl) => localProvider(baseUrl));
  client = await register(server.baseUrl);
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Step {
  browser: Browser;
  page: Page;
  state: string;
}

/** Opens a new authorization (of a newly registered client unless `client` is given). */
async function start(options: { scope?: string; browser?: Browser; client?: RegisteredClient }): Promise<Step> {
  const browser = options.browser ?? new Browser(server.baseUrl);
  const request = authorizationRequest(options.client ?? (await register(server.baseUrl)), { scope: options.scope ?? "mcp:read" });
  const arrival = await browser.open(authorizeUrl(server.baseUrl, request));
  expect(arrival.page?.status).toBe(200);
  return { browser, page: arrival.page!, state: request.state };
}

/** A browser at the login page of a new authorization. */
async function atLogin(options: { scope?: string; browser?: Browser; client?: RegisteredClient } = {}): Promise<Step> {
  const step = await start(options);
  expect(new URL(step.page.url).pathname).toBe("/login");
  return step;
}

/** A browser at the consent page of a new authorization (logged in on the way unless it already is). */
async function atConsent(options: { scope?: string; browser?: Browser; client?: RegisteredClient } = {}): Promise<Step> {
  const step = await start(options);
  if (new URL(step.page.url).pathname === "/consent") return step;
  const consent = await step.browser.submit(step.page, { username: "alice", password: USERS.alice.password });
  expect(consent.page?.status).toBe(200);
  expect(new URL(consent.page!.url).pathname).toBe("/consent");
  return { ...step, page: consent.page! };
}

function csrfCookieName(browser: Browser): string {
  const name = [...browser.cookies.keys()].find((cookie) => cookie.includes("fastmcp_csrf_"));
  if (!name) throw new Error("no CSRF cookie");
  return name;
}

function expectRefused(page: Page | undefined): void {
  expect(page?.status).toBe(403);
  expect(textOf(page!.html)).toContain("the security token is missing or wrong");
}

describe("LocalOAuthProvider flow: CSRF", () => {
  it("refuses a login POST without the CSRF cookie (403)", async () => {
    const { page } = await atLogin();
    const stranger = new Browser(server.baseUrl);
    const posted = await stranger.submit(page, { username: "alice", password: USERS.alice.password });
    expectRefused(posted.page);
  });

  it("refuses a consent POST without the CSRF cookie (403), even with the login session", async () => {
    const { browser, page } = await atConsent();
    browser.cookies.delete(csrfCookieName(browser));
    expect(browser.cookies.has("fastmcp_session")).toBe(true);
    expectRefused((await browser.submit(page, { action: "approve" })).page);
  });

  it("refuses a login POST carrying the token of another transaction (403)", async () => {
    const first = await atLogin();
    const second = await atLogin({ browser: first.browser });
    expect(second.page.hidden.txn).not.toBe(first.page.hidden.txn);
    const posted = await first.browser.submit(first.page, { csrf: second.page.hidden.csrf!, username: "alice", password: USERS.alice.password });
    expectRefused(posted.page);
  });

  it("refuses a consent POST carrying the token of another transaction (403)", async () => {
    const first = await atConsent();
    const second = await atConsent({ browser: first.browser });
    expectRefused((await first.browser.submit(first.page, { csrf: second.page.hidden.csrf!, action: "approve" })).page);
  });

  it("refuses a forged token (403)", async () => {
    const { browser, page } = await atLogin();
    const forged = `${page.hidden.csrf!.slice(0, -2)}${page.hidden.csrf!.endsWith("AA") ? "BB" : "AA"}`;
    expectRefused((await browser.submit(page, { csrf: forged, username: "alice", password: USERS.alice.password })).page);
    expectRefused((await browser.submit(page, { csrf: "", username: "alice", password: USERS.alice.password })).page);
    const consent = await atConsent();
    expectRefused((await consent.browser.submit(consent.page, { csrf: "x".repeat(43), action: "approve" })).page);
  });

  it("refuses a login POST whose CSRF cookie was replaced by the attacker's own nonce (403)", async () => {
    const { browser, page } = await atLogin();
    browser.cookies.set(csrfCookieName(browser), "A".repeat(24));
    expectRefused((await browser.submit(page, { username: "alice", password: USERS.alice.password })).page);
  });

  it("keeps both forms valid when the login page is rendered twice", async () => {
    const { browser, page: first } = await atLogin();
    const again = await browser.open(first.url);
    expect(again.page?.status).toBe(200);
    expect(again.page!.hidden.txn).toBe(first.hidden.txn);
    const consent = await browser.submit(first, { username: "alice", password: USERS.alice.password });
    expect(new URL(consent.page!.url).pathname).toBe("/consent");
  });

  it("keeps both forms valid when the consent page is rendered twice", async () => {
    const { browser, page: first, state } = await atConsent();
    const again = await browser.open(first.url);
    expect(again.page?.status).toBe(200);
    const approved = await browser.submit(first, { action: "approve" });
    expect(approved.redirect?.searchParams.get("state")).toBe(state);
    expect(approved.redirect?.searchParams.get("code")).toBeTruthy();
  });
});

describe("LocalOAuthProvider flow: cookies", () => {
  it("sets HttpOnly, SameSite=Lax, Path=/ cookies without Secure or __Host- over http", async () => {
    const headers = (await atConsent()).browser.setCookies;
    expect(headers.map((header) => cookieAttributes(header).name).sort()).toEqual([expect.stringMatching(/^fastmcp_csrf_[\w-]{16}$/), "fastmcp_device", "fastmcp_session"]);
    for (const header of headers) {
      const { name, attributes } = cookieAttributes(header);
      expect(attributes.has("httponly"), name).toBe(true);
      expect(attributes.get("samesite"), name).toBe("Lax");
      expect(attributes.get("path"), name).toBe("/");
      expect(attributes.has("secure"), name).toBe(false);
      expect(attributes.has("domain"), name).toBe(false);
      expect(Number(attributes.get("max-age")), name).toBeGreaterThan(0);
    }
  });

  it("uses __Host- names and Secure over https, and the whole flow works with them", async () => {
    const baseUrl = "https://notes.example.com";
    const provider = localProvider(baseUrl);
    const app = new Hono();
    for (const route of provider.routes()) app.on(route.method, route.path, route.handler);
    const viaApp: Fetch = async (url, init) => app.request(url, init);
    const httpsClient = await register(baseUrl, {}, viaApp);
    const browser = new Browser(baseUrl, viaApp);
    const request = authorizationRequest(httpsClient, { scope: "mcp:read" });
    const login = await browser.open(authorizeUrl(baseUrl, request));
    expect(login.page?.status).toBe(200);
    const consent = await browser.submit(login.page!, { username: "alice", password: USERS.alice.password });
    expect(consent.page?.status, textOf(consent.page?.html ?? "")).toBe(200);
    expect(new URL(consent.page!.url).pathname).toBe("/consent");
    const approved = await browser.submit(consent.page!, { action: "approve" });
    const code = approved.redirect?.searchParams.get("code");
    expect(code).toBeTruthy();
    expect(approved.redirect!.searchParams.get("iss")).toBe(baseUrl);

    const names = [...browser.cookies.keys()];
    expect(names).toContain("__Host-fastmcp_session");
    for (const header of browser.setCookies) {
      const { name, attributes } = cookieAttributes(header);
      expect(name, header).toMatch(/^__Host-fastmcp_(session|device|csrf_[\w-]{16})$/);
      expect(attributes.has("secure"), header).toBe(true);
      expect(attributes.has("httponly"), header).toBe(true);
      expect(attributes.get("samesite"), header).toBe("Lax");
      expect(attributes.get("path"), header).toBe("/");
      expect(attributes.has("domain"), header).toBe(false);
    }
    const tokens = await tokenRequest(baseUrl, { grant_type: "authorization_code", code: code!, code_verifier: request.pkce.verifier, redirect_uri: httpsClient.redirect_uris[0]!, client_id: httpsClient.client_id }, viaApp);
    expect(tokens.status).toBe(200);
  });

  it("does not accept the unprefixed cookie names over https", async () => {
    const baseUrl = "https://notes.example.com";
    const provider = localProvider(baseUrl);
    const app = new Hono();
    for (const route of provider.routes()) app.on(route.method, route.path, route.handler);
    const viaApp: Fetch = async (url, init) => app.request(url, init);
    const browser = new Browser(baseUrl, viaApp);
    const login = await browser.open(authorizeUrl(baseUrl, authorizationRequest(await register(baseUrl, {}, viaApp), { scope: "mcp:read" })));
    // Rename the cookies as a sibling subdomain could plant them (no __Host- prefix).
    for (const [name, value] of [...browser.cookies]) {
      browser.cookies.delete(name);
      browser.cookies.set(name.replace(/^__Host-/, ""), value);
    }
    expectRefused((await browser.submit(login.page!, { username: "alice", password: USERS.alice.password })).page);
  });
});

describe("LocalOAuthProvider flow: login", () => {
  it("re-renders the login page with 401, the error and the username after a wrong password", async () => {
    const { browser, page } = await atLogin();
    const retry = await browser.submit(page, { username: "alice", password: "not it" });
    expect(retry.page?.status).toBe(401);
    expect(retry.page!.html).toContain('<p class="error" role="alert">Wrong username or password.</p>');
    expect(retry.page!.html).toContain('name="username" value="alice"');
    expect(retry.page!.html).not.toContain("not it");
    // The re-rendered form still works.
    const consent = await browser.submit(retry.page!, { username: "alice", password: USERS.alice.password });
    expect(new URL(consent.page!.url).pathname).toBe("/consent");
  });

  it("says the same for an unknown user", async () => {
    const { browser, page } = await atLogin();
    const retry = await browser.submit(page, { username: "mallory", password: USERS.alice.password });
    expect(retry.page?.status).toBe(401);
    expect(retry.page!.html).toContain("Wrong username or password.");
  });

  it("answers 429 once an address exceeds the login attempts, whatever accounts it guesses", async () => {
    const limited = await startLocal((baseUrl) => localProvider(baseUrl));
    try {
      const limitedClient = await register(limited.baseUrl);
      const browser = new Browser(limited.baseUrl);
      const login = await browser.open(authorizeUrl(limited.baseUrl, authorizationRequest(limitedClient, { scope: "mcp:read" })));
      const statuses: number[] = [];
      let last: Page | undefined;
      for (let attempt = 0; attempt < 21; attempt++) {
        last = (await browser.submit(login.page!, { username: `user${attempt}`, password: `guess ${attempt}` })).page;
        statuses.push(last!.status);
      }
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(statuses[20]).toBe(429);
      expect(last!.html).toMatch(/Too many sign-in attempts\. Try again in \d+ minute\(s\)\./);
      // The right password does not get through the limit either.
      const blocked = await browser.submit(login.page!, { username: "alice", password: USERS.alice.password });
      expect(blocked.page?.status).toBe(429);
      expect(browser.cookies.has("fastmcp_session")).toBe(false);
    } finally {
      await limited.close();
    }
  });
  it("does not count successful logins against the address (people behind one proxy or NAT)", async () => {
    const shared = await startLocal((baseUrl) => localProvider(baseUrl, { consentTtlSeconds: 0 }));
    try {
      const sharedClient = await register(shared.baseUrl);
      for (let person = 0; person < 25; person++) {
        const { prompts } = await new Browser(shared.baseUrl).authorize(authorizeUrl(shared.baseUrl, authorizationRequest(sharedClient, { scope: "mcp:read" })));
        expect(prompts, `login ${person + 1}`).toEqual(["login", "consent"]);
      }
      const browser = new Browser(shared.baseUrl);
      const login = await browser.open(authorizeUrl(shared.baseUrl, authorizationRequest(sharedClient, { scope: "mcp:read" })));
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 21; attempt++) statuses.push((await browser.submit(login.page!, { username: `user${attempt}`, password: `guess ${attempt}` })).page!.status);
      expect(statuses).toEqual([...Array(20).fill(401), 429]);
    } finally {
      await shared.close();
    }
  });
});

describe("LocalOAuthProvider flow: transactions", () => {
  it("answers 400 for an unknown or malformed transaction", async () => {
    for (const txn of ["A".repeat(32), "short", "../../etc/passwd", ""]) {
      for (const path of ["/login", "/consent"]) {
        const response = await fetch(`${server.baseUrl}${path}?txn=${encodeURIComponent(txn)}`);
        expect(response.status, `${path} ${txn}`).toBe(400);
        expect(textOf(await response.text())).toContain("This sign-in has expired");
      }
    }
    const posted = await new Browser(server.baseUrl).post(`${server.baseUrl}/login`, { txn: "A".repeat(32), csrf: "x", username: "alice", password: USERS.alice.password });
    expect(posted.page?.status).toBe(400);
  });

  it("answers 400 for a transaction that expired", async () => {
    const { browser, page } = await atLogin();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 16 * 60 * 1000 });
    const reopened = await browser.open(page.url);
    expect(reopened.page?.status).toBe(400);
    expect(textOf(reopened.page!.html)).toContain("This sign-in has expired");
    const posted = await browser.submit(page, { username: "alice", password: USERS.alice.password });
    expect(posted.page?.status).toBe(400);
  });

  it("answers 400 for a transaction already used", async () => {
    const { browser, page } = await atConsent();
    const approved = await browser.submit(page, { action: "approve" });
    expect(approved.redirect?.searchParams.get("code")).toBeTruthy();
    const reopened = await browser.open(page.url);
    expect(reopened.page?.status).toBe(400);
    const again = await browser.submit(page, { action: "approve" });
    expect(again.page?.status).toBe(400);
  });

  it("gives one code for two concurrent consent submissions", async () => {
    const { browser, page } = await atConsent();
    const [first, second] = await Promise.all([browser.submit(page, { action: "approve" }), browser.submit(page, { action: "approve" })]);
    const codes = [first, second].map((arrival) => arrival.redirect?.searchParams.get("code")).filter(Boolean);
    expect(codes).toHaveLength(1);
    expect([first, second].map((arrival) => arrival.page?.status).filter(Boolean)).toEqual([400]);
  });

  it("refuses a consent submission that is neither approve nor deny", async () => {
    const { browser, page } = await atConsent();
    const odd = await browser.submit(page, { action: "maybe" });
    expect(odd.page?.status).toBe(400);
    // The transaction is still open.
    const approved = await browser.submit(page, { action: "approve" });
    expect(approved.redirect?.searchParams.get("code")).toBeTruthy();
  });
});

describe("LocalOAuthProvider flow: approve and deny", () => {
  it("approving sends the code, state and iss once each to the client, and the code works", async () => {
    const browser = new Browser(server.baseUrl);
    const request = authorizationRequest(client, { scope: "mcp:read mcp:write" });
    const { params, prompts } = await browser.authorize(authorizeUrl(server.baseUrl, request));
    expect(prompts).toEqual(["login", "consent"]);
    expect([...params.keys()].sort()).toEqual(["code", "iss", "state"]);
    expect(params.get("state")).toBe(request.state);
    expect(params.get("iss")).toBe(server.baseUrl);
    const tokens = await exchangeCode(server.baseUrl, request, params.get("code")!);
    const me = await whoami(server.url, tokens.access_token);
    expect(me).toMatchObject({ subject: "alice", clientId: client.client_id, scopes: ["mcp:read", "mcp:write"] });
  });

  it("denying redirects with error=access_denied, the state and exactly one iss, and no code", async () => {
    const { browser, page, state } = await atConsent();
    const denied = await browser.submit(page, { action: "deny" });
    const params = denied.redirect!.searchParams;
    expect(denied.redirect!.origin + denied.redirect!.pathname).toBe(client.redirect_uris[0]);
    expect(params.get("error")).toBe("access_denied");
    expect(params.getAll("state")).toEqual([state]);
    expect(params.getAll("iss")).toEqual([server.baseUrl]);
    expect(params.has("code")).toBe(false);
  });

  it("does not remember a denial as consent", async () => {
    const dedicated = await register(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    const denied = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })), { decision: "deny" });
    expect(denied.params.get("error")).toBe("access_denied");
    const again = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })));
    expect(again.prompts).toEqual(["consent"]);
  });
});

describe("LocalOAuthProvider flow: remembered consent and sessions", () => {
  it("skips the consent page for the same client and scopes the second time", async () => {
    const dedicated = await register(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    const first = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })));
    expect(first.prompts).toEqual(["login", "consent"]);
    const request = authorizationRequest(dedicated, { scope: "mcp:read" });
    const second = await browser.authorize(authorizeUrl(server.baseUrl, request));
    expect(second.prompts).toEqual([]);
    expect(second.params.get("state")).toBe(request.state);
    expect(second.params.get("iss")).toBe(server.baseUrl);
    await exchangeCode(server.baseUrl, request, second.params.get("code")!);
  });

  it("remembers consent per user, not per browser: a new browser logs in but is not asked again", async () => {
    const dedicated = await register(server.baseUrl);
    await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })));
    const other = await new Browser(server.baseUrl).authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })));
    expect(other.prompts).toEqual(["login"]);
    expect(other.params.get("code")).toBeTruthy();
  });

  it("asks again for a wider scope (step-up), without asking for the password again", async () => {
    const dedicated = await register(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read" })));
    const wider = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:read mcp:write" })));
    expect(wider.prompts).toEqual(["consent"]);
    // Both approvals are remembered together.
    const narrower = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(dedicated, { scope: "mcp:write" })));
    expect(narrower.prompts).toEqual([]);
  });

  it("asks again for another client", async () => {
    const browser = new Browser(server.baseUrl);
    await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(await register(server.baseUrl), { scope: "mcp:read" })));
    const other = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(await register(server.baseUrl), { scope: "mcp:read" })));
    expect(other.prompts).toEqual(["consent"]);
  });

  it("always asks with consentTtlSeconds: 0", async () => {
    const asking = await startLocal((baseUrl) => localProvider(baseUrl, { consentTtlSeconds: 0 }));
    try {
      const askingClient = await register(asking.baseUrl);
      const browser = new Browser(asking.baseUrl);
      const url = () => authorizeUrl(asking.baseUrl, authorizationRequest(askingClient, { scope: "mcp:read" }));
      expect((await browser.authorize(url())).prompts).toEqual(["login", "consent"]);
      expect((await browser.authorize(url())).prompts).toEqual(["consent"]);
      expect((await browser.authorize(url())).prompts).toEqual(["consent"]);
    } finally {
      await asking.close();
    }
  });

  it("asks for the password again once the login session ended", async () => {
    const short = await startLocal((baseUrl) => localProvider(baseUrl, { loginSessionTtlSeconds: 60, consentTtlSeconds: 0 }));
    try {
      const shortClient = await register(short.baseUrl);
      const browser = new Browser(short.baseUrl);
      const url = () => authorizeUrl(short.baseUrl, authorizationRequest(shortClient, { scope: "mcp:read" }));
      expect((await browser.authorize(url())).prompts).toEqual(["login", "consent"]);
      expect((await browser.authorize(url())).prompts).toEqual(["consent"]);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
      expect((await browser.authorize(url())).prompts).toEqual(["login", "consent"]);
    } finally {
      await short.close();
    }
  });

  it("ignores a made-up session cookie", async () => {
    const { browser } = await atLogin();
    browser.cookies.set("fastmcp_session", "A".repeat(43));
    const { prompts } = await browser.authorize(authorizeUrl(server.baseUrl, authorizationRequest(await register(server.baseUrl), { scope: "mcp:read" })));
    expect(prompts).toEqual(["login", "consent"]);
  });
});
