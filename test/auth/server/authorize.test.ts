/**
 * `/authorize` over real HTTP: what is shown as a page (unknown client, unregistered redirect URI),
 * what goes back to the client's redirect URI (every other error, with `state` and `iss`), and
 * the success redirect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemoryOAuthProvider, OAuthError, type OAuthClientInformation } from "fastmcp-ts/auth";
import type { AuthorizationParams } from "../../../src/auth/server/types.js";
import { DocumentServer } from "./document-server.js";
import {
  authorizationCode,
  authorizationParams,
  authorizeRequest,
  codeForm,
  DEFAULT_OPTIONS,
  encodeParams,
  expectErrorPage,
  expectRedirectedError,
  expectTokens,
  mcpStatus,
  pkcePair,
  REDIRECT_URI,
  redirectLocation,
  registerClient,
  single,
  startAuthServer,
  startInMemory,
  tokenRequest,
  type AuthServer,
  type RegisteredClient,
} from "./helpers.js";

const HTTPS_REDIRECT = "https://app.example.com/callback";

let server: AuthServer<InMemoryOAuthProvider>;
/** Registered https://app.example.com/callback only. */
let web: RegisteredClient;
/** Registered the loopback REDIRECT_URI only. */
let native: RegisteredClient;
beforeAll(async () => {
  server = await startInMemory();
  web = await registerClient(server, { redirect_uris: [HTTPS_REDIRECT] });
  native = await registerClient(server);
});
afterAll(() => server.close());

describe("/authorize success", () => {
  it("GET redirects to the redirect URI with code, state and iss exactly once each", async () => {
    const pkce = pkcePair();
    const params = authorizationParams(server, web, pkce, { state: "xyz-123" });
    const location = redirectLocation(await authorizeRequest(server, params));
    expect(`${location.origin}${location.pathname}`).toBe(HTTPS_REDIRECT);
    expect(single(location, "code")).toMatch(/\S{20,}/);
    expect(single(location, "state")).toBe("xyz-123");
    expect(single(location, "iss")).toBe(server.baseUrl);
    expect([...location.searchParams.keys()].sort()).toEqual(["code", "iss", "state"]);
  });

  it("POST with a form works the same", async () => {
    const pkce = pkcePair();
    const params = authorizationParams(server, native, pkce);
    const location = redirectLocation(await authorizeRequest(server, params, "POST"));
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(single(location, "state")).toBe(params.state);
    expect(single(location, "iss")).toBe(server.baseUrl);
    single(location, "code");
  });

  it("echoes a state with reserved characters exactly", async () => {
    const state = "a b&c=d/é?#%";
    const { location } = await authorizationCode(server, native, { state });
    expect(single(location, "state")).toBe(state);
  });

  it("sends no state back when the request had none, but still iss", async () => {
    const { location } = await authorizationCode(server, native, { state: undefined });
    expect(location.searchParams.has("state")).toBe(false);
    expect(single(location, "iss")).toBe(server.baseUrl);
  });

  it("preserves the registered URI's own query, byte for byte, before the added parameters", async () => {
    const registered = "https://app.example.com/cb?tenant=a%20b&flag";
    const client = await registerClient(server, { redirect_uris: [registered] });
    const response = await authorizeRequest(server, authorizationParams(server, client, pkcePair(), { state: "s1" }));
    const location = response.headers.get("location")!;
    expect(location.startsWith(`${registered}&code=`)).toBe(true);
    const url = redirectLocation(response);
    expect(single(url, "tenant")).toBe("a b");
    expect(url.searchParams.getAll("flag")).toEqual([""]);
    expect(single(url, "state")).toBe("s1");
    expect(single(url, "iss")).toBe(server.baseUrl);
  });

  it("redirects to a private-use scheme a native app registered", async () => {
    const client = await registerClient(server, { redirect_uris: ["com.example.app:/oauth2redirect"] });
    const response = await authorizeRequest(server, authorizationParams(server, client, pkcePair(), { state: "n1" }));
    expect(response.status).toBe(302);
    const location = response.headers.get("location")!;
    expect(location.startsWith("com.example.app:/oauth2redirect?code=")).toBe(true);
    const url = new URL(location);
    single(url, "code");
    expect(single(url, "state")).toBe("n1");
    expect(single(url, "iss")).toBe(server.baseUrl);
  });

  it("accepts the request without a resource (the token is bound to this MCP endpoint)", async () => {
    const authorization = await authorizationCode(server, native, { resource: undefined });
    const tokens = await expectTokens(await tokenRequest(server, codeForm(native, authorization)));
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
  });

  it.each([
    ["with a trailing slash", (mcp: string) => `${mcp}/`],
    ["with an upper-case scheme", (mcp: string) => mcp.replace("http://", "HTTP://")],
  ])("accepts this server's resource written %s", async (_name, write) => {
    const { location } = await authorizationCode(server, native, { resource: write(server.mcpUrl) });
    single(location, "code");
  });

  it("accepts a scope request for supported scopes, offline_access included", async () => {
    const { location } = await authorizationCode(server, native, { scope: "mcp:read mcp:write offline_access" });
    single(location, "code");
  });
});

describe("/authorize without a usable client: an error page, never a redirect", () => {
  it("missing client_id", async () => {
    const params = authorizationParams(server, native, pkcePair(), { client_id: undefined });
    const page = await expectErrorPage(await authorizeRequest(server, params));
    expect(page).toContain("client_id");
  });

  it("empty client_id", async () => {
    await expectErrorPage(await authorizeRequest(server, authorizationParams(server, native, pkcePair(), { client_id: "" })));
  });

  it("unknown client_id, with a Link to the registration endpoint", async () => {
    const response = await authorizeRequest(server, authorizationParams(server, native, pkcePair(), { client_id: "no-such-client" }));
    expect(response.headers.get("link")).toBe(`<${server.baseUrl}/register>; rel="registration"`);
    const page = await expectErrorPage(response);
    expect(page).toContain("not registered");
  });

  it("does not echo an unknown client_id into the page", async () => {
    const response = await authorizeRequest(server, authorizationParams(server, native, pkcePair(), { client_id: "<script>alert(1)</script>" }));
    const page = await expectErrorPage(response);
    expect(page).not.toContain("<script>");
  });

  it("a client pre-registered in code with a redirect URI that already carries state: a page, not a 500", async () => {
    const client: OAuthClientInformation = { client_id: "bad-redirect", redirect_uris: ["https://app.example.com/cb?state=fixed"], token_endpoint_auth_method: "none" };
    server.provider.clients.set(client.client_id, client);
    const response = await authorizeRequest(server, authorizationParams(server, client, pkcePair()));
    await expectErrorPage(response);
    expect(server.errors).toEqual([]);
  });

  it("unknown client_id on POST", async () => {
    await expectErrorPage(await authorizeRequest(server, authorizationParams(server, native, pkcePair(), { client_id: "no-such-client" }), "POST"));
  });

  it("POST with a body that is not a form", async () => {
    const response = await fetch(server.url("/authorize"), {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(authorizationParams(server, native, pkcePair())),
    });
    await expectErrorPage(response);
  });

  it("POST with an oversized form", async () => {
    const params = authorizationParams(server, native, pkcePair(), { state: "x".repeat(20_000) });
    await expectErrorPage(await authorizeRequest(server, params, "POST"));
  });

  it.each([
    ["client_id", (q: string, client: RegisteredClient) => `${q}&client_id=${client.client_id}`],
    ["redirect_uri", (q: string, client: RegisteredClient) => `${q}&redirect_uri=${encodeURIComponent(client.redirect_uris[0]!)}`],
    ["state", (q: string) => `${q}&state=other`],
  ])("repeated %s (which one to trust is what parameter pollution plays on)", async (_name, repeat) => {
    const query = encodeParams(authorizationParams(server, web, pkcePair()));
    await expectErrorPage(await authorizeRequest(server, repeat(query, web)));
  });
});

describe("/authorize with a redirect_uri the client did not register: an error page, never a redirect", () => {
  it.each([
    ["another host", "https://evil.example.com/callback"],
    ["a host that extends the registered one", "https://app.example.com.evil.com/callback"],
    ["another path", "https://app.example.com/other"],
    ["a longer path", "https://app.example.com/callback/more"],
    ["a trailing slash", "https://app.example.com/callback/"],
    ["an extra query", "https://app.example.com/callback?x=1"],
    ["an open redirect through the query", "https://app.example.com/callback?next=https://evil.example.com"],
    ["a fragment", "https://app.example.com/callback#frag"],
    ["an empty fragment", "https://app.example.com/callback#"],
    ["userinfo", "https://user@app.example.com/callback"],
    ["the registered host as userinfo", "https://app.example.com@evil.example.com/callback"],
    ["a dot segment", "https://app.example.com/x/../callback"],
    ["a single-dot segment", "https://app.example.com/./callback"],
    ["a percent-encoded dot segment", "https://app.example.com/x/%2e%2e/callback"],
    ["an upper-case host", "https://APP.example.com/callback"],
    ["an upper-case path", "https://app.example.com/Callback"],
    ["an upper-case scheme", "HTTPS://app.example.com/callback"],
    ["an explicit default port", "https://app.example.com:443/callback"],
    ["another port", "https://app.example.com:8443/callback"],
    ["http instead of https", "http://app.example.com/callback"],
    ["a percent-encoded path", "https://app.example.com/%63allback"],
    ["a javascript: URI", "javascript:alert(document.domain)//https://app.example.com/callback"],
    ["a data: URI", "data:text/html,<script>alert(1)</script>"],
    ["a file: URI", "file:///etc/passwd"],
    ["a scheme-relative URI", "//evil.example.com/callback"],
    ["a relative URI", "/callback"],
    ["an empty redirect_uri", ""],
    ["whitespace around it", " https://app.example.com/callback"],
    ["HTML in it", "https://app.example.com/callback?<script>alert(1)</script>"],
  ])("%s", async (_name, redirectUri) => {
    const response = await authorizeRequest(server, authorizationParams(server, web, pkcePair(), { redirect_uri: redirectUri }));
    const page = await expectErrorPage(response);
    expect(page).not.toContain("<script>");
    expect(page).toContain("redirect_uri");
  });

  it("another client's redirect URI", async () => {
    const response = await authorizeRequest(server, authorizationParams(server, web, pkcePair(), { redirect_uri: REDIRECT_URI }));
    await expectErrorPage(response);
  });

  it("refuses errors to unregistered URIs too: a bad request with a bad redirect_uri is still a page", async () => {
    const response = await authorizeRequest(server, authorizationParams(server, web, pkcePair(), { redirect_uri: "https://evil.example.com/cb", response_type: "token" }));
    await expectErrorPage(response);
  });
});

describe("/authorize with loopback redirect URIs (RFC 8252 §7.3)", () => {
  it("matches a registered loopback URI on any port", async () => {
    const requested = REDIRECT_URI.replace(":47913", ":51515");
    const authorization = await authorizationCode(server, native, { redirect_uri: requested });
    expect(`${authorization.location.origin}${authorization.location.pathname}`).toBe(requested);
    // The token request repeats the port-changed URI.
    await expectTokens(await tokenRequest(server, codeForm(native, authorization)));
  });

  it("matches a registered loopback URI without a port when a port is given", async () => {
    const client = await registerClient(server, { redirect_uris: ["http://localhost/cb"] });
    const { location } = await authorizationCode(server, client, { redirect_uri: "http://localhost:60123/cb" });
    expect(location.origin).toBe("http://localhost:60123");
  });

  it.each([
    ["localhost for 127.0.0.1", "http://localhost:47913/callback"],
    ["[::1] for 127.0.0.1", "http://[::1]:47913/callback"],
    ["another loopback address", "http://127.0.0.2:47913/callback"],
    ["another path", "http://127.0.0.1:51515/other"],
    ["an extra query", "http://127.0.0.1:51515/callback?x=1"],
    ["https for http", "https://127.0.0.1:47913/callback"],
    ["userinfo", "http://u@127.0.0.1:51515/callback"],
  ])("does not match %s", async (_name, redirectUri) => {
    await expectErrorPage(await authorizeRequest(server, authorizationParams(server, native, pkcePair(), { redirect_uri: redirectUri })));
  });

  it("does not vary the port of a registered non-loopback https URI", async () => {
    await expectErrorPage(await authorizeRequest(server, authorizationParams(server, web, pkcePair(), { redirect_uri: "https://app.example.com:4443/callback" })));
  });
});

describe("/authorize without redirect_uri", () => {
  it("uses the only registered URI", async () => {
    const response = await authorizeRequest(server, authorizationParams(server, web, pkcePair(), { redirect_uri: undefined, state: "one" }));
    const location = redirectLocation(response);
    expect(`${location.origin}${location.pathname}`).toBe(HTTPS_REDIRECT);
    single(location, "code");
    expect(single(location, "state")).toBe("one");
  });

  it("shows a page when the client registered several", async () => {
    const client = await registerClient(server, { redirect_uris: [HTTPS_REDIRECT, REDIRECT_URI] });
    const page = await expectErrorPage(await authorizeRequest(server, authorizationParams(server, client, pkcePair(), { redirect_uri: undefined })));
    expect(page).toContain("redirect_uri");
  });

  it("picks the named one when the client registered several", async () => {
    const client = await registerClient(server, { redirect_uris: [HTTPS_REDIRECT, REDIRECT_URI] });
    const { location } = await authorizationCode(server, client, { redirect_uri: REDIRECT_URI });
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  });
});

describe("/authorize errors sent back to the validated redirect URI, with state and exactly one iss", () => {
  it.each<[string, Record<string, string | undefined>, string]>([
    ["an unsupported response_type (token)", { response_type: "token" }, "unsupported_response_type"],
    ["an unsupported response_type (code id_token)", { response_type: "code id_token" }, "unsupported_response_type"],
    ["a missing response_type", { response_type: undefined }, "invalid_request"],
    ["a missing code_challenge", { code_challenge: undefined }, "invalid_request"],
    ["a missing code_challenge_method (plain by default: refused)", { code_challenge_method: undefined }, "invalid_request"],
    ["code_challenge_method=plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["code_challenge_method=plain with a verifier-shaped challenge", { code_challenge_method: "plain", code_challenge: "a".repeat(64) }, "invalid_request"],
    ["code_challenge_method=s256 (case matters)", { code_challenge_method: "s256" }, "invalid_request"],
    ["an unknown code_challenge_method", { code_challenge_method: "S512" }, "invalid_request"],
    ["a challenge that is too short", { code_challenge: "a".repeat(42) }, "invalid_request"],
    ["a challenge that is too long", { code_challenge: "a".repeat(44) }, "invalid_request"],
    ["a challenge with padding", { code_challenge: `${"a".repeat(42)}=` }, "invalid_request"],
    ["a challenge in base64, not base64url", { code_challenge: `${"a".repeat(41)}+/` }, "invalid_request"],
    ["an unknown scope", { scope: "mcp:read root" }, "invalid_scope"],
    ["a malformed scope", { scope: "mcp:read \"quoted\"" }, "invalid_scope"],
    ["a foreign resource", { resource: "https://other.example.com/mcp" }, "invalid_target"],
    ["this origin without the MCP path", { resource: "__BASE__" }, "invalid_target"],
    ["this origin, another path", { resource: "__BASE__/other" }, "invalid_target"],
    ["this server's resource with a query", { resource: "__MCP__?x=1" }, "invalid_target"],
    ["this server's resource with a fragment", { resource: "__MCP__#f" }, "invalid_target"],
    ["a relative resource", { resource: "/mcp" }, "invalid_target"],
  ])("%s", async (_name, overrides, error) => {
    const resolved = Object.fromEntries(Object.entries(overrides).map(([key, value]) => [key, value?.replace("__MCP__", server.mcpUrl).replace("__BASE__", server.baseUrl)]));
    const params = authorizationParams(server, web, pkcePair(), resolved);
    const location = expectRedirectedError(await authorizeRequest(server, params), HTTPS_REDIRECT, error, params.state, server.baseUrl);
    expect(single(location, "error_description").length).toBeGreaterThan(0);
  });

  it.each(["response_type", "code_challenge", "code_challenge_method", "scope", "resource"])("a repeated %s: invalid_request", async (name) => {
    const params = authorizationParams(server, web, pkcePair(), { scope: "mcp:read" });
    const query = `${encodeParams(params)}&${name}=${encodeURIComponent(params[name]!)}`;
    expectRedirectedError(await authorizeRequest(server, query), HTTPS_REDIRECT, "invalid_request", params.state, server.baseUrl);
  });

  it("a repeated parameter in a POST form: invalid_request", async () => {
    const params = authorizationParams(server, web, pkcePair());
    const form = `${encodeParams(params)}&code_challenge_method=plain`;
    expectRedirectedError(await authorizeRequest(server, form, "POST"), HTTPS_REDIRECT, "invalid_request", params.state, server.baseUrl);
  });

  it("an error without state carries iss and no state", async () => {
    const params = authorizationParams(server, web, pkcePair(), { state: undefined, code_challenge_method: "plain" });
    expectRedirectedError(await authorizeRequest(server, params), HTTPS_REDIRECT, "invalid_request", undefined, server.baseUrl);
  });

  it("an error on POST goes back the same way", async () => {
    const params = authorizationParams(server, web, pkcePair(), { code_challenge: undefined });
    expectRedirectedError(await authorizeRequest(server, params, "POST"), HTTPS_REDIRECT, "invalid_request", params.state, server.baseUrl);
  });

  it("an error keeps the registered URI's own query", async () => {
    const registered = "https://app.example.com/cb?tenant=t1";
    const client = await registerClient(server, { redirect_uris: [registered] });
    const params = authorizationParams(server, client, pkcePair(), { response_type: "token" });
    const response = await authorizeRequest(server, params);
    expect(response.headers.get("location")!.startsWith(`${registered}&error=unsupported_response_type`)).toBe(true);
    const location = expectRedirectedError(response, registered, "unsupported_response_type", params.state, server.baseUrl);
    expect(single(location, "tenant")).toBe("t1");
  });

  it("a client that did not register the authorization_code grant: unauthorized_client", async () => {
    const client: OAuthClientInformation = { client_id: "refresh-only", redirect_uris: [HTTPS_REDIRECT], token_endpoint_auth_method: "none", grant_types: ["refresh_token"] };
    server.provider.clients.set(client.client_id, client);
    const params = authorizationParams(server, client, pkcePair());
    expectRedirectedError(await authorizeRequest(server, params), HTTPS_REDIRECT, "unauthorized_client", params.state, server.baseUrl);
  });
});

describe("/authorize on a server whose MCP endpoint is not at /mcp", () => {
  let custom: AuthServer<InMemoryOAuthProvider>;
  let client: RegisteredClient;
  beforeAll(async () => {
    custom = await startAuthServer((baseUrl, onError) => new InMemoryOAuthProvider({ ...DEFAULT_OPTIONS, baseUrl, onError }), { path: "/api/v2/mcp" });
    client = await registerClient(custom);
  });
  afterAll(() => custom.close());

  it("binds tokens to the endpoint's real URL", async () => {
    expect(custom.mcpUrl).toBe(`${custom.baseUrl}/api/v2/mcp`);
    const authorization = await authorizationCode(custom, client, { resource: custom.mcpUrl });
    const tokens = await expectTokens(await tokenRequest(custom, codeForm(client, authorization)));
    expect(await mcpStatus(custom, tokens.access_token)).toBe(200);
  });

  it("refuses the default /mcp path as resource with invalid_target", async () => {
    const params = authorizationParams(custom, client, pkcePair(), { resource: `${custom.baseUrl}/mcp` });
    expectRedirectedError(await authorizeRequest(custom, params), REDIRECT_URI, "invalid_target", params.state, custom.baseUrl);
  });
});

/** InMemory, except that `authorize` does what the test says. */
class RefusingProvider extends InMemoryOAuthProvider {
  refusal: () => never = () => {
    throw new OAuthError("access_denied", "The user said no");
  };
  override async authorize(_client: OAuthClientInformation, _params: AuthorizationParams): Promise<string> {
    this.refusal();
  }
}

describe("/authorize when the provider refuses or fails", () => {
  let refusing: AuthServer<RefusingProvider>;
  let client: RegisteredClient;
  beforeAll(async () => {
    refusing = await startAuthServer((baseUrl, onError) => new RefusingProvider({ ...DEFAULT_OPTIONS, baseUrl, onError }));
    client = await registerClient(refusing, { redirect_uris: [HTTPS_REDIRECT] });
  });
  afterAll(() => refusing.close());

  it("sends the provider's OAuthError back with state and iss", async () => {
    const params = authorizationParams(refusing, client, pkcePair());
    const location = expectRedirectedError(await authorizeRequest(refusing, params), HTTPS_REDIRECT, "access_denied", params.state, refusing.baseUrl);
    expect(single(location, "error_description")).toBe("The user said no");
    expect(refusing.errors).toEqual([]);
  });

  it("answers server_error for an unexpected failure, reports it, and leaks nothing of it", async () => {
    refusing.provider.refusal = () => {
      throw new Error("database password is hunter2");
    };
    const params = authorizationParams(refusing, client, pkcePair());
    const response = await authorizeRequest(refusing, params);
    const location = expectRedirectedError(response, HTTPS_REDIRECT, "server_error", params.state, refusing.baseUrl);
    expect(location.href).not.toContain("hunter2");
    expect(refusing.errors).toHaveLength(1);
    expect(String(refusing.errors[0])).toContain("hunter2");
  });
});

describe("/authorize for a client identified by its Client ID Metadata Document", () => {
  let documents: DocumentServer;
  let cimd: AuthServer<InMemoryOAuthProvider>;
  let clientId: string;
  beforeAll(async () => {
    documents = await DocumentServer.start(undefined);
    clientId = documents.url("/oauth/client.json");
    documents.reply = (request) =>
      request.path === "/oauth/client.json"
        ? { body: { client_id: clientId, client_name: "Document client", redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "refresh_token"] } }
        : { status: 404 };
    cimd = await startInMemory({ clientMetadataDocuments: { allowHttp: true, allowPrivateAddresses: true } });
  });
  afterAll(async () => {
    await cimd.close();
    await documents.close();
  });

  it("authorizes, redeems the code as a public client, and the token works at the MCP endpoint", async () => {
    const client = { client_id: clientId, redirect_uris: [REDIRECT_URI] };
    const authorization = await authorizationCode(cimd, client);
    expect(documents.count("/oauth/client.json")).toBeGreaterThanOrEqual(1);
    const tokens = await expectTokens(await tokenRequest(cimd, codeForm(client, authorization)));
    expect(tokens.refresh_token).toBeTruthy();
    expect(await mcpStatus(cimd, tokens.access_token)).toBe(200);
    expect(cimd.errors).toEqual([]);
  });

  it("shows a page for a redirect_uri the document does not list", async () => {
    const params = authorizationParams(cimd, { client_id: clientId, redirect_uris: [REDIRECT_URI] }, pkcePair(), { redirect_uri: "http://127.0.0.1:47913/elsewhere" });
    await expectErrorPage(await authorizeRequest(cimd, params));
  });

  it("shows the unknown-client page when the document cannot be fetched", async () => {
    const params = authorizationParams(cimd, { client_id: documents.url("/oauth/missing.json"), redirect_uris: [REDIRECT_URI] }, pkcePair());
    await expectErrorPage(await authorizeRequest(cimd, params));
    expect(cimd.errors.length).toBeGreaterThan(0);
    cimd.errors.length = 0;
  });
});
