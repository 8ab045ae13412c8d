import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import { FastMCP } from "fastmcp-ts";
import { JWTKeyPair, JWTVerifier, RemoteAuthProvider } from "fastmcp-ts/auth";
import { INITIALIZE, MCP_HEADERS, postRaw } from "../helpers/http.js";
import { freePort, ISSUER, remoteAuth, serve, tokenFor } from "./helpers.js";

let keys: JWTKeyPair;
let mcp: FastMCP;
beforeAll(() => { keys = JWTKeyPair.generate(); });
afterEach(async () => { await mcp?.close(); });

async function start(requiredScopes = ["mcp:read"], transport: "http" | "sse" = "http") {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  mcp = new FastMCP({ name: "challenged", auth: remoteAuth(keys, base, requiredScopes) });
  mcp.tool({ name: "echo", execute: () => "ok" });
  mcp.route("GET", "/health", (c) => c.text("up"));
  const { url } = await serve(mcp, port, { transport });
  return { base, url: url! };
}

describe("bearer challenges on Streamable HTTP", () => {
  it("answers a request without a token with 401, the metadata URL and the scopes, and no error code", async () => {
    const { base, url } = await start();
    const response = await postRaw(url, INITIALIZE);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(`Bearer scope="mcp:read", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBeUndefined();
  });

  it.each(["GET", "DELETE"])("protects %s on the MCP endpoint too", async (method) => {
    const { url } = await start();
    const response = await fetch(url, { method, headers: { accept: "text/event-stream" } });
    expect(response.status).toBe(401);
  });

  it("refuses an invalid token with 401 invalid_token and a JSON body", async () => {
    const { url } = await start();
    const response = await postRaw(url, INITIALIZE, { authorization: "Bearer not.a.jwt" });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", scope="mcp:read", resource_metadata="/);
    expect(await response.json()).toMatchObject({ error: "invalid_token", error_description: expect.any(String) });
  });

  it.each([
    ["expired", { expiresInSeconds: -60 }],
    ["for another server", { audience: "https://elsewhere.example/mcp" }],
    ["from another issuer", { issuer: "https://evil.example" }],
  ])("refuses a token %s", async (_case, override) => {
    const { base, url } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"], override);
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it("refuses a token signed by another key", async () => {
    const { base, url } = await start();
    const token = await tokenFor(JWTKeyPair.generate(), `${base}/mcp`, ["mcp:read"]);
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it("answers a token without the server's required scopes with 403 insufficient_scope", async () => {
    const { base, url } = await start(["mcp:read", "mcp:tools"]);
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    const response = await postRaw(url, INITIALIZE, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(403);
    const challenge = response.headers.get("www-authenticate")!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp:read mcp:tools"');
  });

  it("refuses a token in the query string and a non-Bearer scheme", async () => {
    const { base, url } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    const query = await postRaw(`${url}?access_token=${token}`, INITIALIZE);
    expect(query.status).toBe(401);
    expect(query.headers.get("www-authenticate")).toContain('error="invalid_request"');
    const basic = await postRaw(url, INITIALIZE, { authorization: `Basic ${Buffer.from("u:p").toString("base64")}` });
    expect(basic.status).toBe(401);
    expect(basic.headers.get("www-authenticate")).not.toContain("error=");
    const malformed = await postRaw(url, INITIALIZE, { authorization: "Bearer two tokens" });
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("accepts the scheme in any case", async () => {
    const { base, url } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    expect((await postRaw(url, INITIALIZE, { authorization: `bearer ${token}` })).status).toBe(200);
  });

  it("leaves custom routes and the metadata open", async () => {
    const { base } = await start();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).status).toBe(200);
  });

  it("protects the legacy SSE endpoints", async () => {
    const { base, url } = await start(["mcp:read"], "sse");
    const open = await fetch(url, { headers: { accept: "text/event-stream" } });
    expect(open.status).toBe(401);
    expect(open.headers.get("www-authenticate")).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/sse"`);
    const post = await fetch(`${base}/messages/?session_id=x`, { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(post.status).toBe(401);
  });
});

describe("protected resource metadata (RFC 9728)", () => {
  it("is served at the path-inserted and the root well-known URLs, with CORS", async () => {
    const { base } = await start(["mcp:read"]);
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(await response.json()).toEqual({
        resource: `${base}/mcp`,
        authorization_servers: [ISSUER],
        scopes_supported: ["mcp:read"],
        bearer_methods_supported: ["header"],
      });
    }
    const preflight = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`, { method: "OPTIONS", headers: { origin: "http://localhost:6274", "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("GET");
  });

  it("names the exact MCP URL, whatever trailing slashes the settings carry", async () => {
    const port = await freePort();
    mcp = new FastMCP({
      name: "slashes",
      auth: new RemoteAuthProvider({
        tokenVerifier: new JWTVerifier({ publicKey: keys.publicKey, audience: "x" }),
        authorizationServers: [`${ISSUER}/`],
        baseUrl: `http://127.0.0.1:${port}/`,
        resourceName: "Slashes",
        resourceDocumentation: "https://docs.example/mcp",
      }),
    });
    await serve(mcp, port, { path: "/mcp/" });
    const document = await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(document).toMatchObject({ resource: `http://127.0.0.1:${port}/mcp`, authorization_servers: [ISSUER], resource_name: "Slashes", resource_documentation: "https://docs.example/mcp" });
  });

  it("gets the resource right for a server mounted under a prefix", async () => {
    const auth = new RemoteAuthProvider({
      tokenVerifier: new JWTVerifier({ publicKey: keys.publicKey, audience: "x" }),
      authorizationServers: [ISSUER],
      baseUrl: "https://api.example.com",
      resourceBaseUrl: "https://api.example.com/tenant-a",
    });
    mcp = new FastMCP({ name: "mounted", auth });
    const outer = new Hono();
    outer.route("/tenant-a", mcp.httpApp());
    outer.route("/", mcp.wellKnownApp());
    const response = await outer.fetch(new Request("https://api.example.com/.well-known/oauth-protected-resource/tenant-a/mcp"));
    expect(await response.json()).toMatchObject({ resource: "https://api.example.com/tenant-a/mcp" });
    const challenge = await outer.fetch(new Request("https://api.example.com/tenant-a/mcp", { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) }));
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toContain('resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/tenant-a/mcp"');
  });

  it("is not served by a plain token verifier, whose challenge then carries no metadata URL", async () => {
    const port = await freePort();
    mcp = new FastMCP({ name: "plain", auth: new JWTVerifier({ publicKey: keys.publicKey, issuer: ISSUER, audience: "mcp-server" }) });
    const { url } = await serve(mcp, port);
    const response = await postRaw(url!, INITIALIZE);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    expect((await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)).status).toBe(404);
    const token = await keys.createToken({ issuer: ISSUER, audience: "mcp-server" });
    expect((await postRaw(url!, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
