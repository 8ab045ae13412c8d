/**
 * OAuthProxy end to end: the official SDK client, which knows only the MCP server's URL, signs in
 * through the proxy's consent page and the upstream's login, calls tools with the proxy's own
 * JWTs, steps up to a wider scope, refreshes, and revokes.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { mcpStatus, revoke } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { scriptedBrowser } from "../../client/oauth/helpers.js";
import { startProxiedServer, type ProxiedServer } from "./harness.js";

function structured<T>(result: CallToolResult): T {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const [block] = result.content;
  if (block?.type !== "text") throw new Error(`expected a text block, got ${JSON.stringify(result.content)}`);
  return JSON.parse(block.text) as T;
}

describe.each(["oauth", "oidc"] as const)("%s proxy in front of oidc-provider, with the official MCP client", (kind) => {
  let server: ProxiedServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    server = await startProxiedServer({}, {}, kind);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in through the proxy's consent page and the upstream login, and calls a tool as the upstream user", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice", password: "any" }) }).connect();
    expect(client.authorizations).toHaveLength(1);
    expect(client.authorizations[0]!.prompts).toEqual(["consent", "login", "consent"]);
    const me = structured<{ subject: string; scopes: string[]; upstream: Record<string, unknown> }>(await client.callTool("whoami"));
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ sub: "alice", iss: server.idp.issuer });
    // The client holds the proxy's token, never the upstream's.
    const claims = decodeJwt(client.tokens!.access_token);
    expect(claims).toMatchObject({ iss: server.baseUrl, aud: server.url, sub: "alice", scope: "mcp:read" });
    expect(server.errors).toEqual([]);
  });

  it("steps up to mcp:write with the consent page again, and the upstream grants it", async () => {
    const before = client.authorizations.length;
    const written = await client.callTool("write_note", { text: "hi" });
    expect(written.content).toEqual([{ type: "text", text: "saved: hi" }]);
    expect(client.authorizations.length).toBe(before + 1);
    expect(decodeJwt(client.tokens!.access_token).scope).toContain("mcp:write");
  });

  it("refreshes the proxy's token, and revocation revokes the upstream tokens behind it", async () => {
    const tokens = client.tokens!;
    const refreshed = await fetch(`${server.baseUrl}/token`, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: decodeJwt(tokens.access_token).client_id as string }) });
    expect(refreshed.status).toBe(200);
    const renewed = (await refreshed.json()) as { access_token: string };
    expect((await mcpStatus(server.url, renewed.access_token)).status).toBe(200);
    const revocationsBefore = server.idp.revocations.length;
    expect(await revoke(server.baseUrl, decodeJwt(tokens.access_token).client_id as string, renewed.access_token)).toBe(200);
    expect(server.idp.revocations.length).toBeGreaterThan(revocationsBefore);
    expect((await mcpStatus(server.url, renewed.access_token)).status).toBe(401);
  });
});

describe.each(["oauth", "oidc"] as const)("%s proxy with this project's own Client (auth: new OAuth)", (kind) => {
  let server: ProxiedServer;

  beforeAll(async () => {
    server = await startProxiedServer({}, {}, kind);
  });
  afterAll(async () => server?.close());

  it("logs in through the proxy (consent, upstream login), calls tools, steps up, and reuses its stored tokens", async () => {
    const browser = scriptedBrowser({ login: "carol" });
    const tokenStorage = new MemoryStore();
    {
      await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage }) });
      await client.connect();
      const me = JSON.parse(((await client.callTool("whoami")).content[0] as { text: string }).text) as { subject: string; scopes: string[] };
      expect(me).toMatchObject({ subject: "carol", scopes: ["mcp:read"] });
      const written = await client.callTool("write_note", { text: "from our client" });
      expect(written.content).toEqual([{ type: "text", text: "saved: from our client" }]);
    }
    const opened = browser.opened.length;
    await using again = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage }) });
    await again.connect();
    expect(JSON.parse(((await again.callTool("whoami")).content[0] as { text: string }).text)).toMatchObject({ subject: "carol" });
    expect(browser.opened.length).toBe(opened);
  });
});
