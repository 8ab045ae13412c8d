/**
 * The MCP endpoint of a server that is its own authorization server: it accepts the tokens its
 * provider issued for it, and nothing else — no token, a revoked or expired token, a token for
 * another resource — and steps up (403) when a token lacks a tool's scopes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InMemoryOAuthProvider } from "fastmcp-ts/auth";
import { openSession, postRaw } from "../../helpers/http.js";
import {
  callMcp,
  codeForm,
  authorizationCode,
  expectTokens,
  mcpStatus,
  postForm,
  refreshForm,
  registerClient,
  startInMemory,
  tokenRequest,
  tokensFor,
  type AuthServer,
  type RegisteredClient,
} from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: AuthServer<InMemoryOAuthProvider>;
let client: RegisteredClient;
beforeAll(async () => {
  server = await startInMemory();
  client = await registerClient(server);
});
afterAll(() => server.close());

/** Calls `tool` in a new session opened with `token`. */
async function callTool(target: AuthServer, token: string, tool: string, args: Record<string, unknown> = {}): Promise<Response> {
  const headers = { authorization: `Bearer ${token}` };
  const session = await openSession(target.mcpUrl, headers);
  return postRaw(target.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } }, { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" });
}

/** The text of a tools/call result (JSON or a one-event SSE stream). */
async function resultText(response: Response): Promise<string> {
  const text = await response.text();
  const json = text.startsWith("{") ? text : text.split("\n").find((line) => line.startsWith("data:"))!.slice(5);
  const message = JSON.parse(json) as { result?: { content: Array<{ text: string }>; isError?: boolean }; error?: unknown };
  expect(message.result, json).toBeDefined();
  expect(message.result!.isError).toBeFalsy();
  return message.result!.content[0]!.text;
}

function challenge(response: Response): string {
  const header = response.headers.get("www-authenticate");
  expect(header).toBeTruthy();
  return header!;
}

describe("the MCP endpoint with the provider's tokens", () => {
  it("answers 401 without a token, pointing at the protected resource metadata", async () => {
    const response = await callMcp(server, undefined);
    expect(response.status).toBe(401);
    const header = challenge(response);
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain(`resource_metadata="${server.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
    expect(header).toContain('scope="mcp:read"');
  });

  it("answers 401 invalid_token for a token it never issued", async () => {
    const response = await callMcp(server, "test_access_token_forged");
    expect(response.status).toBe(401);
    expect(challenge(response)).toContain('error="invalid_token"');
  });

  it("accepts a token it issued, and the handler sees who the token is for", async () => {
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
    const whoami = JSON.parse(await resultText(await callTool(server, tokens.access_token, "whoami"))) as Record<string, unknown>;
    expect(whoami).toEqual({ clientId: client.client_id, subject: "test-user", scopes: ["mcp:read"], resource: server.mcpUrl });
  });

  it("refuses a refresh token used as an access token", async () => {
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server, tokens.refresh_token!)).toBe(401);
  });

  it("answers 401 once the token is revoked", async () => {
    const tokens = await tokensFor(server, client);
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
    const revoked = await postForm(server, "/revoke", { token: tokens.access_token, client_id: client.client_id });
    expect(revoked.status).toBe(200);
    const response = await callMcp(server, tokens.access_token);
    expect(response.status).toBe(401);
    expect(challenge(response)).toContain('error="invalid_token"');
  });

  it("answers 401 for the old access token after its grant was revoked through the refresh token", async () => {
    const tokens = await tokensFor(server, client);
    const revoked = await postForm(server, "/revoke", { token: tokens.refresh_token!, client_id: client.client_id });
    expect(revoked.status).toBe(200);
    expect(await mcpStatus(server, tokens.access_token)).toBe(401);
  });

  it("refuses a token in the query string", async () => {
    const tokens = await tokensFor(server, client);
    const response = await fetch(`${server.mcpUrl}?access_token=${tokens.access_token}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    // RFC 6750 §3.1 suggests 400 for invalid_request; the bearer layer answers 401. Either way: refused.
    expect([400, 401]).toContain(response.status);
    expect(challenge(response)).toContain('error="invalid_request"');
    await response.arrayBuffer();
  });
});

describe("the MCP endpoint's scope checks (403 step-up)", () => {
  it("answers 403 insufficient_scope for a tool that needs a scope the token lacks, naming it", async () => {
    const tokens = await tokensFor(server, client, { scope: "mcp:read" });
    const response = await callTool(server, tokens.access_token, "write", { text: "hi" });
    expect(response.status).toBe(403);
    const header = challenge(response);
    expect(header).toContain('error="insufficient_scope"');
    expect(header).toContain(`resource_metadata="${server.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
    const scopes = /scope="([^"]*)"/.exec(header)![1]!.split(" ");
    expect(scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
    await response.arrayBuffer();
  });

  it("lets the call through with a token that got the scope (the step-up the challenge asks for)", async () => {
    const tokens = await tokensFor(server, client, { scope: "mcp:read mcp:write" });
    expect(await resultText(await callTool(server, tokens.access_token, "write", { text: "hi" }))).toBe("wrote hi");
  });

  it("answers 403 for a token without the server's required scope", async () => {
    const tokens = await tokensFor(server, client, { scope: "mcp:write" });
    const response = await callMcp(server, tokens.access_token);
    expect(response.status).toBe(403);
    expect(challenge(response)).toContain('error="insufficient_scope"');
    expect(challenge(response)).toContain("mcp:read");
  });

  it("applies the narrowed scope of a refreshed token", async () => {
    const tokens = await tokensFor(server, client, { scope: "mcp:read mcp:write" });
    const narrowed = await expectTokens(await tokenRequest(server, refreshForm(client, tokens.refresh_token!, { scope: "mcp:read" })));
    const response = await callTool(server, narrowed.access_token, "write", { text: "hi" });
    expect(response.status).toBe(403);
    await response.arrayBuffer();
    expect(await resultText(await callTool(server, narrowed.access_token, "read"))).toBe("read ok");
  });
});

describe("the MCP endpoint and tokens for other resources", () => {
  const OTHER = "https://other-mcp.example.com/mcp";
  let multi: AuthServer<InMemoryOAuthProvider>;
  let multiClient: RegisteredClient;
  beforeAll(async () => {
    multi = await startInMemory({ additionalResources: [OTHER] });
    multiClient = await registerClient(multi);
  });
  afterAll(() => multi.close());

  it("refuses a token this server issued for another resource (RFC 8707 audience)", async () => {
    const authorization = await authorizationCode(multi, multiClient, { resource: OTHER });
    const tokens = await expectTokens(await tokenRequest(multi, codeForm(multiClient, authorization, { resource: OTHER })));
    const response = await callMcp(multi, tokens.access_token);
    expect(response.status).toBe(401);
    expect(challenge(response)).toContain('error="invalid_token"');
  });

  it("accepts a token it issued for itself on the same server", async () => {
    const tokens = await tokensFor(multi, multiClient);
    expect(await mcpStatus(multi, tokens.access_token)).toBe(200);
  });

  it("still lets the client revoke a token it holds for another resource", async () => {
    const authorization = await authorizationCode(multi, multiClient, { resource: OTHER });
    const tokens = await expectTokens(await tokenRequest(multi, codeForm(multiClient, authorization)));
    const revoked = await postForm(multi, "/revoke", { token: tokens.access_token, client_id: multiClient.client_id });
    expect(revoked.status).toBe(200);
    const refreshed = await tokenRequest(multi, refreshForm(multiClient, tokens.refresh_token!));
    expect(refreshed.status).toBe(401);
    await refreshed.arrayBuffer();
  });
});

describe("the MCP endpoint and expired tokens", () => {
  let short: AuthServer<InMemoryOAuthProvider>;
  let shortClient: RegisteredClient;
  beforeAll(async () => {
    short = await startInMemory({ accessTokenTtlSeconds: 1 });
    shortClient = await registerClient(short);
  });
  afterAll(() => short.close());

  it("answers 401 once the access token expired, and the refreshed one works", async () => {
    const tokens = await tokensFor(short, shortClient);
    expect(tokens.expires_in).toBe(1);
    await sleep(2_100);
    expect(await mcpStatus(short, tokens.access_token)).toBe(401);
    const refreshed = await expectTokens(await tokenRequest(short, refreshForm(shortClient, tokens.refresh_token!)));
    expect(await mcpStatus(short, refreshed.access_token)).toBe(200);
  });
});
