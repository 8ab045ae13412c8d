/**
 * MultiAuth: people sign in through an OAuthProxy (in front of oidc-provider), machines present
 * JWTs of another issuer; one MCP server accepts both. The first source that accepts wins,
 * ctx.auth says which, client ids are qualified by source (so two sources' identical client ids
 * never share a session), and the protected resource metadata names every authorization server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { AuthConfigurationError, AuthProvider, JWTKeyPair, JWTVerifier, MultiAuth, OAuthProxy, type AccessToken } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { INITIALIZE, MCP_HEADERS, openSession, postRaw } from "../helpers/http.js";
import { authorize, exchangeCode, mcpStatus, registerClient } from "../helpers/oauth-flow.js";
import { startProxyUpstream, type ProxyUpstream } from "../helpers/proxied-server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { PROXY_CLIENT, upstreamEndpoints } from "./proxy/harness.js";

const MACHINES_ISSUER = "https://machines.example.com";
const PARTNERS_ISSUER = "https://partners.example.com";

/** A source that fails on every token (an unreachable introspection endpoint, say). */
class BrokenSource extends AuthProvider {
  calls = 0;
  async verifyToken(): Promise<AccessToken | null> {
    this.calls += 1;
    throw new Error("source unavailable");
  }
}

let upstream: ProxyUpstream;
let mcp: FastMCP;
let url: string;
const machines = JWTKeyPair.generate("ES256");
const partners = JWTKeyPair.generate("ES256");
const broken = new BrokenSource();
const errors: unknown[] = [];

beforeAll(async () => {
  upstream = await startProxyUpstream(PROXY_CLIENT);
  url = upstream.url;
  const proxy = new OAuthProxy({
    baseUrl: upstream.baseUrl,
    store: new MemoryStore(),
    clientRegistration: { rateLimit: false },
    validScopes: ["mcp:read", "mcp:write"],
    ...upstreamEndpoints(upstream.idp.issuer),
    upstreamClientId: PROXY_CLIENT.id,
    upstreamClientSecret: PROXY_CLIENT.secret!,
    tokenVerifier: new JWTVerifier({ jwksUri: upstream.idp.jwksUri, issuer: upstream.idp.issuer, audience: url }),
    onError: (error) => void errors.push(error),
  });
  const verifier = (keys: JWTKeyPair, issuer: string) => new JWTVerifier({ publicKey: keys.publicKey, algorithm: "ES256", issuer, audience: url }, null);
  mcp = new FastMCP({
    name: "multi",
    auth: new MultiAuth({
      server: proxy,
      verifiers: { broken, machines: verifier(machines, MACHINES_ISSUER), partners: verifier(partners, PARTNERS_ISSUER) },
      requiredScopes: [],
      onError: (error) => void errors.push(error),
    }),
  });
  mcp.tool({
    name: "whoami",
    description: "The caller as the server sees it",
    execute: (_args, ctx) => ({ source: ctx.auth?.source, client: ctx.auth?.clientId, subject: ctx.auth?.subject }),
  });
  await mcp.run({ transport: "http", host: "127.0.0.1", port: upstream.port, banner: false, handleSignals: false });
});

afterAll(async () => {
  await mcp?.close();
  await upstream?.idp.close();
});

/** A machine's token: `keys` signs it for this server, as client `clientId` acting as `subject`. */
function machineToken(keys: JWTKeyPair, issuer: string, clientId: string, subject = clientId): Promise<string> {
  return keys.createToken({ issuer, audience: url, subject, scopes: ["mcp:read"], additionalClaims: { client_id: clientId } });
}

async function whoami(token: string): Promise<Record<string, unknown>> {
  const session = await openSession(url, { authorization: `Bearer ${token}` });
  const response = await postRaw(url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } }, { authorization: `Bearer ${token}`, "mcp-session-id": session, accept: "application/json" });
  const body = (await response.json()) as { result: { structuredContent?: Record<string, unknown>; content: Array<{ text: string }> } };
  return body.result.structuredContent ?? (JSON.parse(body.result.content[0]!.text) as Record<string, unknown>);
}

describe("MultiAuth: a proxy for people and JWT verifiers for machines", () => {
  it("accepts a person's token from the proxy (source server), after the MCP client signed in through its routes", async () => {
    const client = await registerClient(upstream.baseUrl);
    const tokens = await exchangeCode(upstream.baseUrl, client, await authorize(upstream.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
    expect(await whoami(tokens.access_token)).toEqual({ source: "server", client: `server:${client.client_id}`, subject: "alice" });
  });

  it("accepts a machine's JWT from the verifier that knows its issuer, past a source that fails (reported, counted as a refusal)", async () => {
    const before = broken.calls;
    expect(await whoami(await machineToken(machines, MACHINES_ISSUER, "ci-bot"))).toEqual({ source: "machines", client: "machines:ci-bot", subject: "ci-bot" });
    expect(await whoami(await machineToken(partners, PARTNERS_ISSUER, "sync"))).toEqual({ source: "partners", client: "partners:sync", subject: "sync" });
    expect(broken.calls).toBeGreaterThan(before);
    expect(errors.some((error) => (error as Error).message === "source unavailable")).toBe(true);
  });

  it("refuses a token no source accepts with a 401 whose metadata names every authorization server", async () => {
    const stranger = JWTKeyPair.generate("ES256");
    const { status, challenge } = await mcpStatus(url, await stranger.createToken({ issuer: MACHINES_ISSUER, audience: url }));
    expect(status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge ?? "")?.[1];
    expect(metadataUrl).toBe(`${upstream.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await (await fetch(metadataUrl!)).json()) as { resource: string; authorization_servers: string[] };
    expect(metadata.resource).toBe(url);
    expect(metadata.authorization_servers).toEqual([upstream.baseUrl, MACHINES_ISSUER, PARTNERS_ISSUER]);
  });

  it("keeps ownership per source: the same client id and subject from two sources never share a session", async () => {
    const fromMachines = await machineToken(machines, MACHINES_ISSUER, "shared-id", "robot");
    const fromPartners = await machineToken(partners, PARTNERS_ISSUER, "shared-id", "robot");
    const session = await openSession(url, { authorization: `Bearer ${fromMachines}` });
    const ping = (token: string) => postRaw(url, { jsonrpc: "2.0", id: 3, method: "ping" }, { authorization: `Bearer ${token}`, "mcp-session-id": session, accept: "application/json" });
    expect((await ping(fromMachines)).status).toBe(200);
    expect((await ping(fromPartners)).status).toBe(404);
  });

  it("serves the proxy's own OAuth routes and authorization server metadata", async () => {
    const metadata = (await (await fetch(`${upstream.baseUrl}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; registration_endpoint: string };
    expect(metadata.issuer).toBe(upstream.baseUrl);
    expect(metadata.registration_endpoint).toBe(`${upstream.baseUrl}/register`);
    expect((await postRaw(url, INITIALIZE, MCP_HEADERS)).status).toBe(401);
  });
});

describe("MultiAuth configuration", () => {
  const jwt = () => new JWTVerifier({ publicKey: machines.publicKey, algorithm: "ES256", issuer: MACHINES_ISSUER, audience: "https://mcp.example.com/mcp" }, null);

  it("needs at least one source, distinct names, and names that can prefix a client id", () => {
    expect(() => new MultiAuth({})).toThrow(AuthConfigurationError);
    expect(() => new MultiAuth({ verifiers: { "a:b": jwt() } })).toThrow(/must be letters/);
    expect(() => new MultiAuth({ server: jwt(), verifiers: { server: jwt() } })).toThrow(/two sources named server/);
  });

  it("names list sources verifier1, verifier2... and takes the server's base URL and required scopes", () => {
    const server = new JWTVerifier({ publicKey: machines.publicKey, algorithm: "ES256", baseUrl: "https://mcp.example.com", requiredScopes: ["mcp:read"] }, null);
    const multi = new MultiAuth({ server, verifiers: [jwt(), jwt()] });
    expect(multi.sources.map((source) => source.name)).toEqual(["server", "verifier1", "verifier2"]);
    expect(multi.baseUrl).toBe("https://mcp.example.com");
    expect(multi.requiredScopes).toEqual(["mcp:read"]);
    expect(new MultiAuth({ server, requiredScopes: [] }).requiredScopes).toEqual([]);
  });

  it("names scopes in step-up challenges as the server does (the authorization server clients step up at)", () => {
    class PrefixingServer extends JWTVerifier {
      override challengeScope(scope: string): string {
        return `api://app/${scope}`;
      }
    }
    const server = new PrefixingServer({ publicKey: machines.publicKey, algorithm: "ES256", audience: "https://mcp.example.com/mcp" }, null);
    expect(new MultiAuth({ server, verifiers: [jwt()] }).challengeScope("mcp:write")).toBe("api://app/mcp:write");
    expect(new MultiAuth({ verifiers: [server] }).challengeScope("mcp:write")).toBe("mcp:write");
  });

  it("answers a token verified before from the source's cache, qualified once (the same object every time)", async () => {
    const multi = new MultiAuth({ verifiers: { machines: jwt() } });
    const token = await machines.createToken({ issuer: MACHINES_ISSUER, audience: "https://mcp.example.com/mcp", additionalClaims: { client_id: "bot" } });
    expect(multi.cachedToken(token)).toBeUndefined();
    const verified = await multi.verifyToken(token);
    expect(verified?.clientId).toBe("machines:bot");
    expect(multi.cachedToken(token)).toBe(verified);
  });
});
