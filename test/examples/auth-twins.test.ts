import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FastMCP } from "fastmcp-ts";
import { Client } from "fastmcp-ts/client";
import { freePort } from "../auth/helpers.js";
import { INITIALIZE, postRaw } from "../helpers/http.js";
import { KeyServer } from "../helpers/key-server.js";

/**
 * Every server snippet of the reference documents has a TypeScript twin in examples/auth; each
 * runs here against a loopback stand-in with its identity provider's URL layout and token shape.
 */
let idp: KeyServer;
let running: FastMCP | undefined;
const savedEnv = { ...process.env };

beforeAll(async () => {
  idp = await new KeyServer().start();
});
afterAll(() => idp.stop());
afterEach(async () => {
  await running?.close();
  running = undefined;
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
});

/** Imports an example after setting its environment, and serves it on `port`. */
async function launch(path: string, env: Record<string, string>, port: number): Promise<string> {
  Object.assign(process.env, env);
  const { mcp } = (await import(path)) as { mcp: FastMCP };
  running = mcp;
  const { url } = await mcp.run({ transport: "http", port, banner: false, handleSignals: false });
  return url!;
}

const text = (result: { content: unknown[] }) => JSON.parse((result.content[0] as { text: string }).text) as Record<string, unknown>;

describe("seed-auth-overview twins", () => {
  it("JWTVerifier: accepts tokens of the configured issuer and audience only", async () => {
    await idp.serveJwks("/.well-known/jwks.json");
    const port = await freePort();
    const url = await launch("../../examples/auth/jwt/server.js", { JWKS_URI: `${idp.origin}/.well-known/jwks.json`, ISSUER: idp.origin, AUDIENCE: "your-mcp-server" }, port);
    const token = await idp.keys.createToken({ issuer: idp.origin, audience: "your-mcp-server", subject: "ada", scopes: ["read"] });
    await using client = await new Client(url, { auth: token }).connect();
    expect(text(await client.callTool("whoami"))).toEqual({ subject: "ada", client: "ada", scopes: ["read"] });
    const foreign = await idp.keys.createToken({ issuer: idp.origin, audience: "another-server" });
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${foreign}` })).status).toBe(401);
  });

  it("AuthKitProvider: points clients at AuthKit and binds tokens to this server's URL", async () => {
    await idp.serveJwks("/oauth2/jwks");
    idp.serveMetadata("/.well-known/oauth-authorization-server", idp.origin, `${idp.origin}/oauth2/jwks`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const url = await launch("../../examples/auth/authkit/server.js", { AUTHKIT_DOMAIN: idp.origin, BASE_URL: base }, port);
    const challenge = await postRaw(url, INITIALIZE);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [idp.origin] });
    expect(await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()).toMatchObject({ issuer: idp.origin, registration_endpoint: `${idp.origin}/register` });
    const token = await idp.keys.createToken({ issuer: idp.origin, audience: `${base}/mcp`, subject: "user_01" });
    await using client = await new Client(url, { auth: token }).connect();
    expect(text(await client.callTool("whoami"))).toMatchObject({ user: "user_01" });
    const unbound = await idp.keys.createToken({ issuer: idp.origin, audience: "https://other.example/mcp" });
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${unbound}` })).status).toBe(401);
  });

  it("environment configuration: FASTMCP_SERVER_AUTH=JWT with no auth in the code", async () => {
    await idp.serveJwks("/jwks");
    const port = await freePort();
    const url = await launch("../../examples/auth/env/server.js", {
      FASTMCP_SERVER_AUTH: "JWT",
      FASTMCP_SERVER_AUTH_JWT_JWKS_URI: `${idp.origin}/jwks`,
      FASTMCP_SERVER_AUTH_JWT_ISSUER: idp.origin,
      FASTMCP_SERVER_AUTH_JWT_AUDIENCE: "mcp-server",
    }, port);
    expect((await postRaw(url, INITIALIZE)).status).toBe(401);
    const token = await idp.keys.createToken({ issuer: idp.origin, audience: "mcp-server", subject: "env-user" });
    await using client = await new Client(url, { auth: token }).connect();
    expect((await client.callTool("hello")).content).toEqual([{ type: "text", text: "Hello, env-user" }]);
  });
});

describe("seed-authgent-remote-auth twin", () => {
  it("discovers Authgent lazily, enforces per-tool scopes and exposes the claims", async () => {
    await idp.serveJwks("/jwks");
    idp.serveMetadata("/.well-known/oauth-authorization-server", idp.origin, `${idp.origin}/jwks`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const url = await launch("../../examples/auth/authgent/server.js", { AUTHGENT_ISSUER: idp.origin, MCP_AUDIENCE: base }, port);
    const mint = (scopes: string[]) => idp.keys.createToken({ issuer: idp.origin, audience: `${base}/mcp`, subject: "user-42", scopes, additionalClaims: { email: "u42@example.com", name: "User 42" } });

    await using reader = await new Client(url, { auth: await mint(["mcp:read"]) }).connect();
    expect((await reader.listTools()).map((tool) => tool.name).sort()).toEqual(["get_user_data", "list_projects", "whoami"]);
    expect(text(await reader.callTool("whoami"))).toMatchObject({ user_id: "user-42", email: "u42@example.com", scopes: ["mcp:read"], issuer: idp.origin, audience: `${base}/mcp` });

    const headers = { authorization: `Bearer ${await mint(["mcp:read"])}` };
    const init = await postRaw(url, INITIALIZE, headers);
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")! };
    const insufficient = await postRaw(url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "create_project", arguments: { name: "x", description: "y" } } }, session);
    expect(insufficient.status).toBe(403);
    expect(insufficient.headers.get("www-authenticate")).toContain("mcp:write");

    await using writer = await new Client(url, { auth: await mint(["mcp:read", "mcp:write", "admin"]) }).connect();
    const created = text(await writer.callTool("create_project", { name: "Apollo", description: "moon" }));
    expect(created).toMatchObject({ owner: "user-42", name: "Apollo" });
    expect(text(await writer.callTool("delete_project", { project_id: created.id as string }))).toEqual({ deleted: created.id, deleted_by: "user-42" });
    expect(text(await writer.callTool("get_user_data"))).toEqual({ user_id: "user-42", projects: 0 });
  });
});

describe("seed-descope-integration twins", () => {
  async function descopeLayout(projectId: string) {
    await idp.serveJwks(`/${projectId}/.well-known/jwks.json`);
    const issuer = `${idp.origin}/v1/apps/${projectId}`;
    idp.serveMetadata(`/v1/apps/${projectId}/.well-known/openid-configuration`, issuer, `${idp.origin}/${projectId}/.well-known/jwks.json`);
    return issuer;
  }

  it("DescopeProvider: Descope's issuer, keys and audience, and its metadata forwarded", async () => {
    const issuer = await descopeLayout("P2abc123");
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const url = await launch("../../examples/auth/descope/server.js", { DESCOPE_PROJECT_ID: "P2abc123", DESCOPE_BASE_URL: idp.origin, SERVER_URL: base }, port);
    expect(await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()).toMatchObject({ authorization_servers: [issuer] });
    expect(await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()).toMatchObject({ issuer });
    const token = await idp.keys.createToken({ issuer, audience: ["P2abc123"], subject: "U2descope" });
    await using client = await new Client(url, { auth: token }).connect();
    expect(text(await client.callTool("whoami"))).toMatchObject({ user: "U2descope" });
    const otherProject = await idp.keys.createToken({ issuer, audience: ["P9other"] });
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${otherProject}` })).status).toBe(401);
  });

  it("the same server configured from FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_*", async () => {
    const issuer = await descopeLayout("P2env");
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const url = await launch("../../examples/auth/descope/server-env.js", {
      FASTMCP_SERVER_AUTH: "fastmcp.server.auth.providers.descope.DescopeProvider",
      FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID: "P2env",
      FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL: base,
      FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_DESCOPE_BASE_URL: idp.origin,
    }, port);
    const token = await idp.keys.createToken({ issuer, audience: "P2env", subject: "U2env" });
    await using client = await new Client(url, { auth: token }).connect();
    expect(text(await client.callTool("whoami"))).toEqual({ user: "U2env" });
  });
});

describe("seed-scalekit-oauth-skill twin", () => {
  it("runs the todo server, stateless, with in-tool scope checks as in the seed", async () => {
    await idp.serveJwks("/keys");
    const issuer = `${idp.origin}/resources/res_todo`;
    idp.serveMetadata("/.well-known/oauth-authorization-server/resources/res_todo", issuer, `${idp.origin}/keys`);
    const port = await freePort();
    const url = await launch("../../examples/auth/scalekit/server.js", {
      SCALEKIT_ENVIRONMENT_URL: idp.origin,
      SCALEKIT_CLIENT_ID: "skc_123",
      SCALEKIT_RESOURCE_ID: "res_todo",
      MCP_URL: `http://127.0.0.1:${port}/`,
    }, port);
    expect(await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)).json()).toMatchObject({ resource: `http://127.0.0.1:${port}/mcp`, authorization_servers: [issuer] });
    expect(await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`)).json()).toMatchObject({ issuer });
    const mint = (scopes: string[]) => idp.keys.createToken({ issuer, audience: "res_todo", subject: "todo-user", scopes });

    await using reader = await new Client(url, { auth: await mint(["todo:read"]) }).connect();
    expect(text(await reader.callTool("create_todo", { title: "milk" }))).toEqual({ error: "Insufficient permissions: `todo:write` scope required." });
    expect(text(await reader.callTool("list_todos"))).toEqual({ todos: [] });
    expect(text(await reader.callTool("admin_action"))).toEqual({ error: "Missing scopes: todo:write, admin:access" });
    expect(text(await reader.callTool("flexible_operation"))).toEqual({ basic: "data" });

    await using writer = await new Client(url, { auth: await mint(["todo:read", "todo:write", "admin:access"]) }).connect();
    const created = text(await writer.callTool("create_todo", { title: "milk", description: "oat" })).todo as { id: string };
    expect(text(await writer.callTool("update_todo", { todo_id: created.id, completed: true }))).toMatchObject({ todo: { completed: true } });
    expect(text(await writer.callTool("list_todos", { completed: true }))).toMatchObject({ todos: [{ title: "milk" }] });
    expect(text(await writer.callTool("get_todo", { todo_id: "nope" }))).toEqual({ error: "Todo `nope` not found." });
    expect(text(await writer.callTool("delete_todo", { todo_id: created.id }))).toEqual({ deleted: created.id });
    expect(text(await writer.callTool("admin_action"))).toEqual({ result: "success" });
    expect(text(await writer.callTool("flexible_operation"))).toEqual({ basic: "data", admin: "enhanced_data" });

    const wrongResource = await idp.keys.createToken({ issuer, audience: "res_other", scopes: ["todo:read"] });
    expect((await postRaw(url, INITIALIZE, { authorization: `Bearer ${wrongResource}` })).status).toBe(401);
  });
});
