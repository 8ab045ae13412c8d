/**
 * The login and consent pages as HTML: security headers, escaping of everything that comes from a
 * client, the operator or the user, and what the consent page tells the person approving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalOAuthProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { PAGE_CSP } from "../../../../src/auth/server/html.js";
import { authorizationRequest, authorizeUrl, Browser, decodeEntities, register, startLocal, testId, textOf, USERS, type LocalServer, type Page, type RegisteredClient } from "./harness.js";

const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>`${alert(3)}`\'';
const ODD_SCOPE = "x<b>\"'`";

let server: LocalServer;

beforeAll(async () => {
  server = await startLocal((baseUrl) => new LocalOAuthProvider({
    baseUrl,
    users: USERS,
    store: new MemoryStore(),
    serverName: `Notes ${HOSTILE}`,
    requiredScopes: ["mcp:read"],
    clientRegistration: { validScopes: ["mcp:read", "mcp:write", ODD_SCOPE], rateLimit: false },
    scopeDescriptions: { "mcp:read": "read your notes", "mcp:write": `write ${HOSTILE}` },
  }));
});

afterAll(async () => {
  await server?.close();
});

async function loginPageFor(client: RegisteredClient, scope = "mcp:read"): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(server.baseUrl);
  const arrival = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope })));
  if (!arrival.page) throw new Error(`no login page: redirected to ${arrival.redirect.href}`);
  expect(new URL(arrival.page.url).pathname).toBe("/login");
  return { browser, page: arrival.page };
}

async function consentPageFor(client: RegisteredClient, scope = "mcp:read", redirectUri?: string): Promise<Page> {
  const browser = new Browser(server.baseUrl);
  const login = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope, ...(redirectUri ? { redirectUri } : {}) })));
  const consent = await browser.submit(login.page!, { username: "alice", password: USERS.alice.password });
  if (!consent.page) throw new Error(`no consent page: redirected to ${consent.redirect.href}`);
  expect(new URL(consent.page.url).pathname).toBe("/consent");
  return consent.page;
}

function expectPageHeaders(page: Page): void {
  expect(page.headers.get("content-security-policy")).toBe(PAGE_CSP);
  expect(page.headers.get("x-frame-options")).toBe("DENY");
  expect(page.headers.get("cache-control")).toBe("no-store");
  expect(page.headers.get("x-content-type-options")).toBe("nosniff");
  expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
}

/** No markup, attribute break-out or template literal from `HOSTILE` survived. */
function expectNoInjection(html: string): void {
  expect(html).not.toContain("<script");
  expect(html).not.toContain("<img");
  expect(html).not.toContain('"><');
  expect(html).not.toContain("`");
}

describe("LocalOAuthProvider pages: headers", () => {
  it("serves the login page with the strict CSP, DENY framing, no-store and nosniff", async () => {
    const { page } = await loginPageFor(await register(server.baseUrl));
    expect(page.status).toBe(200);
    expectPageHeaders(page);
  });

  it("serves the consent page with the same headers", async () => {
    const page = await consentPageFor(await register(server.baseUrl));
    expect(page.status).toBe(200);
    expectPageHeaders(page);
  });

  it("serves its error pages (an unknown transaction) with the same headers", async () => {
    const response = await fetch(`${server.baseUrl}/login?txn=${"A".repeat(32)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-security-policy")).toBe(PAGE_CSP);
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("renders forms that work without JavaScript: no script at all, plain POST forms", async () => {
    const { page } = await loginPageFor(await register(server.baseUrl));
    expect(page.html).toMatch(/<form method="post" action="[^"]+\/login">/);
    expect(page.html).toContain('type="password"');
    const consent = await consentPageFor(await register(server.baseUrl));
    expect(consent.html).toMatch(/<form method="post" action="[^"]+\/consent">/);
    expect(consent.html).toContain('<button type="submit" name="action" value="approve">');
    expect(consent.html).toContain('<button type="submit" name="action" value="deny"');
    expect(consent.html).not.toMatch(/<script|<[^>]*\son\w+=/i);
  });
});

describe("LocalOAuthProvider pages: escaping", () => {
  it("escapes a hostile client_name and server name on the login page", async () => {
    const { page } = await loginPageFor(await register(server.baseUrl, { client_name: HOSTILE }));
    expectNoInjection(page.html);
    expect(page.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#96;${alert(3)}&#96;&#39;");
    expect(decodeEntities(textOf(page.html))).toContain(`Sign in to Notes ${HOSTILE}`);
  });

  it("escapes a hostile client_name, server name and scope description on the consent page, showing them as text", async () => {
    const page = await consentPageFor(await register(server.baseUrl, { client_name: HOSTILE }), "mcp:read mcp:write");
    expectNoInjection(page.html);
    expect(testId(page.html, "client-name")).toBe(HOSTILE);
    expect(page.html).toContain(`write &lt;script&gt;alert(1)`);
    expect(page.html).toMatch(/<title>Authorize &lt;script&gt;/);
  });

  it("escapes scope names themselves", async () => {
    const page = await consentPageFor(await register(server.baseUrl), `mcp:read ${ODD_SCOPE}`);
    expect(page.html).toContain("<code>x&lt;b&gt;&quot;&#39;&#96;</code>");
    expect(page.html).not.toContain("<b>");
  });

  it("escapes the username echoed after a wrong password", async () => {
    const { browser, page } = await loginPageFor(await register(server.baseUrl));
    const retry = await browser.submit(page, { username: HOSTILE, password: "wrong" });
    expect(retry.page!.status).toBe(401);
    expectNoInjection(retry.page!.html);
    expect(retry.page!.html).toContain(`value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#96;${"${alert(3)}"}&#96;&#39;"`);
  });
});

describe("LocalOAuthProvider pages: what the consent page shows", () => {
  it("names the client and shows the redirect host prominently", async () => {
    const page = await consentPageFor(await register(server.baseUrl, { client_name: "Claude Desktop", redirect_uris: ["http://127.0.0.1:43117/callback"] }));
    expect(testId(page.html, "client-name")).toBe("Claude Desktop");
    expect(testId(page.html, "redirect-host")).toBe("127.0.0.1:43117");
    expect(page.html).toContain('<span class="host" data-testid="redirect-host">127.0.0.1:43117</span>');
  });

  it("falls back to the client_id when the client registered no name", async () => {
    const client = await register(server.baseUrl, { client_name: undefined });
    const page = await consentPageFor(client);
    expect(testId(page.html, "client-name")).toBe(client.client_id);
  });

  it("lists each scope asked for with its description", async () => {
    const page = await consentPageFor(await register(server.baseUrl), "mcp:read mcp:write");
    const scopes = /<ul class="scopes">([\s\S]*?)<\/ul>/.exec(page.html)![1]!;
    expect(textOf(scopes)).toContain("mcp:read — read your notes");
    expect(textOf(scopes)).toContain("mcp:write — write");
    expect(scopes.match(/<li>/g)).toHaveLength(2);
  });

  it("says who is signed in", async () => {
    const page = await consentPageFor(await register(server.baseUrl));
    expect(textOf(page.html)).toContain("as Alice Liddell");
  });

  it("shows a private-use scheme redirect as an application on this device", async () => {
    const client = await register(server.baseUrl, { redirect_uris: ["com.example.notes:/oauth/callback"], application_type: "native" });
    const page = await consentPageFor(client);
    expect(testId(page.html, "redirect-host")).toBe("com.example.notes: (an application on this device)");
  });

  it("shows a private-use scheme with an authority with its host", async () => {
    const client = await register(server.baseUrl, { redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback"], application_type: "native" });
    const page = await consentPageFor(client);
    expect(testId(page.html, "redirect-host")).toBe("cursor://anysphere.cursor-mcp (an application on this device)");
  });

  it("tells that a dynamically registered client's name is not verified", async () => {
    const page = await consentPageFor(await register(server.baseUrl, { client_name: "Totally Official App" }));
    expect(textOf(page.html)).toContain("This application registered itself with this server; its name is not verified.");
    expect(textOf(page.html)).not.toContain("Application identified by");
  });

  it("names the domain of a client known by its metadata document instead", async () => {
    const clientId = "https://notes-app.example.com/oauth/client.json";
    await server.provider.registerClient({
      client_id: clientId,
      client_name: "Notes App",
      redirect_uris: ["https://notes-app.example.com/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      metadata_document: true,
    });
    const page = await consentPageFor({ client_id: clientId, redirect_uris: ["https://notes-app.example.com/callback"] });
    expect(textOf(page.html)).toContain("Application identified by notes-app.example.com");
    expect(textOf(page.html)).not.toContain("not verified");
    expect(testId(page.html, "redirect-host")).toBe("notes-app.example.com");
  });
});
