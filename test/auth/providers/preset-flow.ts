/**
 * What the proxy preset tests share: a FastMCP server guarded by a preset (the tools of
 * test/helpers/oauth-server.ts, `whoami` among them), and the upstream authorization URL a
 * sign-in would send the browser to, read without loading it.
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { ProxyProvider } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { registerClient } from "../../helpers/oauth-flow.js";
import { startGuardedServer, type GuardedServer, type WhoAmI } from "../../helpers/oauth-server.js";
import { pkcePair } from "../../helpers/pkce.js";
import { UserAgent } from "../../helpers/user-agent.js";

export interface PresetServer extends GuardedServer {
  /** What the preset reported through `onError` (warnings included). */
  readonly errors: unknown[];
}

/** Options every preset under test gets: a memory store, no registration rate limit, errors collected. */
export function testOptions(errors: unknown[]) {
  return { store: new MemoryStore(), clientRegistration: { rateLimit: false as const }, onError: (error: unknown) => void errors.push(error) };
}

/** A guarded FastMCP server on 127.0.0.1 whose auth is the preset `make` builds for its base URL. */
export async function startPresetServer(make: (baseUrl: string, common: ReturnType<typeof testOptions>) => ProxyProvider): Promise<PresetServer> {
  const errors: unknown[] = [];
  const server = await startGuardedServer((baseUrl) => make(baseUrl, testOptions(errors)));
  return { ...server, errors, close: () => server.close() };
}

/**
 * Registers a client, asks the server to authorize it (`scope` when given), approves the consent
 * page, and returns the query of the upstream authorization URL the browser is then sent to.
 */
export async function upstreamAuthorizationQuery(server: GuardedServer, upstreamAuthorizationEndpoint: string, scope?: string): Promise<URLSearchParams> {
  const client = await registerClient(server.baseUrl);
  const url = new URL(`${server.baseUrl}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0]!,
    code_challenge: pkcePair().challenge,
    code_challenge_method: "S256",
    state: randomBytes(8).toString("base64url"),
    resource: server.url,
    ...(scope !== undefined ? { scope } : {}),
  }).toString();
  const outcome = await new UserAgent().authorize(url, upstreamAuthorizationEndpoint);
  expect(outcome.prompts).toEqual(["consent"]);
  return outcome.params;
}

/** The `whoami` tool's answer. */
export function whoami(result: CallToolResult): WhoAmI {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const [block] = result.content;
  if (block?.type !== "text") throw new Error(`expected a text block, got ${JSON.stringify(result.content)}`);
  return JSON.parse(block.text) as WhoAmI;
}
