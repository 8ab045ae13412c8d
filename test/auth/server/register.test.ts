/**
 * `/register` (RFC 7591) over real HTTP: the 201 response for public and confidential clients,
 * defaults, every kind of refused metadata, body limits, and the per-address rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InMemoryOAuthProvider } from "fastmcp-ts/auth";
import {
  authorizationCode,
  codeForm,
  expectNoStore,
  expectOAuthError,
  expectTokens,
  postRegister,
  REDIRECT_URI,
  registerClient,
  startInMemory,
  tokenRequest,
  type AuthServer,
  type RegisteredClient,
} from "./helpers.js";

let server: AuthServer<InMemoryOAuthProvider>;
beforeAll(async () => {
  server = await startInMemory();
});
afterAll(() => server.close());

async function register(body: unknown): Promise<{ response: Response; body: Record<string, unknown> }> {
  const response = await postRegister(server, body);
  return { response, body: (await response.json()) as Record<string, unknown> };
}

describe("/register: success", () => {
  it("registers a public client: 201, its metadata, a client_id, no secret", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { response, body } = await register({
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      client_name: "Claude Code",
      scope: "mcp:read mcp:write",
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expectNoStore(response);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(body).toEqual({
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_id_issued_at: expect.any(Number),
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      client_name: "Claude Code",
      scope: "mcp:read mcp:write",
      application_type: "native",
    });
    expect(body.client_id_issued_at as number).toBeGreaterThanOrEqual(before);
    expect(body.client_id_issued_at as number).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
  });

  it("registers a confidential client (client_secret_basic by default): the secret, which never expires", async () => {
    const { response, body } = await register({ redirect_uris: ["https://app.example.com/cb"], application_type: "web" });
    expect(response.status).toBe(201);
    expect(body).toMatchObject({
      client_id: expect.any(String),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_secret_expires_at: 0,
      token_endpoint_auth_method: "client_secret_basic",
      application_type: "web",
    });
  });

  it("registers a client_secret_post client with a secret", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "client_secret_post" });
    expect(response.status).toBe(201);
    expect(body.token_endpoint_auth_method).toBe("client_secret_post");
    expect(typeof body.client_secret).toBe("string");
  });

  it("fills in the defaults for a minimal request", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI] });
    expect(response.status).toBe(201);
    expect(body).toMatchObject({
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      application_type: "native",
    });
    expect(body).not.toHaveProperty("scope");
  });

  it("gives a client that names no scope the configured default scopes", async () => {
    await using scoped = await startInMemory({ clientRegistration: { validScopes: ["mcp:read", "mcp:write"], defaultScopes: ["mcp:read"], rateLimit: false } });
    const response = await postRegister(scoped, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" });
    expect(response.status).toBe(201);
    expect(((await response.json()) as Record<string, unknown>).scope).toBe("mcp:read");
  });

  it("normalises a public client: a secret it sends is ignored and none is issued", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none", client_secret: "chosen-by-the-client", client_secret_expires_at: 1 });
    expect(response.status).toBe(201);
    expect(body).not.toHaveProperty("client_secret");
    expect(body).not.toHaveProperty("client_secret_expires_at");
    const stored = server.provider.clients.get(body.client_id as string)!;
    expect(stored.client_secret).toBeUndefined();
    expect(stored.client_secret_hash).toBeUndefined();
  });

  it("ignores a client_id, unknown fields, and server-managed fields the request carries", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI], client_id: "i-choose-my-id", client_id_issued_at: 1, metadata_document: true, extra: "field" });
    expect(response.status).toBe(201);
    expect(body.client_id).not.toBe("i-choose-my-id");
    expect(body).not.toHaveProperty("extra");
    expect(body).not.toHaveProperty("metadata_document");
    expect(body.client_id_issued_at).not.toBe(1);
  });

  it("accepts offline_access and deduplicates scopes", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI], scope: "mcp:read offline_access mcp:read" });
    expect(response.status).toBe(201);
    expect(body.scope).toBe("mcp:read offline_access");
  });

  it("treats null as absent, as JSON clients send it", async () => {
    const { response, body } = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none", client_uri: null, scope: null, grant_types: null });
    expect(response.status).toBe(201);
    expect(body.grant_types).toEqual(["authorization_code"]);
  });

  it.each([
    ["https", "https://app.example.com/callback"],
    ["loopback http with a port", "http://127.0.0.1:33418/callback"],
    ["http localhost", "http://localhost/callback"],
    ["http [::1]", "http://[::1]:8080/callback"],
    ["a private-use scheme", "com.example.app:/oauth2redirect"],
    ["a custom scheme with a host", "cursor://anysphere.cursor-retrieval/oauth/callback"],
  ])("accepts a redirect URI: %s", async (_name, uri) => {
    const { response, body } = await register({ redirect_uris: [uri] });
    expect(response.status).toBe(201);
    expect(body.redirect_uris).toEqual([uri]);
  });
});

describe("/register: the secret is shown once", () => {
  let client: RegisteredClient;
  beforeAll(async () => {
    client = await registerClient(server, { token_endpoint_auth_method: "client_secret_post" });
  });

  it("stores only a hash of the secret", () => {
    const stored = server.provider.clients.get(client.client_id)!;
    expect(stored.client_secret).toBeUndefined();
    expect(stored.client_secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(client.client_secret!);
  });

  it("has no endpoint that reads a registration back", async () => {
    for (const url of [server.url("/register"), server.url(`/register/${client.client_id}`)]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(404);
      expect(await response.text()).not.toContain(client.client_secret!);
    }
  });

  it("never puts it in an authorization redirect or token response", async () => {
    const authorization = await authorizationCode(server, client);
    expect(authorization.location.href).not.toContain(client.client_secret!);
    const response = await tokenRequest(server, codeForm(client, authorization, { client_secret: client.client_secret }));
    const text = await response.clone().text();
    await expectTokens(response);
    expect(text).not.toContain(client.client_secret!);
  });

  it("gives every registration its own id and secret", async () => {
    const again = await registerClient(server, { token_endpoint_auth_method: "client_secret_post" });
    expect(again.client_id).not.toBe(client.client_id);
    expect(again.client_secret).not.toBe(client.client_secret);
  });
});

describe("/register: refused metadata (400 invalid_client_metadata)", () => {
  it.each<[string, Record<string, unknown>]>([
    ["no redirect_uris", { redirect_uris: undefined, client_name: "x" }],
    ["an empty redirect_uris", { redirect_uris: [] }],
    ["redirect_uris as a string", { redirect_uris: REDIRECT_URI }],
    ["a redirect URI that is not a string", { redirect_uris: [42] }],
    ["more than 20 redirect URIs", { redirect_uris: Array.from({ length: 21 }, (_, i) => `http://127.0.0.1/cb${i}`) }],
    ["a redirect URI over 2000 characters", { redirect_uris: [`https://app.example.com/${"a".repeat(2000)}`] }],
    ["token_endpoint_auth_method private_key_jwt", { token_endpoint_auth_method: "private_key_jwt" }],
    ["token_endpoint_auth_method client_secret_jwt", { token_endpoint_auth_method: "client_secret_jwt" }],
    ["token_endpoint_auth_method as a number", { token_endpoint_auth_method: 1 }],
    ["the implicit grant", { grant_types: ["authorization_code", "implicit"] }],
    ["the password grant", { grant_types: ["password"] }],
    ["the client_credentials grant", { grant_types: ["authorization_code", "client_credentials"] }],
    ["grant_types without authorization_code", { grant_types: ["refresh_token"] }],
    ["response_types token", { response_types: ["token"] }],
    ["response_types without code", { response_types: [] }],
    ["an unknown scope", { scope: "mcp:read root" }],
    ["a scope with a quote", { scope: 'mcp:read "x"' }],
    ["a scope that is not a string", { scope: ["mcp:read"] }],
    ["a client_name with a line break", { client_name: "Good app\nApproved by admin" }],
    ["a client_name over 200 characters", { client_name: "n".repeat(201) }],
    ["a javascript: client_uri", { client_uri: "javascript:alert(1)" }],
    ["an http logo_uri to a public host", { logo_uri: "http://cdn.example.com/logo.png" }],
    ["a tos_uri with credentials", { tos_uri: "https://user:pass@example.com/tos" }],
    ["contacts that are not an array", { contacts: "admin@example.com" }],
    ["an unknown application_type", { application_type: "desktop" }],
  ])("%s", async (_name, metadata) => {
    const response = await postRegister(server, { redirect_uris: [REDIRECT_URI], ...metadata });
    await expectOAuthError(response, 400, "invalid_client_metadata");
  });
});

describe("/register: refused redirect URIs (400 invalid_redirect_uri)", () => {
  it.each([
    ["javascript:", "javascript:alert(document.cookie)"],
    ["javascript: in upper case", "JAVASCRIPT:alert(1)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["file:", "file:///etc/passwd"],
    ["vbscript:", "vbscript:msgbox(1)"],
    ["http to a public host", "http://app.example.com/callback"],
    ["http to a host that only starts like localhost", "http://localhost.evil.com/callback"],
    ["a fragment", "https://app.example.com/callback#frag"],
    ["userinfo", "https://user@app.example.com/callback"],
    ["userinfo hiding the real host", "https://app.example.com@evil.example.com/callback"],
    ["dot segments", "https://app.example.com/a/../callback"],
    ["a relative URI", "/callback"],
    ["no scheme", "app.example.com/callback"],
    ["an https URI without a host", "https:///callback"],
    ["whitespace", "https://app.example.com/call back"],
    ["a state already in the query", "https://app.example.com/callback?state=fixed"],
    ["an iss already in the query", "https://app.example.com/callback?iss=https://evil.example.com"],
    ["a non-canonical host", "http://127.1/callback"],
  ])("%s", async (_name, uri) => {
    const response = await postRegister(server, { redirect_uris: ["https://app.example.com/ok", uri] });
    const body = await expectOAuthError(response, 400, "invalid_redirect_uri");
    expect(body.error_description).toContain("redirect_uris[1]");
  });

  it("a loopback URI for a web application (SEP-837)", async () => {
    await expectOAuthError(await postRegister(server, { redirect_uris: [REDIRECT_URI], application_type: "web" }), 400, "invalid_redirect_uri");
  });

  it("a private-use scheme for a web application (SEP-837)", async () => {
    await expectOAuthError(await postRegister(server, { redirect_uris: ["com.example.app:/cb"], application_type: "web" }), 400, "invalid_redirect_uri");
  });
});

describe("/register: the request body", () => {
  it("refuses a form body", async () => {
    const response = await postRegister(server, `redirect_uris=${encodeURIComponent(REDIRECT_URI)}`, { "content-type": "application/x-www-form-urlencoded" });
    await expectOAuthError(response, 400, "invalid_client_metadata");
  });

  it("refuses a body without a content type", async () => {
    const response = await fetch(server.url("/register"), { method: "POST", body: new Blob([JSON.stringify({ redirect_uris: [REDIRECT_URI] })]) });
    await expectOAuthError(response, 400, "invalid_client_metadata");
  });

  it("accepts application/json with a charset", async () => {
    const response = await postRegister(server, { redirect_uris: [REDIRECT_URI] }, { "content-type": "application/json; charset=utf-8" });
    expect(response.status).toBe(201);
    await response.arrayBuffer();
  });

  it("refuses malformed JSON", async () => {
    await expectOAuthError(await postRegister(server, '{"redirect_uris": ["http://127.0.0.1/cb"'), 400, "invalid_client_metadata");
  });

  it("refuses an empty body", async () => {
    await expectOAuthError(await postRegister(server, ""), 400, "invalid_client_metadata");
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"redirect_uris"'],
    ["a number", "42"],
    ["null", "null"],
    ["true", "true"],
  ])("refuses JSON that is %s, not an object", async (_name, text) => {
    await expectOAuthError(await postRegister(server, text), 400, "invalid_client_metadata");
  });

  it("refuses an oversized body with 413", async () => {
    const response = await postRegister(server, { redirect_uris: [REDIRECT_URI], client_name: "x", padding: "p".repeat(20_000) });
    await expectOAuthError(response, 413, "invalid_client_metadata");
  });

  it("answers a CORS preflight", async () => {
    const response = await fetch(server.url("/register"), {
      method: "OPTIONS",
      headers: { origin: "https://inspector.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")).toContain("content-type");
  });
});

describe("/register: registration policy", () => {
  it("refuses an authentication method the server does not allow", async () => {
    await using publicOnly = await startInMemory({ clientRegistration: { allowedAuthMethods: ["none"], rateLimit: false } });
    await expectOAuthError(await postRegister(publicOnly, { redirect_uris: [REDIRECT_URI] }), 400, "invalid_client_metadata");
    const ok = await postRegister(publicOnly, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" });
    expect(ok.status).toBe(201);
    await ok.arrayBuffer();
  });

  it("registers a client that then completes a flow with its secret", async () => {
    const client = await registerClient(server, { token_endpoint_auth_method: "client_secret_post" });
    const authorization = await authorizationCode(server, client);
    await expectTokens(await tokenRequest(server, codeForm(client, authorization, { client_secret: client.client_secret })));
  });
});

describe("/register: rate limit per client address", () => {
  it("answers 429 with Retry-After once the address used its registrations", async () => {
    await using limited = await startInMemory({ clientRegistration: { validScopes: ["mcp:read"], rateLimit: { requests: 2, windowSeconds: 60 } } });
    for (let i = 0; i < 2; i++) {
      const ok = await postRegister(limited, { redirect_uris: [REDIRECT_URI] });
      expect(ok.status).toBe(201);
      await ok.arrayBuffer();
    }
    const refused = await postRegister(limited, { redirect_uris: [REDIRECT_URI] });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    expectNoStore(refused);
    expect(((await refused.json()) as { error: string }).error).toBeTruthy();
    expect(limited.provider.clients.size).toBe(2);
  });

  it("counts refused registrations too", async () => {
    await using limited = await startInMemory({ clientRegistration: { rateLimit: { requests: 1, windowSeconds: 60 } } });
    const bad = await postRegister(limited, { redirect_uris: ["javascript:alert(1)"] });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    const next = await postRegister(limited, { redirect_uris: [REDIRECT_URI] });
    expect(next.status).toBe(429);
    await next.arrayBuffer();
  });

  it("ignores X-Forwarded-For unless told to trust it", async () => {
    await using limited = await startInMemory({ clientRegistration: { rateLimit: { requests: 1, windowSeconds: 60 } } });
    const first = await postRegister(limited, { redirect_uris: [REDIRECT_URI] }, { "x-forwarded-for": "203.0.113.1" });
    expect(first.status).toBe(201);
    await first.arrayBuffer();
    const spoofed = await postRegister(limited, { redirect_uris: [REDIRECT_URI] }, { "x-forwarded-for": "203.0.113.2" });
    expect(spoofed.status).toBe(429);
    await spoofed.arrayBuffer();
  });

  it("counts per forwarded address behind a trusted proxy (the last hop)", async () => {
    await using proxied = await startInMemory({ trustProxyHeaders: true, clientRegistration: { rateLimit: { requests: 1, windowSeconds: 60 } } });
    const status = async (forwardedFor: string) => {
      const response = await postRegister(proxied, { redirect_uris: [REDIRECT_URI] }, { "x-forwarded-for": forwardedFor });
      await response.arrayBuffer();
      return response.status;
    };
    expect(await status("203.0.113.1")).toBe(201);
    expect(await status("203.0.113.2")).toBe(201);
    expect(await status("203.0.113.1")).toBe(429);
    // Only the last hop counts: what the client wrote before it is not believed.
    expect(await status("198.51.100.7, 203.0.113.2")).toBe(429);
  });
});
