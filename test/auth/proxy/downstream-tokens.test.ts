/**
 * ctx.downstreamToken(): a tool gets a token for another API on the signed-in user's behalf,
 * through RFC 8693 token exchange or Entra's On-Behalf-Of at a security token service (a fake
 * that implements both exactly), or the user's upstream token itself. Cached per user, audience,
 * resource and scopes until shortly before expiry; failures are typed errors with a message.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP, ToolError } from "fastmcp-ts";
import { DownstreamTokenError, JWTVerifier, OAuthProxy, type OAuthProxyOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { startFakeSts, type FakeSts } from "../../helpers/fake-sts.js";
import { openSession, postRaw } from "../../helpers/http.js";
import { authorize, exchangeCode, registerClient } from "../../helpers/oauth-flow.js";
import { startProxyUpstream, type ProxyUpstream } from "../../helpers/proxied-server.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { PROXY_CLIENT, upstreamEndpoints } from "./harness.js";

interface Served {
  upstream: ProxyUpstream;
  proxy: OAuthProxy;
  mcp: FastMCP;
}

let sts: FakeSts;
const running: Served[] = [];

beforeAll(async () => {
  sts = await startFakeSts({ id: PROXY_CLIENT.id, secret: PROXY_CLIENT.secret! });
});
afterEach(async () => {
  for (const served of running.splice(0)) {
    await served.mcp.close();
    await served.upstream.idp.close();
  }
  sts.refuse = undefined;
  sts.fail = false;
});
afterAll(async () => sts?.close());

/** A proxy over oidc-provider with `downstreamTokens`, serving a tool that returns ctx.downstreamToken(...) (or the error's code and message). */
async function serve(options: Partial<OAuthProxyOptions> = {}): Promise<Served & { signIn: () => Promise<string> }> {
  const upstream = await startProxyUpstream(PROXY_CLIENT, { accessTokenTtl: 600 });
  const proxy = new OAuthProxy({
    baseUrl: upstream.baseUrl,
    store: new MemoryStore(),
    clientRegistration: { rateLimit: false },
    validScopes: ["mcp:read", "mcp:write"],
    ...upstreamEndpoints(upstream.idp.issuer),
    upstreamClientId: PROXY_CLIENT.id,
    upstreamClientSecret: PROXY_CLIENT.secret!,
    tokenVerifier: new JWTVerifier({ jwksUri: upstream.idp.jwksUri, issuer: upstream.idp.issuer, audience: upstream.url }),
    ...options,
  });
  const mcp = new FastMCP({ name: "downstream", auth: proxy });
  mcp.tool({
    name: "api_token",
    description: "A token for another API, on the caller's behalf",
    parameters: z.object({ audience: z.string().optional(), resource: z.string().optional(), scopes: z.array(z.string()).optional() }),
    execute: async (request, ctx) => {
      try {
        return await ctx.downstreamToken(request);
      } catch (error) {
        if (error instanceof DownstreamTokenError) throw new ToolError(`${error.code}: ${error.message}`);
        throw error;
      }
    },
  });
  await mcp.run({ transport: "http", host: "127.0.0.1", port: upstream.port, banner: false, handleSignals: false });
  const served = { upstream, proxy, mcp };
  running.push(served);
  const signIn = async () => {
    const client = await registerClient(upstream.baseUrl);
    return (await exchangeCode(upstream.baseUrl, client, await authorize(upstream.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }))).access_token;
  };
  return { ...served, signIn };
}

/** Calls api_token with `args` as the holder of `token`: the token it returned, or its error text. */
async function apiToken(served: Served, token: string, args: Record<string, unknown> = {}): Promise<{ token?: string; error?: string }> {
  const headers = { authorization: `Bearer ${token}` };
  const session = await openSession(served.upstream.url, headers);
  const response = await postRaw(served.upstream.url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "api_token", arguments: args } }, { ...headers, "mcp-session-id": session, accept: "application/json" });
  const { result } = (await response.json()) as { result: { isError?: boolean; content: Array<{ text: string }> } };
  return result.isError ? { error: result.content[0]!.text } : { token: result.content[0]!.text };
}

/** The user's current upstream access token, as the proxy holds it. */
async function upstreamTokenOf(served: Served, token: string): Promise<string> {
  return (await served.proxy.upstreamAccessToken((await served.proxy.verifyToken(token)) ?? undefined))!;
}

describe("token-exchange (RFC 8693)", () => {
  it("exchanges the user's upstream token for one for the API, authenticated as the proxy's app, and caches it per audience and scopes", async () => {
    const served = await serve({ downstreamTokens: { grant: "token-exchange", tokenEndpoint: sts.tokenEndpoint } });
    const token = await served.signIn();
    const before = sts.requests.length;
    const first = await apiToken(served, token, { audience: "https://api.example.com", scopes: ["orders:read", "orders:write"] });
    expect(first.token).toMatch(/^sts-/);
    const request = sts.requests.at(-1)!;
    expect(request.grantType).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(request.clientId).toBe(PROXY_CLIENT.id);
    expect(request.form.get("subject_token")).toBe(await upstreamTokenOf(served, token));
    expect(request.form.get("audience")).toBe("https://api.example.com");
    expect(request.form.get("scope")).toBe("orders:read orders:write");
    expect(sts.issued.get(first.token!)).toMatchObject({ audience: "https://api.example.com", scope: "orders:read orders:write" });

    // The same request again (scopes in another order): the cached token, no new exchange.
    expect((await apiToken(served, token, { audience: "https://api.example.com", scopes: ["orders:write", "orders:read"] })).token).toBe(first.token);
    expect(sts.requests.length).toBe(before + 1);
    // Another audience: another exchange, another token.
    const other = await apiToken(served, token, { resource: "https://billing.example.com/", scopes: ["invoices:read"] });
    expect(other.token).not.toBe(first.token);
    expect(sts.requests.at(-1)!.form.get("resource")).toBe("https://billing.example.com/");
    expect(sts.requests.length).toBe(before + 2);
  });

  it("caches per user: another user's call exchanges their own upstream token", async () => {
    const served = await serve({ downstreamTokens: { grant: "token-exchange", tokenEndpoint: sts.tokenEndpoint } });
    const [alice, bob] = [await served.signIn(), await served.signIn()];
    const forAlice = await apiToken(served, alice, { audience: "https://api.example.com" });
    const forBob = await apiToken(served, bob, { audience: "https://api.example.com" });
    expect(forBob.token).not.toBe(forAlice.token);
    expect(sts.issued.get(forBob.token!)!.subject).toBe(await upstreamTokenOf(served, bob));
  });

  it("does not reuse a token past a minute before its expiry", async () => {
    const served = await serve({ downstreamTokens: { grant: "token-exchange", tokenEndpoint: sts.tokenEndpoint } });
    const token = await served.signIn();
    sts.expiresIn = 30; // within the minute's margin: never reused
    try {
      const first = await apiToken(served, token, { audience: "https://api.example.com" });
      const second = await apiToken(served, token, { audience: "https://api.example.com" });
      expect(second.token).not.toBe(first.token);
    } finally {
      sts.expiresIn = 300;
    }
  });

  it("turns a refusal into refused and an outage into unavailable, with no token and none of the STS's words", async () => {
    const served = await serve({ downstreamTokens: { grant: "token-exchange", tokenEndpoint: sts.tokenEndpoint } });
    const token = await served.signIn();
    sts.refuse = "invalid_target";
    const refused = await apiToken(served, token, { audience: "https://forbidden.example.com" });
    expect(refused.error).toMatch(/^refused: The identity provider refused/);
    expect(refused.error).not.toContain("refused by the test");
    sts.refuse = undefined;
    sts.fail = true;
    expect((await apiToken(served, token, { audience: "https://api.example.com" })).error).toMatch(/^unavailable: /);
  });
});

describe("on-behalf-of (Microsoft Entra)", () => {
  it("sends the jwt-bearer grant with the user's token as assertion and requested_token_use=on_behalf_of", async () => {
    const served = await serve({ downstreamTokens: { grant: "on-behalf-of", tokenEndpoint: sts.tokenEndpoint } });
    const token = await served.signIn();
    const graph = await apiToken(served, token, { scopes: ["https://graph.microsoft.com/User.Read"] });
    expect(graph.token).toMatch(/^sts-/);
    const request = sts.requests.at(-1)!;
    expect(request.grantType).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    expect(request.form.get("requested_token_use")).toBe("on_behalf_of");
    expect(request.form.get("assertion")).toBe(await upstreamTokenOf(served, token));
    expect(request.form.get("scope")).toBe("https://graph.microsoft.com/User.Read");
  });
});

describe("upstream-token (GitHub-style providers)", () => {
  it("hands out the user's upstream token itself, and refuses to narrow it to another API", async () => {
    const served = await serve({ downstreamTokens: "upstream-token" });
    const token = await served.signIn();
    expect((await apiToken(served, token)).token).toBe(await upstreamTokenOf(served, token));
    expect((await apiToken(served, token, { scopes: ["mcp:read"] })).token).toBe(await upstreamTokenOf(served, token));
    expect((await apiToken(served, token, { scopes: ["repo"] })).error).toMatch(/^refused: The sign-in did not grant repo/);
    expect((await apiToken(served, token, { audience: "https://api.example.com" })).error).toMatch(/^not_supported: /);
  });
});

describe("without downstreamTokens", () => {
  it("fails with not_supported, naming the option", async () => {
    const served = await serve();
    expect((await apiToken(served, await served.signIn())).error).toMatch(/^not_supported: OAuthProxy is not configured .*downstreamTokens/);
  });

  it("refuses an unknown grant at construction", () => {
    expect(() => new OAuthProxy({
      baseUrl: "http://127.0.0.1:9",
      store: new MemoryStore(),
      upstreamAuthorizationEndpoint: "https://idp.example.com/authorize",
      upstreamTokenEndpoint: "https://idp.example.com/token",
      upstreamClientId: "app",
      tokenVerifier: new JWTVerifier({ jwksUri: "https://idp.example.com/jwks", audience: "x" }),
      downstreamTokens: "magic" as never,
    })).toThrow(/downstreamTokens must be token-exchange, on-behalf-of or upstream-token/);
  });
});
