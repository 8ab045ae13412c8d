/**
 * GitHubProvider: its configuration (GitHub's endpoints, Enterprise Server, scopes, environment
 * variables), the authorization URL it sends browsers to, and sign-ins of the official MCP client
 * and of this project's Client through it against a stand-in of GitHub laid out as Enterprise
 * Server: an OAuth App (tokens that never expire), a GitHub App (expiring tokens refreshed
 * transparently), a revoked token, and GitHub's token errors that come with HTTP 200.
 */
import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError, authFromEnvironment, type AccessToken } from "fastmcp-ts/auth";
import { GitHubProvider, type GitHubProviderOptions } from "fastmcp-ts/auth/providers/github";
import { GitHubTokenVerifier } from "fastmcp-ts/auth/providers/github-token-verifier";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { scriptedBrowser } from "../../client/oauth/helpers.js";
import { FakeGitHub, GITHUB_APP, type FakeGitHubOptions } from "../../helpers/fake-github.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { mcpStatus, registerClient } from "../../helpers/oauth-flow.js";
import { pkcePair } from "../../helpers/pkce.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";

function github(options: GitHubProviderOptions = {}, errors: unknown[] = []): GitHubProvider {
  return new GitHubProvider({ clientId: GITHUB_APP.clientId, clientSecret: GITHUB_APP.clientSecret, baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("GitHubProvider: configuration", () => {
  it("talks to github.com and api.github.com, requires no scope, offers read:user and user:email, and warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = github({}, errors);
    expect(provider.endpoints).toEqual({
      authorization: "https://github.com/login/oauth/authorize",
      token: "https://github.com/login/oauth/access_token",
      api: "https://api.github.com",
    });
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["read:user", "user:email"]);
    expect(errors).toEqual([]);
  });

  it("GitHub Enterprise Server: the web and /api/v3 on its host; ghe.com: the api. subdomain; apiUrl wins", () => {
    expect(github({ githubUrl: "https://github.acme.example/" }).endpoints).toEqual({
      authorization: "https://github.acme.example/login/oauth/authorize",
      token: "https://github.acme.example/login/oauth/access_token",
      api: "https://github.acme.example/api/v3",
    });
    expect(github({ githubUrl: "https://acme.ghe.com" }).endpoints.api).toBe("https://api.acme.ghe.com");
    expect(github({ githubUrl: "https://github.acme.example", apiUrl: "https://api.github.acme.example" }).endpoints.api).toBe("https://api.github.acme.example");
  });

  it("refuses a plain-http GitHub off loopback, naming the setting", () => {
    expect(() => github({ githubUrl: "http://github.internal" })).toThrow(/githubUrl must use https/);
    expect(() => github({ apiUrl: "http://github.internal/api/v3" })).toThrow(/apiUrl must use https/);
    expect(() => github({ githubUrl: "http://github.internal", allowInsecureHttp: true })).not.toThrow();
  });

  it("needs the client id and the client secret, naming their variables, and never prints the secret", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_SECRET", "do-not-print-this-secret");
    const withoutId = () => new GitHubProvider({ baseUrl: BASE_URL, ...testOptions([]) });
    expect(withoutId).toThrow(AuthConfigurationError);
    expect(withoutId).toThrow(/GitHubProvider needs clientId.*FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_ID/);
    expect(withoutId).not.toThrow(/do-not-print/);
    vi.unstubAllEnvs();
    expect(() => new GitHubProvider({ clientId: GITHUB_APP.clientId, baseUrl: BASE_URL, ...testOptions([]) })).toThrow(/GitHubProvider needs clientSecret.*FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_SECRET/);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_GITHUBPROVIDER_*", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_ID", "Iv23liEnvClient");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_SECRET", "env-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_GITHUB_URL", "https://github.env.example");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_REQUIRED_SCOPES", "repo");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_REDIRECT_PATH", "/github/callback");
    const provider = new GitHubProvider(testOptions([]));
    expect(provider.baseUrl).toBe("https://env.example.com");
    expect(provider.callbackUrl).toBe("https://env.example.com/github/callback");
    expect(provider.endpoints.authorization).toBe("https://github.env.example/login/oauth/authorize");
    expect(provider.endpoints.api).toBe("https://github.env.example/api/v3");
    expect(provider.requiredScopes).toEqual(["repo"]);
    expect(provider.scopesSupported).toEqual(["read:user", "user:email", "repo"]);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_API_URL", "https://api.env.example");
    expect(new GitHubProvider(testOptions([])).endpoints.api).toBe("https://api.env.example");
  });

  it("also reads the reference's FASTMCP_SERVER_AUTH_GITHUB_*, after GITHUBPROVIDER_ and after explicit options", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUB_CLIENT_ID", "Ov23liLegacy");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUB_CLIENT_SECRET", "legacy-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUB_BASE_URL", "https://legacy.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_BASE_URL", "https://current.example.com");
    expect(new GitHubProvider(testOptions([])).baseUrl).toBe("https://current.example.com");
    expect(new GitHubProvider({ ...testOptions([]), baseUrl: BASE_URL }).baseUrl).toBe(BASE_URL);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_BASE_URL", "");
    expect(new GitHubProvider(testOptions([])).baseUrl).toBe("https://legacy.example.com");
  });

  it.each(["github", "GitHubProvider", "fastmcp.server.auth.providers.github.GitHubProvider"])("FASTMCP_SERVER_AUTH=%s builds a GitHubProvider from the environment", (selector) => {
    vi.stubEnv("FASTMCP_SERVER_AUTH", selector);
    expect(() => authFromEnvironment()).toThrow(/GitHubProvider needs clientId.*FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_ID/);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_ID", GITHUB_APP.clientId);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_CLIENT_SECRET", GITHUB_APP.clientSecret);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_BASE_URL", BASE_URL);
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_ENCRYPTION_KEY", randomBytes(32).toString("base64url"));
    vi.stubEnv("FASTMCP_SERVER_AUTH_GITHUBPROVIDER_REQUIRED_SCOPES", "read:org");
    const provider = authFromEnvironment();
    expect(provider).toBeInstanceOf(GitHubProvider);
    expect(provider!.requiredScopes).toEqual(["read:org"]);
  });
});

describe("GitHubProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("GitHub's endpoint, the client's scopes space-separated, PKCE S256, and no resource, nonce or openid", async () => {
    server = await startPresetServer((baseUrl, common) => new GitHubProvider({ clientId: GITHUB_APP.clientId, clientSecret: GITHUB_APP.clientSecret, baseUrl, ...common }));
    const query = await upstreamAuthorizationQuery(server, "https://github.com/login/oauth/authorize", "read:user user:email");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: GITHUB_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: "read:user user:email",
      code_challenge_method: "S256",
    });
    expect(query.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(query.has("resource")).toBe(false);
    expect(query.has("nonce")).toBe(false);
    expect(server.errors).toEqual([]);
  });
});

/** A preset server in front of a fresh stand-in of GitHub, reached through `githubUrl` as an Enterprise Server is. */
async function gitHubServer(fakeOptions: FakeGitHubOptions = {}, options: GitHubProviderOptions = {}): Promise<{ fake: FakeGitHub; server: PresetServer }> {
  const fake = await FakeGitHub.start(fakeOptions);
  const server = await startPresetServer((baseUrl, common) => {
    fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
    return new GitHubProvider({ clientId: GITHUB_APP.clientId, clientSecret: GITHUB_APP.clientSecret, baseUrl, githubUrl: fake.url, ...common, ...options });
  });
  return { fake, server };
}

/** The upstream (GitHub) access token behind a client's token, as a tool would get it. */
function upstreamTokenOf(server: PresetServer, accessToken: string): Promise<string | undefined> {
  const { gid } = decodeJwt(accessToken);
  return (server.auth as GitHubProvider).upstreamAccessToken({ claims: { gid } } as unknown as AccessToken);
}

describe("GitHubProvider end to end: an OAuth App (tokens that never expire, no refresh token)", () => {
  let fake: FakeGitHub;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    ({ fake, server } = await gitHubServer({ kind: "oauth-app" }, { upstreamVerificationCacheSeconds: 0 }));
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("the official MCP client signs in at GitHub, and the tool sees the GitHub user: numeric id, granted scopes, profile", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice" }) }).connect();
    expect(client.authorizations.map((a) => a.prompts)).toEqual([["consent", "login"]]);
    const me = whoami(await client.callTool("whoami"));
    const id = String(fake.idOf("alice"));
    expect(me.subject).toBe(id);
    // GitHub listed them comma-separated ("read:user,user:email").
    expect(me.scopes).toEqual(["read:user", "user:email"]);
    expect(me.claims.upstream_claims).toEqual({ sub: id, login: "alice", name: "Alice Octocat", email: "alice@users.example", avatar_url: `https://avatars.githubusercontent.example/u/${id}?v=4` });
    expect(server.errors).toEqual([]);
  });

  it("asked GitHub's token endpoint for JSON, with the app's credentials in the body and the PKCE verifier", () => {
    const [exchange] = fake.tokenRequests;
    expect(exchange!.headers.accept).toMatch(/application\/json/);
    expect(exchange!.headers.authorization).toBeUndefined();
    expect(exchange!.form.get("client_id")).toBe(GITHUB_APP.clientId);
    expect(exchange!.form.get("client_secret")).toBe(GITHUB_APP.clientSecret);
    expect(exchange!.form.get("code_verifier")).toMatch(/^[\w-]{43,128}$/);
    expect(fake.tokenRequests.some((request) => request.form.get("grant_type") === "refresh_token")).toBe(false);
  });

  it("a tool gets the GitHub token behind the caller's token, which GitHub's API accepts", async () => {
    const upstream = await upstreamTokenOf(server, client.tokens!.access_token);
    expect(upstream).toBe(fake.accessTokens[0]);
    expect((await new GitHubTokenVerifier({ apiUrl: fake.apiUrl }).verifyToken(upstream!))?.subject).toBe(String(fake.idOf("alice")));
  });

  it("ctx.downstreamToken() hands a tool that same GitHub token, checks scopes against GitHub's comma-separated grant, and refuses another API", async () => {
    const { gid } = decodeJwt(client.tokens!.access_token);
    const auth = { claims: { gid } } as unknown as AccessToken;
    const provider = server.auth as GitHubProvider;
    expect(await provider.downstreamToken(auth, { scopes: ["user:email", "read:user"] })).toBe(fake.accessTokens[0]);
    await expect(provider.downstreamToken(auth, { scopes: ["repo"] })).rejects.toMatchObject({ code: "refused" });
    await expect(provider.downstreamToken(auth, { audience: "https://api.example.com" })).rejects.toMatchObject({ code: "not_supported" });
  });

  it("this project's Client signs in too, and the tool sees a user whose name and email are private as null", async () => {
    const browser = scriptedBrowser({ login: "bob" });
    await using ours = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: new MemoryStore() }) });
    await ours.connect();
    const me = JSON.parse(((await ours.callTool("whoami")).content[0] as { text: string }).text) as { subject: string; claims: { upstream_claims: Record<string, unknown> } };
    expect(me.subject).toBe(String(fake.idOf("bob")));
    expect(me.claims.upstream_claims).toMatchObject({ login: "bob", name: null, email: null });
    expect(browser.opened).toHaveLength(1);
  });

  it("a GitHub token revoked upstream (the user revoked the app) makes the client's token a 401", async () => {
    const token = client.tokens!.access_token;
    expect((await mcpStatus(server.url, token)).status).toBe(200);
    fake.revoke(fake.accessTokens[0]!);
    const after = await mcpStatus(server.url, token);
    expect(after.status).toBe(401);
    expect(after.challenge).toMatch(/^Bearer /);
    // No refresh token to try, and nothing reported: GitHub refused the token, it did not fail.
    expect(fake.tokenRequests.some((request) => request.form.get("grant_type") === "refresh_token")).toBe(false);
    expect(server.errors).toEqual([]);
  });
});

describe("GitHubProvider end to end: a GitHub App whose user tokens expire", () => {
  let fake: FakeGitHub;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    ({ fake, server } = await gitHubServer({ kind: "github-app", accessTokenTtlSeconds: 2 }));
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("signs in (no scopes: a GitHub App grants none), and the expired GitHub token is refreshed without the client noticing", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "erin" }) }).connect();
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(String(fake.idOf("erin")));
    expect(me.scopes).toEqual([]);
    const first = fake.accessTokens[0]!;
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(whoami(await client.callTool("whoami")).subject).toBe(String(fake.idOf("erin")));
    const refreshes = fake.tokenRequests.filter((request) => request.form.get("grant_type") === "refresh_token");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.form.get("refresh_token")).toMatch(/^ghr_/);
    expect(refreshes[0]!.form.has("scope")).toBe(false);
    expect(fake.accessTokens).toHaveLength(2);
    expect(fake.upstream.active(first)).toBeUndefined();
    expect(client.authorizations).toHaveLength(1);
    expect(server.errors).toEqual([]);
  });

  it("the next refresh presents the rotated refresh token, and a tool gets the fresh GitHub token", async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const upstream = await upstreamTokenOf(server, client.tokens!.access_token);
    expect(upstream).toBe(fake.accessTokens[2]);
    const refreshes = fake.tokenRequests.filter((request) => request.form.get("grant_type") === "refresh_token").map((request) => request.form.get("refresh_token"));
    expect(refreshes).toHaveLength(2);
    expect(refreshes[1]).not.toBe(refreshes[0]);
    expect(server.errors).toEqual([]);
  });
});

describe("GitHubProvider end to end: GitHub's token errors come with HTTP 200", () => {
  let fake: FakeGitHub;
  let server: PresetServer;

  beforeAll(async () => {
    ({ fake, server } = await gitHubServer());
  });

  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("bad_verification_code sends the client an error redirect, no code; the server reports it without secrets and keeps serving", async () => {
    fake.codeError = "bad_verification_code";
    const client = await registerClient(server.baseUrl);
    const state = randomBytes(8).toString("base64url");
    const url = new URL(`${server.baseUrl}/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      code_challenge: pkcePair().challenge,
      code_challenge_method: "S256",
      state,
      scope: "read:user",
    }).toString();
    const outcome = await new UserAgent({ login: "mallory" }).authorize(url, client.redirect_uris[0]!);
    expect(outcome.params.get("code")).toBeNull();
    expect(outcome.params.get("state")).toBe(state);
    expect(outcome.params.get("error")).toBe("server_error"); // a refusal (HTTP 200 with an error), not an outage
    expect(server.errors.map(String).join("\n")).toContain("bad_verification_code");
    expect(fake.tokenRequests).toHaveLength(1);
    const reported = server.errors.map(String).join("\n");
    expect(reported).toMatch(/token endpoint/);
    expect(reported).not.toContain(GITHUB_APP.clientSecret);
    // The next sign-in goes through.
    await using ours = new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice" }) });
    await ours.connect();
    expect(whoami(await ours.callTool("whoami")).subject).toBe(String(fake.idOf("alice")));
  });
});
