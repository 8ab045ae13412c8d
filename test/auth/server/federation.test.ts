/**
 * One LocalOAuthProvider as the authorization server of other MCP servers: server A issues tokens
 * for its own MCP endpoint and for B and B' (`additionalResources`); B trusts A through
 * RemoteAuthProvider's short form (A's issuer only: jwks_uri from A's metadata), B' through the
 * long form (a JWTVerifier on A's JWKS). The official MCP client connects to B, finds A in B's
 * protected resource metadata, registers and logs in at A, and gets a token whose audience is B.
 */
import { createServer, type Server } from "node:net";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import { JWTVerifier, LocalOAuthProvider, RemoteAuthProvider, type AuthProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { eventually, mcpStatus, refresh } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";

interface Running {
  baseUrl: string;
  url: string;
  mcp: FastMCP;
}

/** A FastMCP server on `port` with a tool for the required scope, one needing `mcp:write`, and whoami. */
async function serve(name: string, port: number, auth: AuthProvider): Promise<Running> {
  const mcp = new FastMCP({ name, auth });
  mcp.tool({ name: "read_notes", description: "Reads the notes", execute: () => `${name}: three notes` });
  mcp.tool({ name: "write_note", description: "Writes a note", parameters: z.object({ text: z.string() }), scopes: ["mcp:write"], execute: ({ text }) => `${name} saved: ${text}` });
  mcp.tool({ name: "whoami", description: "The caller's token", execute: (_args, ctx) => JSON.stringify({ server: name, subject: ctx.auth?.subject, scopes: ctx.auth?.scopes, claims: ctx.auth?.claims }) });
  const running = await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
  return { baseUrl: `http://127.0.0.1:${port}`, url: running.url!, mcp };
}

function textOf(result: CallToolResult): string {
  const [block] = result.content;
  if (result.content.length !== 1 || block?.type !== "text") throw new Error(`expected one text block, got ${JSON.stringify(result.content)}`);
  return block.text;
}

/** Ports nothing listens on right now, all different (held open together while they are picked). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

interface WhoAmI {
  server: string;
  subject: string;
  scopes: string[];
  claims: Record<string, unknown>;
}

describe("LocalOAuthProvider tokens verified by other MCP servers (RemoteAuthProvider + JWTVerifier)", () => {
  let a: Running;
  let provider: LocalOAuthProvider;
  let b: Running;
  let bLong: Running;
  const clients: OAuthMcpClient[] = [];

  beforeAll(async () => {
    // B and B' must be known to A before it starts (the resources it issues tokens for), and A's issuer to them.
    const [portA, portB, portBLong] = (await distinctFreePorts(3)) as [number, number, number];
    const urlB = `http://127.0.0.1:${portB}/mcp`;
    const urlBLong = `http://127.0.0.1:${portBLong}/mcp`;
    provider = new LocalOAuthProvider({
      baseUrl: `http://127.0.0.1:${portA}`,
      serverName: "Server A",
      users: { alice: "wonderland" },
      store: new MemoryStore(),
      requiredScopes: ["mcp:read"],
      clientRegistration: { validScopes: ["mcp:read", "mcp:write"] },
      additionalResources: [urlB, urlBLong],
    });
    a = await serve("A", portA, provider);
    b = await serve("B", portB, new RemoteAuthProvider({ authorizationServerUrl: a.baseUrl, baseUrl: `http://127.0.0.1:${portB}`, requiredScopes: ["mcp:read"] }));
    bLong = await serve("B'", portBLong, new RemoteAuthProvider({
      // A short JWKS refetch cooldown (default 30 s), for the key rotation case below.
      tokenVerifier: new JWTVerifier({ jwksUri: `${a.baseUrl}/.well-known/jwks.json`, issuer: a.baseUrl, audience: urlBLong, requiredScopes: ["mcp:read"], jwks: { cooldownMs: 200 } }),
      authorizationServers: [a.baseUrl],
      baseUrl: `http://127.0.0.1:${portBLong}`,
    }));
    expect([b.url, bLong.url]).toEqual([urlB, urlBLong]);
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    for (const server of [b, bLong, a]) await server?.mcp.close();
  });

  async function connect(url: string): Promise<OAuthMcpClient> {
    const client = await new OAuthMcpClient(url, { userAgent: new UserAgent({ login: "alice", password: "wonderland" }) }).connect();
    clients.push(client);
    return client;
  }

  let clientB: OAuthMcpClient;

  it("the client finds A through B's protected resource metadata, registers and logs in at A, and calls B with a token for B", async () => {
    const metadata = (await (await fetch(`${b.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: b.url, authorization_servers: [a.baseUrl] });

    clientB = await connect(b.url);
    expect(clientB.exchanges[0]).toMatchObject({ rpcMethod: "initialize", status: 401 });
    expect(clientB.exchanges[0]!.wwwAuthenticate).toContain(`resource_metadata="${b.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
    expect(clientB.fetched).toEqual(expect.arrayContaining([
      `${b.baseUrl}/.well-known/oauth-protected-resource/mcp`,
      `${a.baseUrl}/.well-known/oauth-authorization-server`,
      `${a.baseUrl}/register`,
      `${a.baseUrl}/token`,
    ]));
    // B itself has no OAuth endpoints: nothing was fetched from B but its metadata and its MCP endpoint.
    expect(clientB.fetched.filter((url) => url.startsWith(b.baseUrl)).every((url) => url === b.url || url.includes("/.well-known/oauth-protected-resource"))).toBe(true);
    expect(clientB.authorizations).toHaveLength(1);
    expect(clientB.authorizations[0]).toMatchObject({ resource: b.url, prompts: ["login", "consent"] });

    expect(decodeJwt(clientB.tokens!.access_token)).toMatchObject({ iss: a.baseUrl, aud: b.url, sub: "alice", scope: "mcp:read" });
    expect((await clientB.listTools()).tools.map((tool) => tool.name).sort()).toEqual(["read_notes", "whoami"]);
    expect(textOf(await clientB.callTool("read_notes"))).toBe("B: three notes");
    const whoami = JSON.parse(textOf(await clientB.callTool("whoami"))) as WhoAmI;
    expect(whoami).toMatchObject({ server: "B", subject: "alice", scopes: ["mcp:read"], claims: { iss: a.baseUrl, aud: b.url } });
  });

  it("a tool of B that needs mcp:write gets 403; the client steps up at A (consent only) and the call succeeds", async () => {
    const before = clientB.exchanges.length;
    expect(textOf(await clientB.callTool("write_note", { text: "hello" }))).toBe("B saved: hello");
    const calls = clientB.exchanges.slice(before).filter((exchange) => exchange.rpcMethod === "tools/call");
    expect(calls.map((exchange) => exchange.status)).toEqual([403, 200]);
    expect(calls[0]!.wwwAuthenticate).toContain('error="insufficient_scope"');
    expect(clientB.authorizations).toHaveLength(2);
    expect(clientB.authorizations[1]).toMatchObject({ resource: b.url, prompts: ["consent"] });
    expect(decodeJwt(clientB.tokens!.access_token)).toMatchObject({ aud: b.url, scope: "mcp:read mcp:write" });
  });

  it("B' (long form: JWTVerifier on A's JWKS) accepts A's tokens for B'", async () => {
    const client = await connect(bLong.url);
    expect(client.authorizations[0]).toMatchObject({ resource: bLong.url, prompts: ["login", "consent"] });
    expect(client.fetched).toContain(`${a.baseUrl}/register`);
    expect(decodeJwt(client.tokens!.access_token)).toMatchObject({ iss: a.baseUrl, aud: bLong.url });
    expect(JSON.parse(textOf(await client.callTool("whoami")))).toMatchObject({ server: "B'", subject: "alice" });
  });

  it("each server refuses the tokens A issued for another audience", async () => {
    const forA = (await connect(a.url)).tokens!.access_token;
    const forB = clientB.tokens!.access_token;
    const forBLong = clients.find((client) => client.tokens && decodeJwt(client.tokens.access_token).aud === bLong.url)!.tokens!.access_token;
    expect(decodeJwt(forA)).toMatchObject({ iss: a.baseUrl, aud: a.url });

    const own: Array<[string, string]> = [[a.url, forA], [b.url, forB], [bLong.url, forBLong]];
    for (const [url, token] of own) expect((await mcpStatus(url, token)).status, `own token at ${url}`).toBe(200);
    for (const [url] of own) {
      for (const [owner, token] of own) {
        if (owner === url) continue;
        const refused = await mcpStatus(url, token);
        expect(refused.status, `token for ${owner} at ${url}`).toBe(401);
        expect(refused.challenge).toContain('error="invalid_token"');
      }
    }
  });

  /*
   * A signs with a new key at once when it rotates (the old one stays published), so a verifier
   * that fetched A's JWKS shortly before does not know the new key until its refetch cooldown has
   * passed: B, with the default 30 s, refuses A's new tokens during that time. B' uses 200 ms.
   */
  it("after A rotates its signing key, B' fetches A's JWKS again and accepts tokens signed with the new key", async () => {
    const client = clients.find((candidate) => candidate.tokens && decodeJwt(candidate.tokens.access_token).aud === bLong.url)!;
    const held = client.tokens!;
    const keysBefore = ((await (await fetch(`${a.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    await provider.rotateSigningKey();
    const keysAfter = ((await (await fetch(`${a.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    expect(keysAfter).toEqual(expect.arrayContaining(keysBefore));
    expect(keysAfter).toHaveLength(keysBefore.length + 1);

    const refreshed = await refresh(a.baseUrl, decodeJwt(held.access_token).client_id as string, held.refresh_token!);
    const { kid } = JSON.parse(Buffer.from(refreshed.access_token.split(".")[0]!, "base64url").toString()) as { kid: string };
    expect(keysBefore).not.toContain(kid);
    await eventually(async () => (await mcpStatus(bLong.url, refreshed.access_token)).status === 200, 5_000, "B' accepts the token signed with A's new key");
    // Tokens signed with the retired key stay good until they expire.
    expect((await mcpStatus(bLong.url, held.access_token)).status).toBe(200);
  });
});
