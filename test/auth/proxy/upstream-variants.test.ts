/**
 * Upstream tokens and apps the main flow does not meet: a token the verifier refuses before it
 * expires (revoked upstream, a clock that differs), a refreshed token still refused (a verifier
 * that refuses everything: one upstream refresh per period, never one per request), an upstream
 * that does not rotate its refresh tokens, and a public upstream app (no secret: PKCE and
 * `token_endpoint_auth_method` none at the upstream's token endpoint).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWTVerifier, OAuthProxy, type AccessToken } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import { authorize, exchangeCode, mcpStatus, registerClient, type TokenResponse } from "../../helpers/oauth-flow.js";
import { serveBehindProxy, startProxyUpstream, type ProxiedServer } from "../../helpers/proxied-server.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { startProxiedServer, upstreamEndpoints } from "./harness.js";

/** A JWTVerifier that also refuses the tokens it is told to (a revoked upstream token, say), or all. */
class RefusingVerifier extends JWTVerifier {
  readonly refused = new Set<string>();
  refuseAll = false;

  override async verifyToken(token: string): Promise<AccessToken | null> {
    return this.refuseAll || this.refused.has(token) ? null : super.verifyToken(token);
  }
}

async function signIn(server: ProxiedServer): Promise<TokenResponse> {
  const client = await registerClient(server.baseUrl);
  return exchangeCode(server.baseUrl, client, await authorize(server.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
}

function upstreamRefreshes(server: ProxiedServer): number {
  return server.idp.grants.filter((grant) => grant === "refresh_token").length;
}

describe("an upstream token the verifier refuses before it expires", () => {
  let server: ProxiedServer;
  let verifier: RefusingVerifier;

  beforeAll(async () => {
    server = await startProxiedServer((idp, url) => {
      verifier = new RefusingVerifier({ jwksUri: idp.jwksUri, issuer: idp.issuer, audience: url, requiredScopes: ["mcp:read"] });
      return { upstreamVerificationCacheSeconds: 0, tokenVerifier: verifier };
    });
  });
  afterAll(async () => server?.close());

  it("is refreshed upstream once, and the new token serves the request", async () => {
    const tokens = await signIn(server);
    const proxy = server.proxy as OAuthProxy;
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    const before = upstreamRefreshes(server);
    verifier.refused.add((await proxy.upstreamAccessToken(await proxy.verifyToken(tokens.access_token) ?? undefined))!);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect(upstreamRefreshes(server)).toBe(before + 1);
  });

  it("refuses the request when the refreshed token is refused too, and asks the upstream once per period, not per request", async () => {
    const tokens = await signIn(server);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    const before = upstreamRefreshes(server);
    verifier.refuseAll = true;
    try {
      for (let i = 0; i < 6; i++) expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(401);
      expect(upstreamRefreshes(server)).toBe(before + 1);
    } finally {
      verifier.refuseAll = false;
    }
  });
});

describe("an upstream that keeps its refresh token (no rotation), whose access tokens live 2 s", () => {
  let server: ProxiedServer;
  beforeAll(async () => {
    server = await startProxiedServer({ upstreamVerificationCacheSeconds: 60 }, { accessTokenTtl: 2, rotateRefreshTokens: false });
  });
  afterAll(async () => server?.close());

  it("refreshes with the kept refresh token each time the access token expires", async () => {
    const tokens = await signIn(server);
    const before = upstreamRefreshes(server);
    for (let period = 1; period <= 2; period++) {
      await new Promise((resolve) => setTimeout(resolve, 2300));
      expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
      expect(upstreamRefreshes(server)).toBe(before + period);
    }
    expect(server.errors).toEqual([]);
  });
});

describe("a public upstream app (no secret: PKCE, and no client authentication at the upstream's token endpoint)", () => {
  let server: ProxiedServer;
  beforeAll(async () => {
    const upstream = await startProxyUpstream({ id: "mcp-public-proxy" }, { accessTokenTtl: 2 });
    const errors: unknown[] = [];
    const proxy = new OAuthProxy({
      baseUrl: upstream.baseUrl,
      store: new MemoryStore(),
      clientRegistration: { rateLimit: false },
      validScopes: ["mcp:read", "mcp:write"],
      onError: (error) => void errors.push(error),
      ...upstreamEndpoints(upstream.idp.issuer),
      upstreamClientId: "mcp-public-proxy",
      tokenVerifier: new JWTVerifier({ jwksUri: upstream.idp.jwksUri, issuer: upstream.idp.issuer, audience: upstream.url, requiredScopes: ["mcp:read"] }),
      upstreamVerificationCacheSeconds: 60,
    });
    server = await serveBehindProxy(upstream, proxy, errors);
  });
  afterAll(async () => server?.close());

  it("signs in, serves tools, and refreshes upstream once the upstream token expires", async () => {
    const tokens = await signIn(server);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    const before = upstreamRefreshes(server);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect(upstreamRefreshes(server)).toBe(before + 1);
    expect(server.errors).toEqual([]);
  });
});
