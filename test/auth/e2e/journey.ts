/**
 * The steps every end-to-end case takes, with their assertions: the official MCP client meets a
 * FastMCP server guarded by some auth provider and a real authorization server standing in for
 * some identity provider.
 */
import { decodeProtectedHeader } from "jose";
import { expect } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { IdentityProvider } from "../../helpers/idp.js";
import { INITIALIZE, openSession, postRaw } from "../../helpers/http.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { TOOLS, type GuardedServer, type WhoAmI } from "../../helpers/oauth-server.js";

export interface Journey {
  idp: IdentityProvider;
  server: GuardedServer;
  /** The `aud` this identity provider puts in tokens for the server. */
  audience: string;
  /** Claims the identity provider adds to its tokens, which handlers must see. */
  claims?: Record<string, unknown>;
  /** The access tokens' signature algorithm. Default RS256. */
  algorithm?: string;
}

/** The text of a tool result's single text block. */
export function textOf(result: CallToolResult): string {
  const [block] = result.content;
  if (result.content.length !== 1 || block?.type !== "text") throw new Error(`expected one text block, got ${JSON.stringify(result.content)}`);
  return block.text;
}

/** The parameters of a `Bearer` challenge (`error`, `scope`, `resource_metadata`...). */
export function challengeOf(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer\b/);
  return Object.fromEntries([...header!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key!, value!.replace(/\\(.)/g, "$1")]));
}

/**
 * Discovery from the 401 challenge, dynamic registration, login through the user agent, then
 * listing and calling tools with a token for the server's required scope only.
 */
export async function logInAndCallTools({ idp, server, audience, claims, algorithm }: Journey): Promise<OAuthMcpClient> {
  const registrationsBefore = idp.registrations.length;
  const client = await new OAuthMcpClient(server.url).connect();

  const [unauthenticated] = client.exchanges;
  const resourceMetadataUrl = `${server.baseUrl}/.well-known/oauth-protected-resource/mcp`;
  expect(unauthenticated).toMatchObject({ method: "POST", rpcMethod: "initialize", status: 401 });
  expect(challengeOf(unauthenticated!.wwwAuthenticate)).toMatchObject({ resource_metadata: resourceMetadataUrl, scope: "mcp:read" });
  // The client read the metadata the challenge pointed at, then registered at the authorization server it names.
  expect(client.fetched[1]).toBe(resourceMetadataUrl);
  expect(idp.registrations).toHaveLength(registrationsBefore + 1);
  expect(idp.registrations.at(-1)).toMatchObject({ redirect_uris: ["http://127.0.0.1/callback"], token_endpoint_auth_method: "none" });
  expect(decodeProtectedHeader(client.tokens!.access_token)).toMatchObject({ alg: algorithm ?? "RS256", typ: "at+jwt" });
  expect(client.authorizations).toHaveLength(1);
  expect(client.authorizations[0]!.scopes).toContain("mcp:read");
  expect(client.authorizations[0]!.scopes).not.toContain("mcp:write");
  expect(client.authorizations[0]!.resource).toBe(server.url);
  expect(client.authorizations[0]!.prompts).toEqual(["login", "consent"]);

  const { tools } = await client.listTools();
  // Components whose scopes the token lacks are not listed.
  expect(tools.map((tool) => tool.name).sort()).toEqual([TOOLS.read, TOOLS.whoami].sort());

  const readsBefore = server.calls.read_notes;
  expect(textOf(await client.callTool(TOOLS.read))).toBe("three notes");
  expect(server.calls.read_notes).toBe(readsBefore + 1);

  const whoami = JSON.parse(textOf(await client.callTool(TOOLS.whoami))) as WhoAmI;
  expect(whoami.claims).toMatchObject({ ...claims, iss: idp.issuer, aud: audience, sub: "alice" });
  expect(whoami.subject).toBe("alice");
  expect(whoami.scopes).toContain("mcp:read");
  expect(whoami.scopes).not.toContain("mcp:write");
  expect(whoami.sameToken).toBe(true);
  return client;
}

/**
 * A call the token lacks `mcp:write` for gets HTTP 403 `insufficient_scope` before its handler
 * runs; the SDK authorizes again for the union of scopes and the retried call succeeds.
 */
export async function stepUpForWrite({ server }: Journey, client: OAuthMcpClient): Promise<void> {
  const writesBefore = server.calls.write_note;
  const exchangesBefore = client.exchanges.length;

  expect(textOf(await client.callTool(TOOLS.write, { text: "hello" }))).toBe("saved: hello");

  const calls = client.exchanges.slice(exchangesBefore).filter((exchange) => exchange.rpcMethod === "tools/call");
  expect(calls.map((exchange) => exchange.status)).toEqual([403, 200]);
  const challenge = challengeOf(calls[0]!.wwwAuthenticate);
  expect(challenge.error).toBe("insufficient_scope");
  expect(challenge.scope!.split(" ")).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
  expect(challenge.resource_metadata).toBe(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
  // The refused call never reached the handler: it ran once, for the retried call.
  expect(server.calls.write_note).toBe(writesBefore + 1);

  expect(client.authorizations).toHaveLength(2);
  const stepUp = client.authorizations[1]!;
  expect(stepUp.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
  expect(stepUp.resource).toBe(server.url);
  // Logged in already: the identity provider only asks for consent to the wider grant.
  expect(stepUp.prompts).toEqual(["consent"]);

  const whoami = JSON.parse(textOf(await client.callTool(TOOLS.whoami))) as WhoAmI;
  expect(whoami.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name)).toContain(TOOLS.write);
  expect(tools.map((tool) => tool.name)).not.toContain(TOOLS.admin);
  expect(client.authorizations).toHaveLength(2);
}

/** A tool behind `requireScopes("admin")` answers 403 naming `admin`, and its handler does not run. */
export async function adminRefused({ server }: Journey, client: OAuthMcpClient): Promise<void> {
  const authorization = `Bearer ${client.tokens!.access_token}`;
  const session = await openSession(server.url, { authorization });
  const before = server.calls.admin_report;
  const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: TOOLS.admin, arguments: {} } };
  const response = await postRaw(server.url, call, { authorization, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" });
  expect(response.status).toBe(403);
  await response.body?.cancel();
  const challenge = challengeOf(response.headers.get("www-authenticate"));
  expect(challenge.error).toBe("insufficient_scope");
  expect(challenge.scope!.split(" ")).toContain("admin");
  expect(server.calls.admin_report).toBe(before);
}

/** Status of an `initialize` carrying `token`, and its challenge. */
export async function initializeWith(server: GuardedServer, token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await postRaw(server.url, INITIALIZE, { authorization: `Bearer ${token}` });
  await response.body?.cancel();
  return { status: response.status, challenge: response.headers.get("www-authenticate") };
}

/** A token the identity provider minted for the server works; one it minted for `foreignResource` is refused. */
export async function foreignTokenRefused({ idp, server }: Journey, foreignResource: string): Promise<void> {
  expect((await initializeWith(server, await idp.mintToken(server.url))).status).toBe(200);
  const refused = await initializeWith(server, await idp.mintToken(foreignResource));
  expect(refused.status).toBe(401);
  expect(challengeOf(refused.challenge).error).toBe("invalid_token");
}

/** The server's protected resource metadata names the identity provider as its authorization server. */
export async function resourceMetadataNamesIssuer({ idp, server }: Journey): Promise<void> {
  const response = await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ resource: server.url, authorization_servers: [idp.issuer], scopes_supported: ["mcp:read"] });
}

/** The server's `/.well-known/oauth-authorization-server` serves the identity provider's own metadata. */
export async function metadataForwarded({ idp, server }: Journey): Promise<void> {
  const upstream = await (await fetch(idp.metadataUrl)).json();
  const forwarded = await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`);
  expect(forwarded.status).toBe(200);
  expect(await forwarded.json()).toEqual(upstream);
  expect(upstream).toMatchObject({ issuer: idp.issuer, jwks_uri: idp.jwksUri });
}
