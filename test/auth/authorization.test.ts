import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import { JWTKeyPair, requireScopes, StaticTokenVerifier } from "fastmcp-ts/auth";
import { Client } from "fastmcp-ts/client";
import { INITIALIZE, postRaw } from "../helpers/http.js";
import { freePort, remoteAuth, serve, tokenFor } from "./helpers.js";

let keys: JWTKeyPair;
let mcp: FastMCP;
const handled: string[] = [];

beforeAll(() => {
  keys = JWTKeyPair.generate();
});
afterEach(async () => {
  handled.length = 0;
  await mcp?.close();
});

/** A server with one component per kind of rule. */
function protectedServer(baseUrl: string): FastMCP {
  mcp = new FastMCP({ name: "guarded", auth: remoteAuth(keys, baseUrl), onError: () => undefined });
  const track = (name: string) => () => { handled.push(name); return name; };
  mcp.tool({ name: "open", execute: track("open") });
  mcp.tool({ name: "write", scopes: ["mcp:write"], execute: track("write") });
  mcp.tool({ name: "admin", auth: requireScopes("admin"), execute: track("admin") });
  mcp.tool({ name: "both", scopes: ["mcp:write"], auth: requireScopes("admin"), execute: track("both") });
  mcp.tool({ name: "alice_only", auth: ({ token }) => token?.subject === "alice", execute: track("alice_only") });
  mcp.tool({ name: "async_check", auth: async ({ token }) => { await new Promise((r) => setTimeout(r, 5)); return token?.claims.plan === "pro"; }, execute: track("async_check") });
  mcp.tool({ name: "throwing_check", auth: () => { throw new Error("policy service down"); }, execute: track("throwing_check") });
  mcp.tool({ name: "claims", execute: (_args, ctx) => ({ sub: ctx.auth?.claims.sub, client: ctx.auth?.clientId, scopes: ctx.auth?.scopes }) });
  mcp.resource({ uri: "test://public", name: "public", read: () => "public" });
  mcp.resource({ uri: "test://secret", name: "secret", scopes: ["secrets:read"], read: () => "classified" });
  mcp.resourceTemplate({ uriTemplate: "test://vault/{id}", name: "vault", scopes: ["vault"], read: ({ id }) => `item ${String(id)}` });
  mcp.prompt({ name: "plain", render: () => "hi" });
  mcp.prompt({ name: "privileged", scopes: ["admin"], render: () => "sudo" });
  return mcp;
}

async function session(url: string, token: string): Promise<Record<string, string>> {
  const headers = { authorization: `Bearer ${token}` };
  const init = await postRaw(url, INITIALIZE, headers);
  expect(init.status).toBe(200);
  await init.text();
  return { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
}

function call(url: string, headers: Record<string, string>, method: string, params: Record<string, unknown>): Promise<Response> {
  return postRaw(url, { jsonrpc: "2.0", id: 7, method, params }, headers);
}

describe("per-component authorization over HTTP", () => {
  it("lists only the components the caller may use", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    await using reader = await new Client(url!, { auth: await tokenFor(keys, `${base}/mcp`, ["mcp:read"], { additionalClaims: { client_id: "c", plan: "free" } }) }).connect();
    expect((await reader.listTools()).map((t) => t.name).sort()).toEqual(["alice_only", "claims", "open"]);
    expect((await reader.listResources()).map((r) => r.uri)).toEqual(["test://public"]);
    expect(await reader.listResourceTemplates()).toEqual([]);
    expect((await reader.listPrompts()).map((p) => p.name)).toEqual(["plain"]);

    await using power = await new Client(url!, { auth: await tokenFor(keys, `${base}/mcp`, ["mcp:read", "mcp:write", "admin", "secrets:read", "vault"], { additionalClaims: { plan: "pro" } }) }).connect();
    expect((await power.listTools()).map((t) => t.name).sort()).toEqual(["admin", "alice_only", "async_check", "both", "claims", "open", "write"]);
    expect((await power.listResources()).map((r) => r.uri).sort()).toEqual(["test://public", "test://secret"]);
    expect((await power.listResourceTemplates()).map((t) => t.name)).toEqual(["vault"]);
    expect((await power.listPrompts()).map((p) => p.name).sort()).toEqual(["plain", "privileged"]);
  });

  it("answers 403 insufficient_scope naming the missing scopes before the handler runs", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    const headers = await session(url!, await tokenFor(keys, `${base}/mcp`, ["mcp:read"]));
    for (const [name, missing] of [["write", "mcp:write"], ["admin", "admin"], ["both", "mcp:write admin"]] as const) {
      const response = await call(url!, headers, "tools/call", { name, arguments: {} });
      expect(response.status).toBe(403);
      const challenge = response.headers.get("www-authenticate")!;
      expect(challenge).toContain('error="insufficient_scope"');
      expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
      const scope = /scope="([^"]*)"/.exec(challenge)![1]!.split(" ");
      for (const needed of missing.split(" ")) expect(scope).toContain(needed);
      expect(scope).toContain("mcp:read");
      expect(await response.json()).toMatchObject({ error: "insufficient_scope" });
    }
    expect(handled).toEqual([]);
  });

  it("applies the same step-up to resources, templates and prompts", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    const headers = await session(url!, await tokenFor(keys, `${base}/mcp`, ["mcp:read"]));
    const secret = await call(url!, headers, "resources/read", { uri: "test://secret" });
    expect(secret.status).toBe(403);
    expect(secret.headers.get("www-authenticate")).toContain("secrets:read");
    expect((await call(url!, headers, "resources/read", { uri: "test://vault/9" })).status).toBe(403);
    expect((await call(url!, headers, "prompts/get", { name: "privileged" })).status).toBe(403);
    // Completing an argument reaches the same prompt or template, under the same rules.
    const completion = await call(url!, headers, "completion/complete", { ref: { type: "ref/prompt", name: "privileged" }, argument: { name: "topic", value: "a" } });
    expect(completion.status).toBe(403);
    expect(completion.headers.get("www-authenticate")).toContain("admin");
    expect((await call(url!, headers, "completion/complete", { ref: { type: "ref/resource", uri: "test://vault/{id}" }, argument: { name: "id", value: "1" } })).status).toBe(403);
    expect((await call(url!, headers, "completion/complete", { ref: { type: "ref/prompt", name: "plain" }, argument: { name: "topic", value: "a" } })).status).toBe(200);
    const open = await call(url!, headers, "resources/read", { uri: "test://public" });
    expect(await open.json()).toMatchObject({ result: { contents: [{ text: "public" }] } });
  });

  it("lets the call through once the token has the scopes", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    await using client = await new Client(url!, { auth: await tokenFor(keys, `${base}/mcp`, ["mcp:read", "mcp:write", "admin"]) }).connect();
    expect((await client.callTool("write")).content).toEqual([{ type: "text", text: "write" }]);
    expect((await client.callTool("both")).content).toEqual([{ type: "text", text: "both" }]);
    expect(handled).toEqual(["write", "both"]);
  });

  it("hides components refused by other checks, as if they did not exist", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    const headers = await session(url!, await tokenFor(keys, `${base}/mcp`, ["mcp:read"], { subject: "mallory", additionalClaims: { plan: "free" } }));
    for (const name of ["alice_only", "async_check", "throwing_check"]) {
      const response = await call(url!, headers, "tools/call", { name, arguments: {} });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ error: { code: -32602, message: `Unknown tool: ${name}` } });
    }
    const unknown = await call(url!, headers, "tools/call", { name: "no_such_tool", arguments: {} });
    expect(await unknown.json()).toMatchObject({ error: { code: -32602, message: "Unknown tool: no_such_tool" } });
    expect(handled).toEqual([]);
  });

  it("does not disclose scopes when an opaque check also refuses", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    mcp = new FastMCP({ name: "mixed", auth: remoteAuth(keys, base) });
    mcp.tool({ name: "vip", scopes: ["vip"], auth: () => false, execute: () => "vip" });
    const { url } = await serve(mcp, port);
    const headers = await session(url!, await tokenFor(keys, `${base}/mcp`, ["mcp:read"]));
    const response = await call(url!, headers, "tools/call", { name: "vip", arguments: {} });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ error: { message: "Unknown tool: vip" } });
  });

  it("gives handlers the caller's claims", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port);
    await using client = await new Client(url!, { auth: await tokenFor(keys, `${base}/mcp`, ["mcp:read"]) }).connect();
    const result = JSON.parse(((await client.callTool("claims")).content[0] as { text: string }).text);
    expect(result).toEqual({ sub: "alice", client: "test-client", scopes: ["mcp:read"] });
  });

  it("steps up over the legacy SSE transport too", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { url } = await serve(protectedServer(base), port, { transport: "sse" });
    const token = await tokenFor(keys, `${base}/sse`, ["mcp:read"]);
    const stream = await fetch(url!, { headers: { accept: "text/event-stream", authorization: `Bearer ${token}` } });
    const reader = stream.body!.getReader();
    const endpoint = /data: (\S+)/.exec(new TextDecoder().decode((await reader.read()).value))![1]!;
    const post = (body: unknown) => fetch(new URL(endpoint, base), { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const denied = await post({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "write", arguments: {} } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("www-authenticate")).toContain("mcp:write");
    expect((await post({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "open", arguments: {} } })).status).toBe(202);
    await reader.cancel();
  });
});

describe("per-component authorization without HTTP", () => {
  it("uses the token an in-memory client connected with", async () => {
    const server = new FastMCP({
      name: "memory",
      auth: new StaticTokenVerifier({ tokens: { reader: { clientId: "c", scopes: ["read"] }, writer: { clientId: "c", scopes: ["read", "write"] } } }),
    });
    server.tool({ name: "edit", scopes: ["write"], parameters: z.object({ text: z.string() }), execute: ({ text }) => `edited ${text}` });
    await using anonymous = await new Client(server).connect();
    expect(await anonymous.listTools()).toEqual([]);
    await expect(anonymous.callTool("edit", { text: "x" })).rejects.toMatchObject({ code: -32602, message: "Unknown tool: edit" });
    await using reader = await new Client(server, { auth: "reader" }).connect();
    await expect(reader.callTool("edit", { text: "x" })).rejects.toMatchObject({ message: expect.stringContaining("Insufficient scope: this call needs write") });
    await using writer = await new Client(server, { auth: "writer" }).connect();
    expect((await writer.callTool("edit", { text: "x" })).content).toEqual([{ type: "text", text: "edited x" }]);
  });

  it("does not apply access rules over stdio, which runs as the local user", async () => {
    await using client = await new Client({ command: "node_modules/.bin/tsx", args: ["test/fixtures/stdio-scoped-server.ts"], stderr: "ignore" }).connect();
    expect((await client.listTools()).map((tool) => tool.name)).toEqual(["admin_only"]);
    expect((await client.callTool("admin_only")).content).toEqual([{ type: "text", text: "ran" }]);
  });
});
