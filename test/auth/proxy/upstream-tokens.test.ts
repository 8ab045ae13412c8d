/**
 * The upstream token behind each proxy token: checked on every request (cached for a bounded
 * time), refreshed upstream when it expires, once across concurrent requests, and ending our
 * token when the upstream ends it. Tools can get it to call the identity provider's APIs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWTVerifier, type OAuthProxy } from "fastmcp-ts/auth";
import { authorize, exchangeCode, mcpStatus, registerClient, type TokenResponse } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { PROXY_CLIENT, startProxiedServer, type ProxiedServer } from "./harness.js";

async function signIn(server: ProxiedServer): Promise<TokenResponse> {
  const client = await registerClient(server.baseUrl);
  return exchangeCode(server.baseUrl, client, await authorize(server.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
}

describe("an upstream access token that expires (2 s) behind a proxy token that does not", () => {
  let server: ProxiedServer;

  beforeAll(async () => {
    server = await startProxiedServer({ upstreamVerificationCacheSeconds: 60 }, { accessTokenTtl: 2 });
  });
  afterAll(async () => server?.close());

  it("is refreshed upstream transparently, once for concurrent requests, and the proxy token keeps working", async () => {
    const tokens = await signIn(server);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    const refreshesBefore = server.idp.grants.filter((grant) => grant === "refresh_token").length;
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const statuses = await Promise.all(Array.from({ length: 8 }, async () => (await mcpStatus(server.url, tokens.access_token)).status));
    expect(statuses).toEqual(Array(8).fill(200));
    expect(server.idp.grants.filter((grant) => grant === "refresh_token").length).toBe(refreshesBefore + 1);
    expect(server.errors).toEqual([]);
  });

  it("gives a tool the current upstream access token (upstreamAccessToken), refreshed when it has expired", async () => {
    const tokens = await signIn(server);
    const proxy = server.proxy as OAuthProxy;
    const auth = await proxy.verifyToken(tokens.access_token);
    const first = await proxy.upstreamAccessToken(auth!);
    expect(first).toBeTruthy();
    // It is a token of the upstream, for this server's resource.
    const verifier = new JWTVerifier({ jwksUri: server.idp.jwksUri, issuer: server.idp.issuer, audience: server.url });
    expect(await verifier.verifyToken(first!)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const second = await proxy.upstreamAccessToken(auth!);
    expect(second).not.toBe(first);
    expect(await verifier.verifyToken(second!)).not.toBeNull();
    expect(await proxy.upstreamAccessToken(undefined)).toBeUndefined();
  });
});

describe("tokenExpiryThresholdSeconds: an upstream token living 10 s, treated as expired 8 s early", () => {
  let server: ProxiedServer;

  beforeAll(async () => {
    server = await startProxiedServer({ upstreamVerificationCacheSeconds: 60, tokenExpiryThresholdSeconds: 8 }, { accessTokenTtl: 10 });
  });
  afterAll(async () => server?.close());

  it("is used as is at first, and refreshed upstream once past the threshold, though the upstream would still accept it", async () => {
    const tokens = await signIn(server);
    const refreshes = () => server.idp.grants.filter((grant) => grant === "refresh_token").length;
    const before = refreshes();
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect(refreshes()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect(refreshes()).toBe(before + 1);
    expect(server.errors).toEqual([]);
  });
});

// oidc-provider, like Google and others, sends no new ID token with a refresh (here: one for a resource).
describe("an upstream whose refreshes carry no new ID token, with verifyIdToken", () => {
  let server: ProxiedServer;

  beforeAll(async () => {
    server = await startProxiedServer((idp) => ({
      upstreamSignInScopes: ["openid"],
      verifyIdToken: true,
      tokenVerifier: new JWTVerifier({ jwksUri: idp.jwksUri, issuer: idp.issuer, audience: PROXY_CLIENT.id }),
      upstreamVerificationCacheSeconds: 60,
    }), { accessTokenTtl: 2 });
  });
  afterAll(async () => server?.close());

  it("keeps the sign-in's identity once a refresh the upstream accepted says the person is still signed in", async () => {
    const tokens = await signIn(server);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    expect(server.idp.authorizationRequests.at(-1)?.get("scope")).toBe("openid mcp:read");
    const refreshesBefore = server.idp.grants.filter((grant) => grant === "refresh_token").length;
    for (let period = 1; period <= 2; period++) {
      await new Promise((resolve) => setTimeout(resolve, 2300));
      expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
      // Trusted until the refreshed access token expires, then the upstream is asked again.
      expect(server.idp.grants.filter((grant) => grant === "refresh_token").length).toBe(refreshesBefore + period);
    }
    const auth = await server.proxy.verifyToken(tokens.access_token);
    expect(auth?.claims.upstream_claims).toMatchObject({ sub: "alice", aud: PROXY_CLIENT.id });
    expect(server.errors).toEqual([]);
  });
});

describe("an upstream that revokes its tokens", () => {
  let server: ProxiedServer;

  beforeAll(async () => {
    server = await startProxiedServer({ upstreamVerificationCacheSeconds: 0 }, {}, "oidc");
  });
  afterAll(async () => server?.close());

  it("ends the proxy token once the upstream token is refused (no verdict cache)", async () => {
    const tokens = await signIn(server);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(200);
    // Revoke our grant: the proxy revokes upstream, and the token stops here at once.
    const client = (await server.proxy.verifyToken(tokens.access_token))!.clientId;
    const revoked = await fetch(`${server.baseUrl}/revoke`, { method: "POST", body: new URLSearchParams({ token: tokens.refresh_token!, client_id: client }) });
    expect(revoked.status).toBe(200);
    expect(server.idp.revocations).toContain("RefreshToken");
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(401);
  });
});

describe("startup checks of the scopes", () => {
  it("warns when the challenge asks only for identity scopes, or offline_access is among the scopes", async () => {
    const server = await startProxiedServer({ requiredScopes: ["openid", "email"], validScopes: ["openid", "email", "offline_access", "mcp:read"] });
    try {
      const messages = server.errors.map(String);
      expect(messages.some((message) => message.includes("only for identity scopes (openid email)"))).toBe(true);
      expect(messages.some((message) => message.includes("offline_access is among the scopes"))).toBe(true);
    } finally {
      await server.close();
    }
    const quiet = await startProxiedServer();
    try {
      expect(quiet.errors).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
