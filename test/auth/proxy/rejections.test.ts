/**
 * Every refusal the reference lists for its OAuthProxy family (§g.2 of the inventory; the table
 * is REFERENCE.md next to this file) that no other test checks against a proxy: registration,
 * /authorize, the proxy's own tokens, the consent page, the upstream callback, what goes back to
 * the client's redirect URI (and what never does), and configurations the proxy refuses to start
 * with. Real sockets throughout: oidc-provider upstream, the proxy in front of a FastMCP server.
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWTVerifier, OAuthProxy, OIDCProxy, type OAuthProxyOptions, type OIDCProxyOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import type { KeyRing } from "../../../src/auth/server/keys/key-ring.js";
import { authorize, exchangeCode, mcpStatus, registerClient, tokenRequest, type RegisteredClient, type TokenResponse } from "../../helpers/oauth-flow.js";
import { pkcePair } from "../../helpers/pkce.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { oidcDiscoveryDocument } from "../providers/discovery-documents.js";
import { DocumentServer } from "../server/document-server.js";
import { authorizationRequest, authorizeUrl, Browser, jwtParts, testId, textOf, decodeEntities, type Page } from "../server/local/harness.js";
import { startProxiedServer, type ProxiedServer } from "./harness.js";

const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
/** A registered redirect URI with its own query (a valueless flag, an encoded space): kept byte for byte. */
const QUERY_REDIRECT = "http://127.0.0.1:8765/callback?tenant=a%20b&flag";

/** The default proxy (consent remembered per browser), with hostile display names, on a store a second instance shares. */
let server: ProxiedServer;
const store = new MemoryStore();

beforeAll(async () => {
  server = await startProxiedServer({
    store,
    serverName: `Notes ${HOSTILE}`,
    identityProviderName: `IdP ${HOSTILE}`,
    scopeDescriptions: { "mcp:write": `write ${HOSTILE}` },
  });
});
afterAll(async () => server?.close());

// ---- Helpers ---------------------------------------------------------------------------------

/** A page the server showed instead of redirecting: its status and HTML (a `location` would fail the test). */
async function expectPage(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get("location")).toBeNull();
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  return response.text();
}

function get(url: string): Promise<Response> {
  return fetch(url, { redirect: "manual", headers: { accept: "text/html" } });
}

function registration(target: ProxiedServer, metadata: Record<string, unknown>): Promise<Response> {
  return fetch(`${target.baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Test Client", redirect_uris: ["http://127.0.0.1:8765/callback"], grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none", ...metadata }),
  });
}

/** The consent page for `client` in `browser` (a fresh authorization request). */
async function consentPage(browser: Browser, client: RegisteredClient, options: { scope?: string; redirectUri?: string } = {}): Promise<Page> {
  const arrival = await browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: options.scope ?? "mcp:read", ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}) })));
  if (!arrival.page) throw new Error(`no consent page: redirected to ${arrival.redirect.href}`);
  expect(arrival.page.status).toBe(200);
  return arrival.page;
}

/** Approves on the consent page: the upstream authorization URL the browser is sent to (not visited). */
async function approve(browser: Browser, client: RegisteredClient, scope = "mcp:read"): Promise<URL> {
  const approved = await browser.submit(await consentPage(browser, client, { scope }), { action: "approve" });
  if (!approved.redirect || approved.redirect.origin !== server.idp.origin) throw new Error("approval did not lead upstream");
  return approved.redirect;
}

/** The sign-in cookie's name for an upstream `state` (the proxy names it after the state's first 16 characters). */
function signInCookie(state: string): string {
  return `fastmcp_upstream_${state.slice(0, 16)}`;
}

/** A full sign-in through consent and the upstream login, stopped at the upstream's redirect back to the proxy. */
async function upToCallback(target: ProxiedServer, client: RegisteredClient, agent = new UserAgent({ login: "alice" })): Promise<{ agent: UserAgent; callback: URL }> {
  const request = authorizationRequest(client, { scope: "mcp:read", redirectUri: client.redirect_uris[0]! });
  const outcome = await agent.authorize(authorizeUrl(target.baseUrl, request), target.proxy.callbackUrl);
  const callback = new URL(target.proxy.callbackUrl);
  callback.search = outcome.params.toString();
  return { agent, callback };
}

/** The upstream's callback turned into an error (the user declined at the upstream), same state and iss. */
function declined(callback: URL): URL {
  const url = new URL(callback);
  url.search = new URLSearchParams({ error: "access_denied", state: callback.searchParams.get("state")!, iss: callback.searchParams.get("iss")! }).toString();
  return url;
}

/** `callback`'s query delivered to another instance's callback URL. */
function at(target: ProxiedServer, callback: URL): URL {
  const url = new URL(target.proxy.callbackUrl);
  url.search = callback.search;
  return url;
}

/** The client redirect `location` (as sent, byte for byte) or a page. */
async function deliver(agent: UserAgent, url: URL): Promise<{ status: number; location: string | null; body: string }> {
  const response = await agent.visit(url);
  return { status: response.status, location: response.headers.get("location"), body: await response.text() };
}

async function signIn(target: ProxiedServer, client?: RegisteredClient): Promise<{ client: RegisteredClient; tokens: TokenResponse }> {
  const registered = client ?? (await registerClient(target.baseUrl));
  const tokens = await exchangeCode(target.baseUrl, registered, await authorize(target.baseUrl, registered, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
  return { client: registered, tokens };
}

/** The proxy's signing key ring (internal): signs the crafted tokens of the refusal cases with the real key. */
function keyRingOf(target: ProxiedServer): Promise<KeyRing> {
  return (target.proxy as unknown as { runtime: Promise<{ keyRing: KeyRing }> }).runtime.then((runtime) => runtime.keyRing);
}

function refreshWith(client: RegisteredClient, refreshToken: string): Promise<Response> {
  return tokenRequest(server.baseUrl, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_id });
}

// ---- Registration ----------------------------------------------------------------------------

describe("/register at the proxy", () => {
  it.each(["javascript:alert(document.domain)//", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "vbscript:msgbox(1)"])("refuses the unsafe redirect URI %s with invalid_redirect_uri", async (uri) => {
    const response = await registration(server, { redirect_uris: [uri] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_redirect_uri" });
  });

  it("refuses, for a web application, a loopback or private-use redirect URI (SEP-837)", async () => {
    for (const uri of ["http://127.0.0.1:8765/callback", "com.example.app:/callback"]) {
      const response = await registration(server, { application_type: "web", redirect_uris: [uri] });
      expect(response.status, uri).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_redirect_uri" });
    }
    expect((await registration(server, { application_type: "web", redirect_uris: ["https://app.example.com/callback"] })).status).toBe(201);
  });

  it("answers a client asking for token_endpoint_auth_method none as a public client: no secret, even if it sent one", async () => {
    const response = await registration(server, { token_endpoint_auth_method: "none", client_secret: "chosen-by-the-client" });
    expect(response.status).toBe(201);
    const registered = (await response.json()) as Record<string, unknown>;
    expect(registered.token_endpoint_auth_method).toBe("none");
    expect(registered).not.toHaveProperty("client_secret");
    expect(JSON.stringify(registered)).not.toContain("chosen-by-the-client");
  });
});

// ---- /authorize --------------------------------------------------------------------------------

describe("/authorize at the proxy: refused before anyone is asked to consent", () => {
  it.each([
    ["another host", "http://127.0.0.2:8765/callback"],
    ["another path", "http://127.0.0.1:8765/other"],
    ["an extra query", "http://127.0.0.1:8765/callback?next=https://evil.example.com"],
    ["javascript:", "javascript:alert(1)//http://127.0.0.1:8765/callback"],
  ])("shows a page, never a redirect, for a redirect_uri the client did not register (%s)", async (_name, redirectUri) => {
    const client = await registerClient(server.baseUrl);
    const body = await expectPage(await get(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read", redirectUri }))), 400);
    expect(textOf(body)).toContain("redirect_uri is not one this application registered");
  });

  it("shows a page for an unknown client, pointing at /register", async () => {
    const response = await get(authorizeUrl(server.baseUrl, authorizationRequest({ client_id: "no-such-client", redirect_uris: ["http://127.0.0.1:8765/callback"] }, { scope: "mcp:read" })));
    expect(response.headers.get("link")).toBe(`<${server.baseUrl}/register>; rel="registration"`);
    expect(textOf(await expectPage(response, 400))).toContain("not registered");
  });

  it("sends invalid_target back to the client for a resource that is not exactly this server's MCP URL (a query included), with state and one iss", async () => {
    const client = await registerClient(server.baseUrl);
    for (const resource of ["https://other.example.com/mcp", server.baseUrl, `${server.baseUrl}/other`, `${server.url}?tenant=a`, `${server.url}#f`]) {
      const request = authorizationRequest(client, { scope: "mcp:read", resource });
      const { redirect } = await new Browser(server.baseUrl).open(authorizeUrl(server.baseUrl, request));
      expect(redirect && `${redirect.origin}${redirect.pathname}`, resource).toBe(client.redirect_uris[0]);
      expect(redirect!.searchParams.get("error"), resource).toBe("invalid_target");
      expect(redirect!.searchParams.get("state")).toBe(request.state);
      expect(redirect!.searchParams.getAll("iss")).toEqual([server.baseUrl]);
    }
    // This server's MCP URL, even with a trailing slash, goes on to the consent page.
    await consentPage(new Browser(server.baseUrl), client);
    expect((await new Browser(server.baseUrl).open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read", resource: `${server.url}/` })))).page?.status).toBe(200);
  });

  it("asks upstream for exactly the scopes requested (a narrow request is never widened), and for the required ones when none is", async () => {
    const client = await registerClient(server.baseUrl);
    const upstreamScope = async (scope?: string) => {
      const browser = new Browser(server.baseUrl);
      const request = authorizationRequest(client, scope === undefined ? {} : { scope });
      const consent = await browser.open(authorizeUrl(server.baseUrl, request));
      const approved = await browser.submit(consent.page!, { action: "approve" });
      await (await fetch(approved.redirect!, { redirect: "manual" })).body?.cancel();
      return server.idp.authorizationRequests.at(-1)!.get("scope");
    };
    expect(await upstreamScope("mcp:write")).toBe("mcp:write");
    expect(await upstreamScope(undefined)).toBe("mcp:read");
  });
});

// ---- The proxy's tokens ------------------------------------------------------------------------

describe("the proxy's tokens", () => {
  let client: RegisteredClient;
  let tokens: TokenResponse;
  /** The claims of a genuine access token, with a fresh jti: a crafted token differs from a real one only where the test says. */
  const genuineClaims = () => ({ ...jwtParts(tokens.access_token).payload, jti: `crafted-${Math.random().toString(36).slice(2)}` });
  const signedByProxy = async (claims: Record<string, unknown>) => (await keyRingOf(server)).sign(claims);

  beforeAll(async () => {
    ({ client, tokens } = await signIn(server));
  });

  it("are accepted when genuine, and when the proxy's key signs the same claims (the baseline of the refusals below)", async () => {
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect((await mcpStatus(server.url, await signedByProxy(genuineClaims()))).status).toBe(200);
  });

  it("refuse an access token signed by another key under the proxy's kid", async () => {
    const { kid } = jwtParts(tokens.access_token).header;
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = await new SignJWT(genuineClaims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: kid as string }).sign(privateKey);
    expect((await mcpStatus(server.url, forged)).status).toBe(401);
  });

  it("refuse an unsigned access token (alg none)", async () => {
    const { kid } = jwtParts(tokens.access_token).header;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    expect((await mcpStatus(server.url, `${encode({ alg: "none", typ: "at+jwt", kid })}.${encode(genuineClaims())}.`)).status).toBe(401);
  });

  it("refuse an access token signed by the proxy's key whose exp has passed", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await mcpStatus(server.url, await signedByProxy({ ...genuineClaims(), iat: now - 120, exp: now - 60 }))).status).toBe(401);
  });

  it("refuse an access token signed by the proxy's key for another audience, or from another issuer", async () => {
    expect((await mcpStatus(server.url, await signedByProxy({ ...genuineClaims(), aud: "http://127.0.0.1:1/mcp" }))).status).toBe(401);
    expect((await mcpStatus(server.url, await signedByProxy({ ...genuineClaims(), iss: server.idp.issuer }))).status).toBe(401);
  });

  it("refuse a refresh token presented as an access token", async () => {
    expect((await mcpStatus(server.url, tokens.refresh_token!)).status).toBe(401);
  });

  it("refuse an access token presented as a refresh token (invalid_grant)", async () => {
    const response = await refreshWith(client, tokens.access_token);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuse a refresh token presented by another client (invalid_grant), which its own client can still use", async () => {
    const own = await signIn(server);
    const other = await registerClient(server.baseUrl);
    const stolen = await refreshWith(other, own.tokens.refresh_token!);
    expect(stolen.status).toBe(401);
    expect(await stolen.json()).toMatchObject({ error: "invalid_grant" });
    expect((await refreshWith(own.client, own.tokens.refresh_token!)).status).toBe(200);
  });

  it("refuse a code whose PKCE verifier does not match the client's challenge (invalid_grant)", async () => {
    const registered = await registerClient(server.baseUrl);
    const authorization = await authorize(server.baseUrl, registered, new UserAgent({ login: "alice" }), { scope: "mcp:read" });
    const response = await tokenRequest(server.baseUrl, { grant_type: "authorization_code", code: authorization.code, redirect_uri: registered.redirect_uris[0]!, client_id: registered.client_id, code_verifier: pkcePair().verifier });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });
});

// ---- The consent page --------------------------------------------------------------------------

describe("the proxy's consent page", () => {
  it("forbids framing (X-Frame-Options DENY and CSP frame-ancestors 'none') and caching", async () => {
    const page = await consentPage(new Browser(server.baseUrl), await registerClient(server.baseUrl));
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("cache-control")).toBe("no-store");
  });

  it("shows the client's name, the server's and the identity provider's names and scope descriptions as text, escaped", async () => {
    const client = await registerClient(server.baseUrl, { client_name: HOSTILE });
    const page = await consentPage(new Browser(server.baseUrl), client, { scope: "mcp:read mcp:write" });
    expect(page.html).not.toContain("<script");
    expect(page.html).not.toContain("<img");
    expect(page.html).not.toContain('"><');
    expect(testId(page.html, "client-name")).toBe(HOSTILE);
    const text = decodeEntities(textOf(page.html));
    expect(text).toContain(`Notes ${HOSTILE}`);
    expect(text).toContain(`sign in with IdP ${HOSTILE}`);
    expect(text).toContain(`write ${HOSTILE}`);
  });

  it("ignores a remembered approval whose cookie was tampered with: the prompt is shown again", async () => {
    const client = await registerClient(server.baseUrl);
    const browser = new Browser(server.baseUrl);
    browser.headers["sec-fetch-site"] = "none";
    await approve(browser, client);
    const open = () => browser.open(authorizeUrl(server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })));
    expect((await open()).redirect?.origin).toBe(server.idp.origin); // remembered
    const remembered = browser.cookies.get("fastmcp_consents")!;
    expect(remembered).toMatch(/^[\w-]{22}$/);
    browser.cookies.set("fastmcp_consents", `${remembered.slice(0, -1)}${remembered.endsWith("A") ? "B" : "A"}`);
    expect((await open()).page?.status).toBe(200);
  });

  it("refuses a forged, altered or missing transaction with a page", async () => {
    const page = await consentPage(new Browser(server.baseUrl), await registerClient(server.baseUrl));
    const txn = page.hidden.txn!;
    const altered = `${txn.slice(0, 20)}${txn[20] === "A" ? "B" : "A"}${txn.slice(21)}`;
    for (const candidate of [altered, "forged", ""]) {
      await expectPage(await get(`${server.baseUrl}/consent?txn=${encodeURIComponent(candidate)}`), 400);
      const posted = await new Browser(server.baseUrl).send(`${server.baseUrl}/consent`, "POST", new URLSearchParams({ ...page.hidden, txn: candidate, action: "approve" }));
      await expectPage(posted, 400);
    }
  });
});

// ---- The upstream's callback ------------------------------------------------------------------

describe("the proxy's upstream callback", () => {
  it("answers an upstream error without a state, or with a state this browser never started, with a page: nothing reaches a client", async () => {
    await expectPage(await get(`${server.proxy.callbackUrl}?error=access_denied`), 400);
    await expectPage(await get(`${server.proxy.callbackUrl}?error=access_denied&state=${"A".repeat(32)}`), 403);
  });

  it("refuses another sign-in's binding cookie put under this sign-in's name (403), though that cookie is valid for its own state", async () => {
    const client = await registerClient(server.baseUrl);
    const victim = new Browser(server.baseUrl);
    const attacker = new Browser(server.baseUrl);
    const victimState = (await approve(victim, client)).searchParams.get("state")!;
    const attackerState = (await approve(attacker, client)).searchParams.get("state")!;
    victim.cookies.set(signInCookie(victimState), attacker.cookies.get(signInCookie(attackerState))!);
    const callback = (state: string) => `${server.proxy.callbackUrl}?${new URLSearchParams({ code: "upstream-code", state, iss: server.idp.issuer })}`;
    const body = await expectPage(await victim.send(callback(victimState), "GET"), 403);
    expect(textOf(body)).toContain("did not start this sign-in");
    // The same cookie under its own state is a sign-in the proxy completes (the made-up code then fails upstream).
    const own = await attacker.send(callback(attackerState), "GET");
    expect(own.status).toBe(302);
    expect(new URL(own.headers.get("location")!).searchParams.get("error")).toBe("server_error");
  });

  it("never puts what the request carries into its error pages, which forbid framing", async () => {
    for (const url of [
      `${server.proxy.callbackUrl}?${new URLSearchParams({ error: HOSTILE, error_description: HOSTILE, state: HOSTILE })}`,
      `${server.baseUrl}/consent?${new URLSearchParams({ txn: HOSTILE })}`,
      `${server.baseUrl}/authorize?${new URLSearchParams({ client_id: HOSTILE })}`,
    ]) {
      const response = await get(url);
      expect(response.headers.get("x-frame-options"), url).toBe("DENY");
      expect(response.headers.get("content-security-policy"), url).toContain("frame-ancestors 'none'");
      const body = await expectPage(response, response.status);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(body).not.toContain("<script");
      expect(body).not.toContain("<img");
    }
  });
});

describe("the upstream callback with requireConsent: false", () => {
  let unasked: ProxiedServer;
  beforeAll(async () => {
    unasked = await startProxiedServer({ requireConsent: false });
  });
  afterAll(async () => unasked?.close());

  it("still binds the sign-in to the browser that started it: a callback in another browser is refused (403)", async () => {
    const { agent, callback } = await upToCallback(unasked, await registerClient(unasked.baseUrl));
    const elsewhere = await deliver(new UserAgent(), callback);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.location).toBeNull();
    const owner = await deliver(agent, callback);
    expect(new URL(owner.location!).searchParams.get("code")).toBeTruthy();
  });
});

// ---- Redirects back to the client --------------------------------------------------------------

describe("every redirect back to the client", () => {
  const outcomes: Array<[string, string, (client: RegisteredClient) => Promise<string | null>]> = [
    ["a code", "code", async (client) => {
      const { agent, callback } = await upToCallback(server, client);
      return (await deliver(agent, callback)).location;
    }],
    ["an upstream error", "error=access_denied", async (client) => {
      const { agent, callback } = await upToCallback(server, client);
      return (await deliver(agent, declined(callback))).location;
    }],
    ["a denial on the consent page", "error=access_denied", async (client) => {
      const browser = new Browser(server.baseUrl);
      const page = await consentPage(browser, client);
      const response = await browser.send(page.action!, "POST", new URLSearchParams({ ...page.hidden, action: "deny" }));
      return response.headers.get("location");
    }],
  ];

  it.each(outcomes)("with %s keeps the client's own query byte for byte, and carries exactly one iss", async (_name, first, redirect) => {
    const client = await registerClient(server.baseUrl, { redirect_uris: [QUERY_REDIRECT] });
    const location = (await redirect(client))!;
    expect(location.startsWith(`${QUERY_REDIRECT}&${first}`)).toBe(true);
    expect(location.match(/[?&]iss=/g)).toHaveLength(1);
    const url = new URL(location);
    expect(url.searchParams.getAll("iss")).toEqual([server.baseUrl]);
    expect(url.searchParams.getAll("tenant")).toEqual(["a b"]);
    expect(url.searchParams.getAll("flag")).toEqual([""]);
  });
});

// ---- A redirect URI no longer allowed ----------------------------------------------------------

describe("a redirect URI the proxy no longer allows (a second instance on the same store, with allowedClientRedirectUris)", () => {
  let narrowed: ProxiedServer;
  let documents: DocumentServer;

  beforeAll(async () => {
    documents = await DocumentServer.start(undefined);
    narrowed = await startProxiedServer({
      store,
      allowedClientRedirectUris: ["http://127.0.0.1:*/allowed", "http://127.0.0.1:*/unlisted"],
      clientMetadataDocuments: documents.relaxations,
    });
  });
  afterAll(async () => {
    await narrowed?.close();
    await documents?.close();
  });

  it.each([
    ["an upstream error", declined],
    ["a code", (callback: URL) => callback],
  ])("is not sent %s from the callback: a page instead", async (_name, answer) => {
    const { agent, callback } = await upToCallback(server, await registerClient(server.baseUrl));
    const refused = await deliver(agent, at(narrowed, answer(callback)));
    expect(refused.status).toBe(400);
    expect(refused.location).toBeNull();
    expect(textOf(refused.body)).toContain("no longer allowed");
  });

  it("is not sent a denial from the consent page: a page instead", async () => {
    const browser = new Browser(server.baseUrl);
    const page = await consentPage(browser, await registerClient(server.baseUrl));
    const denied = await browser.send(`${narrowed.baseUrl}/consent`, "POST", new URLSearchParams({ ...page.hidden, action: "deny" }));
    expect(textOf(await expectPage(denied, 400))).toContain("no longer allowed");
  });

  it("for a client known by its metadata document: only a URI both the document lists and the list allows is used", async () => {
    const clientId = documents.url("/oauth/client.json");
    const listed = ["http://127.0.0.1:8765/allowed", "http://127.0.0.1:8765/callback"];
    documents.reply = (request) => (request.path === "/oauth/client.json"
      ? { body: { client_id: clientId, client_name: "Document client", redirect_uris: listed, grant_types: ["authorization_code", "refresh_token"] } }
      : { status: 404 });
    const request = (redirectUri: string) => authorizeUrl(narrowed.baseUrl, authorizationRequest({ client_id: clientId, redirect_uris: listed }, { scope: "mcp:read", redirectUri }));
    await expectPage(await get(request("http://127.0.0.1:8765/callback")), 400); // listed, not allowed
    await expectPage(await get(request("http://127.0.0.1:8765/unlisted")), 400); // allowed, not listed
    const both = await get(request("http://127.0.0.1:8765/allowed"));
    expect(both.status).toBe(302);
    expect(new URL(both.headers.get("location")!).pathname).toBe("/consent");
  });

  it("cannot be reached at registration through userinfo, dot segments or a look-alike host", async () => {
    for (const uri of ["http://127.0.0.1:9@evil.example/allowed", "http://127.0.0.1:9/x/../allowed", "http://127.0.0.1:9/allowed/%2e%2e/evil", "http://127.0.0.1.evil.example:9/allowed"]) {
      const response = await registration(narrowed, { redirect_uris: [uri] });
      expect(response.status, uri).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_redirect_uri" });
    }
    expect((await registration(narrowed, { redirect_uris: ["http://127.0.0.1:9/allowed"] })).status).toBe(201);
  });
});

// ---- An upstream without refresh tokens --------------------------------------------------------

describe("an upstream that issues no refresh token, whose access tokens live 2 s", () => {
  let shortLived: ProxiedServer;
  beforeAll(async () => {
    shortLived = await startProxiedServer({}, { refreshAndRevocation: false, accessTokenTtl: 2 });
  });
  afterAll(async () => shortLived?.close());

  it("ends the proxy's grant once the upstream token expires: 401 at the MCP endpoint, invalid_grant at the proxy's refresh", async () => {
    const { client, tokens } = await signIn(shortLived);
    expect((await mcpStatus(shortLived.url, tokens.access_token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect((await mcpStatus(shortLived.url, tokens.access_token)).status).toBe(401);
    const refreshed = await tokenRequest(shortLived.baseUrl, { grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: client.client_id });
    expect(refreshed.status).toBe(401);
    expect(await refreshed.json()).toMatchObject({ error: "invalid_grant" });
  });
});

// ---- Configurations refused at startup ---------------------------------------------------------

describe("configurations a proxy refuses", () => {
  let documents: DocumentServer;
  const silent = { baseUrl: "http://127.0.0.1:9", store: new MemoryStore(), onError: () => undefined };

  beforeAll(async () => {
    documents = await DocumentServer.start(undefined);
  });
  afterAll(async () => documents?.close());

  /** An OIDCProxy over the discovery document `document` served at <documents>/tenant (environment not read). */
  function oidcProxy(document: Record<string, unknown>, options: Partial<OIDCProxyOptions> = {}): OIDCProxy {
    documents.reply = (request) => (request.path === "/tenant/.well-known/openid-configuration" ? { body: document } : { status: 404 });
    return new OIDCProxy({ ...silent, configUrl: documents.url("/tenant/.well-known/openid-configuration"), clientId: "app", clientSecret: "secret", ...options }, null);
  }
  const issuer = () => documents.url("/tenant");
  const discovery = () => oidcDiscoveryDocument(issuer(), `${issuer()}/jwks`);

  it("OIDCProxy: a discovery document without what OpenID Connect requires, unless strict is false", async () => {
    const { subject_types_supported: _omitted, ...incomplete } = discovery();
    await expect(oidcProxy(incomplete).ready()).rejects.toThrow(/subject_types_supported/);
    await expect(oidcProxy(incomplete, { strict: false }).ready()).resolves.toBeUndefined();
    await expect(oidcProxy({ ...discovery(), response_types_supported: ["token"] }).ready()).rejects.toThrow(/code response type/);
  });

  it("OIDCProxy: a discovery document whose endpoints use plain http off loopback, or that lacks one", async () => {
    await expect(oidcProxy({ ...discovery(), token_endpoint: "http://idp.example.com/token" }).ready()).rejects.toThrow(/token_endpoint is not usable.*https/);
    const { authorization_endpoint: _omitted, ...without } = discovery();
    await expect(oidcProxy(without).ready()).rejects.toThrow(/no authorization_endpoint/);
  });

  it("OIDCProxy: a discovery document that names another issuer than the one it was read from (mix-up)", async () => {
    await expect(oidcProxy({ ...discovery(), issuer: documents.url("/other") }).ready()).rejects.toThrow(/could not read the identity provider's discovery document/);
    await expect(oidcProxy(discovery()).ready()).resolves.toBeUndefined();
  });

  it("OIDCProxy: a provider that does not answer its discovery URL within upstreamTimeoutMs", async () => {
    const silentServer = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silentServer.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silentServer.address() as AddressInfo;
      const proxy = new OIDCProxy({ ...silent, configUrl: `http://127.0.0.1:${port}/.well-known/openid-configuration`, clientId: "app", clientSecret: "secret", upstreamTimeoutMs: 300 }, null);
      const started = Date.now();
      await expect(proxy.ready()).rejects.toThrow(/could not read the identity provider's discovery document/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silentServer.closeAllConnections();
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });

  it("OIDCProxy: no configUrl or no clientId", () => {
    expect(() => new OIDCProxy({ ...silent, clientId: "app" }, null)).toThrow(/configUrl/);
    expect(() => new OIDCProxy({ ...silent, configUrl: documents.url("/tenant") }, null)).toThrow(/clientId/);
  });

  it("OIDCProxy: algorithm with a tokenVerifier of its own (algorithm would be silently ignored)", () => {
    const tokenVerifier = new JWTVerifier({ jwksUri: "https://idp.example.com/jwks", issuer: "https://idp.example.com", audience: "app" });
    const options = { ...silent, configUrl: documents.url("/tenant/.well-known/openid-configuration"), clientId: "app", clientSecret: "secret", tokenVerifier };
    expect(() => new OIDCProxy({ ...options, algorithm: "ES256" }, null)).toThrow(/algorithm configures the default verifier/);
    expect(() => new OIDCProxy(options, null)).not.toThrow();
  });

  /** An OAuthProxy's options over an upstream that is never contacted. */
  const oauthProxyOptions = () => ({
    ...silent,
    upstreamAuthorizationEndpoint: "https://idp.example.com/authorize",
    upstreamTokenEndpoint: "https://idp.example.com/token",
    upstreamClientId: "app",
    tokenVerifier: new JWTVerifier({ jwksUri: "https://idp.example.com/jwks", issuer: "https://idp.example.com", audience: "http://127.0.0.1:9/mcp" }),
  });

  it("OAuthProxy: an upstream authentication method it does not know, or one that needs the secret it was not given", () => {
    expect(() => new OAuthProxy({ ...oauthProxyOptions(), upstreamClientSecret: "secret", tokenEndpointAuthMethod: "private_key_jwt" as never })).toThrow(/tokenEndpointAuthMethod must be one of/);
    expect(() => new OAuthProxy({ ...oauthProxyOptions(), tokenEndpointAuthMethod: "client_secret_post" })).toThrow(/needs upstreamClientSecret/);
    expect(() => new OAuthProxy(oauthProxyOptions())).not.toThrow(); // a public upstream app: PKCE only
  });

  it("redirectPath is the callback's path, with or without its leading slash", () => {
    expect(new OAuthProxy({ ...oauthProxyOptions(), redirectPath: "oauth/done" }).callbackUrl).toBe("http://127.0.0.1:9/oauth/done");
    expect(new OAuthProxy({ ...oauthProxyOptions(), redirectPath: "//oauth/done" }).callbackUrl).toBe("http://127.0.0.1:9/oauth/done");
    expect(new OAuthProxy(oauthProxyOptions()).callbackUrl).toBe("http://127.0.0.1:9/auth/callback");
  });

  it("enableCimd (the reference's name) turns client metadata documents off or on; disagreeing with clientMetadataDocuments is refused", () => {
    const advertised = (options: Partial<OAuthProxyOptions>) => new OAuthProxy({ ...oauthProxyOptions(), ...options }).authorizationServerMetadata().client_id_metadata_document_supported;
    expect(advertised({})).toBe(true);
    expect(advertised({ enableCimd: false })).toBeUndefined();
    expect(advertised({ enableCimd: true, clientMetadataDocuments: { timeoutMs: 2000 } })).toBe(true);
    expect(() => advertised({ enableCimd: false, clientMetadataDocuments: true })).toThrow(/enableCimd and clientMetadataDocuments disagree/);
  });

  it("a baseUrl or resourceBaseUrl with a query: the MCP URL a client's resource is compared with never has one", () => {
    expect(() => new OAuthProxy({ ...oauthProxyOptions(), baseUrl: "http://127.0.0.1:9/?tenant=a" })).toThrow(/baseUrl must not contain a query string/);
    expect(() => new OAuthProxy({ ...oauthProxyOptions(), resourceBaseUrl: "https://mcp.example.com/?tenant=a" })).toThrow(/resourceBaseUrl must not contain a query string/);
  });
});
