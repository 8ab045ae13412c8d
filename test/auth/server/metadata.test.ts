/**
 * RFC 8414 authorization server metadata and RFC 9728 protected resource metadata as the
 * OAuthProvider serves them, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InMemoryOAuthProvider } from "fastmcp-ts/auth";
import { authorizationCode, postRegister, registerClient, startInMemory, type AuthServer } from "./helpers.js";

async function getJson(url: string, init: RequestInit = {}): Promise<{ response: Response; body: Record<string, unknown> }> {
  const response = await fetch(url, { redirect: "manual", ...init });
  expect(response.status, url).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return { response, body: (await response.json()) as Record<string, unknown> };
}

describe("authorization server metadata, issuer = baseUrl", () => {
  let server: AuthServer<InMemoryOAuthProvider>;
  beforeAll(async () => {
    server = await startInMemory({ serviceDocumentationUrl: "https://docs.example.com/mcp" });
  });
  afterAll(() => server.close());

  it("publishes every field at /.well-known/oauth-authorization-server", async () => {
    const { body } = await getJson(server.url("/.well-known/oauth-authorization-server"));
    const base = server.baseUrl;
    expect(body).toEqual({
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      registration_endpoint: `${base}/register`,
      revocation_endpoint: `${base}/revoke`,
      revocation_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
      scopes_supported: ["mcp:read", "mcp:write", "admin", "offline_access"],
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
      service_documentation: "https://docs.example.com/mcp",
    });
  });

  it("serves the same document at the OIDC alias /.well-known/openid-configuration", async () => {
    const rfc8414 = await getJson(server.url("/.well-known/oauth-authorization-server"));
    const oidc = await getJson(server.url("/.well-known/openid-configuration"));
    expect(oidc.body).toEqual(rfc8414.body);
  });

  it("never advertises plain PKCE", async () => {
    const { body } = await getJson(server.url("/.well-known/openid-configuration"));
    expect(body.code_challenge_methods_supported).toEqual(["S256"]);
  });

  it("lets browsers read it: CORS on GET, and a 204 preflight", async () => {
    const { response } = await getJson(server.url("/.well-known/oauth-authorization-server"), { headers: { origin: "https://app.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const preflight = await fetch(server.url("/.well-known/oauth-authorization-server"), {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "mcp-protocol-version" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("GET");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("mcp-protocol-version");
  });

  it("lets browsers call the token, registration and revocation endpoints: a 204 preflight each", async () => {
    for (const path of ["/token", "/register", "/revoke"]) {
      const preflight = await fetch(server.url(path), { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
      expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
      expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    }
  });

  it("publishes protected resource metadata naming the issuer as authorization server (path-inserted and root)", async () => {
    const inserted = await getJson(server.url("/.well-known/oauth-protected-resource/mcp"));
    expect(inserted.body).toEqual({
      resource: server.mcpUrl,
      authorization_servers: [server.baseUrl],
      bearer_methods_supported: ["header"],
      scopes_supported: ["mcp:read", "mcp:write", "admin"],
    });
    const root = await getJson(server.url("/.well-known/oauth-protected-resource"));
    expect(root.body).toEqual(inserted.body);
  });

  it("points the MCP endpoint's 401 challenge at the protected resource metadata", async () => {
    const response = await fetch(server.mcpUrl, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain(`resource_metadata="${server.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
  });
});

describe("authorization server metadata, issuer with a path on the same origin", () => {
  let server: AuthServer<InMemoryOAuthProvider>;
  let issuer: string;
  beforeAll(async () => {
    server = await startInMemory((baseUrl) => ({ issuerUrl: `${baseUrl}/tenant1` }));
    issuer = server.provider.issuerUrl;
  });
  afterAll(() => server.close());

  it.each([
    ["RFC 8414 path insertion", "/.well-known/oauth-authorization-server/tenant1"],
    ["OIDC path insertion", "/.well-known/openid-configuration/tenant1"],
    ["OIDC path append", "/tenant1/.well-known/openid-configuration"],
    ["RFC 8414 at the root", "/.well-known/oauth-authorization-server"],
    ["OIDC at the root", "/.well-known/openid-configuration"],
  ])("serves it at the %s form", async (_name, path) => {
    const { body } = await getJson(server.url(path));
    expect(body.issuer).toBe(issuer);
  });

  it("keeps every endpoint on baseUrl while issuer is the issuerUrl", async () => {
    const { body } = await getJson(server.url("/.well-known/oauth-authorization-server/tenant1"));
    expect(issuer).toBe(`${server.baseUrl}/tenant1`);
    expect(body).toMatchObject({
      issuer,
      authorization_endpoint: `${server.baseUrl}/authorize`,
      token_endpoint: `${server.baseUrl}/token`,
      registration_endpoint: `${server.baseUrl}/register`,
      revocation_endpoint: `${server.baseUrl}/revoke`,
    });
  });

  it("does not serve the path-inserted forms of other paths", async () => {
    for (const path of ["/.well-known/oauth-authorization-server/tenant2", "/.well-known/openid-configuration/tenant2", "/tenant2/.well-known/openid-configuration"]) {
      const response = await fetch(server.url(path));
      expect(response.status, path).toBe(404);
      await response.arrayBuffer();
    }
  });

  it("names the issuer (not baseUrl) as the protected resource's authorization server", async () => {
    const { body } = await getJson(server.url("/.well-known/oauth-protected-resource/mcp"));
    expect(body.authorization_servers).toEqual([issuer]);
  });

  it("puts the issuer in the iss of authorization responses (RFC 9207)", async () => {
    const client = await registerClient(server);
    const { location } = await authorizationCode(server, client);
    expect(location.searchParams.getAll("iss")).toEqual([issuer]);
  });
});

describe("authorization server metadata, issuer on another origin", () => {
  let server: AuthServer<InMemoryOAuthProvider>;
  beforeAll(async () => {
    server = await startInMemory({ issuerUrl: "https://auth.example.com/tenant9" });
  });
  afterAll(() => server.close());

  it("serves the issuer's path-inserted forms on this server, endpoints on baseUrl", async () => {
    for (const path of ["/.well-known/oauth-authorization-server/tenant9", "/.well-known/openid-configuration/tenant9", "/tenant9/.well-known/openid-configuration"]) {
      const { body } = await getJson(server.url(path));
      expect(body.issuer).toBe("https://auth.example.com/tenant9");
      expect(body.authorization_endpoint).toBe(`${server.baseUrl}/authorize`);
      expect(body.token_endpoint).toBe(`${server.baseUrl}/token`);
    }
  });
});

describe("authorization server metadata without registration or revocation", () => {
  let server: AuthServer<InMemoryOAuthProvider>;
  beforeAll(async () => {
    server = await startInMemory({ clientRegistration: false, revocation: false, clientMetadataDocuments: false });
  });
  afterAll(() => server.close());

  it("advertises no registration_endpoint, revocation_endpoint or CIMD support", async () => {
    const { body } = await getJson(server.url("/.well-known/oauth-authorization-server"));
    expect(body).not.toHaveProperty("registration_endpoint");
    expect(body).not.toHaveProperty("revocation_endpoint");
    expect(body).not.toHaveProperty("revocation_endpoint_auth_methods_supported");
    expect(body).not.toHaveProperty("client_id_metadata_document_supported");
    expect(body.code_challenge_methods_supported).toEqual(["S256"]);
  });

  it("answers /register with 404", async () => {
    const response = await postRegister(server, { redirect_uris: ["http://127.0.0.1:1/cb"] });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it("answers /revoke with 404", async () => {
    const response = await fetch(server.url("/revoke"), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=x&client_id=y" });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it("lists no scopes when none are configured", async () => {
    await using bare = await startInMemory({ requiredScopes: [], clientRegistration: { rateLimit: false } });
    const { body } = await getJson(bare.url("/.well-known/oauth-authorization-server"));
    expect(body).not.toHaveProperty("scopes_supported");
  });
});
