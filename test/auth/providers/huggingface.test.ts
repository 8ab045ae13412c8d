/**
 * HuggingFaceProvider: its configuration (Hugging Face's endpoints, scopes, environment
 * variables, a public app without secret), the authorization URL it sends browsers to, and
 * sign-ins of the official MCP client and of our own Client through it against a stand-in of
 * Hugging Face, for a public and a confidential app, down to the user revoking the app.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError, authFromEnvironment } from "fastmcp-ts/auth";
import { Client, OAuth } from "fastmcp-ts/client";
import { HUGGINGFACE_ENDPOINTS, HuggingFaceProvider, type HuggingFaceProviderOptions } from "fastmcp-ts/auth/providers/huggingface";
import { MemoryStore } from "fastmcp-ts/storage";
import { scriptedBrowser } from "../../client/oauth/helpers.js";
import { HUGGINGFACE_APP, startFakeHuggingFace, type FakeHuggingFace } from "../../helpers/fake-huggingface.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { mcpStatus } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";

function huggingFace(options: HuggingFaceProviderOptions = {}, errors: unknown[] = []): HuggingFaceProvider {
  return new HuggingFaceProvider({ clientId: HUGGINGFACE_APP.clientId, baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("HuggingFaceProvider: configuration", () => {
  it("talks to Hugging Face's endpoints, offers openid and profile, and warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = huggingFace({}, errors);
    expect(provider.endpoints).toEqual({
      authorization: "https://huggingface.co/oauth/authorize",
      token: "https://huggingface.co/oauth/token",
      userinfo: "https://huggingface.co/oauth/userinfo",
    });
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["openid", "profile"]);
    expect(errors).toEqual([]);
  });

  it("a client secret is optional (a public app), the client id is not, and the secret never shows in the error", () => {
    expect(() => huggingFace({ clientSecret: undefined })).not.toThrow();
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_CLIENT_SECRET", "hf-do-not-print");
    const build = () => new HuggingFaceProvider({ baseUrl: BASE_URL, ...testOptions([]) });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(/HuggingFaceProvider needs clientId.*FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_CLIENT_ID/);
    expect(build).not.toThrow(/do-not-print/);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_*, explicit options winning", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_CLIENT_ID", "env-client");
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_REQUIRED_SCOPES", "read-repos");
    const fromEnv = new HuggingFaceProvider(testOptions([]));
    expect(fromEnv.baseUrl).toBe("https://env.example.com");
    expect(fromEnv.requiredScopes).toEqual(["read-repos"]);
    expect(fromEnv.scopesSupported).toEqual(["openid", "profile", "read-repos"]);
    expect(new HuggingFaceProvider({ baseUrl: BASE_URL, ...testOptions([]) }).baseUrl).toBe(BASE_URL);
  });

  it.each(["huggingface", "HuggingFaceProvider", "fastmcp.server.auth.providers.huggingface.HuggingFaceProvider"])("FASTMCP_SERVER_AUTH=%s builds it from the environment", (selector) => {
    vi.stubEnv("FASTMCP_SERVER_AUTH", selector);
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_CLIENT_ID", HUGGINGFACE_APP.clientId);
    vi.stubEnv("FASTMCP_SERVER_AUTH_HUGGINGFACEPROVIDER_BASE_URL", BASE_URL);
    expect(authFromEnvironment()).toBeInstanceOf(HuggingFaceProvider);
  });
});

describe("HuggingFaceProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("Hugging Face's endpoint, openid before the client's scopes, PKCE, no resource", async () => {
    server = await startPresetServer((baseUrl, common) => new HuggingFaceProvider({ clientId: HUGGINGFACE_APP.clientId, baseUrl, validScopes: ["openid", "profile", "email"], ...common }));
    const query = await upstreamAuthorizationQuery(server, HUGGINGFACE_ENDPOINTS.authorization, "profile email");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: HUGGINGFACE_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: "openid profile email",
      code_challenge_method: "S256",
    });
    expect(query.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(query.has("resource")).toBe(false);
    expect(server.errors).toEqual([]);
  });
});

describe.each([
  ["a public app (no secret)", true],
  ["a confidential app", false],
] as const)("HuggingFaceProvider end to end against a stand-in of Hugging Face: %s", (_kind, isPublic) => {
  let fake: FakeHuggingFace;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeHuggingFace({ public: isPublic });
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      return new HuggingFaceProvider({
        clientId: HUGGINGFACE_APP.clientId,
        ...(isPublic ? {} : { clientSecret: HUGGINGFACE_APP.clientSecret }),
        baseUrl,
        endpoints: fake.endpoints,
        validScopes: ["openid", "profile", "email"],
        // Every request asks Hugging Face, so a revocation shows at once.
        upstreamVerificationCacheSeconds: 0,
        ...common,
      });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("the official MCP client signs in, and the tool sees the Hugging Face user, with the scopes the token response granted", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "julien" }) }).connect();
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(fake.subjectOf("julien"));
    expect(me.scopes).toEqual(["openid", "profile", "email"]);
    expect(me.claims.upstream_claims).toMatchObject({ sub: fake.subjectOf("julien"), preferred_username: "julien", name: "Julien Face", email: "julien@hf.example" });
    const [exchange] = fake.tokenRequests;
    if (isPublic) {
      // No secret anywhere: the client id and the PKCE verifier only.
      expect(exchange!.headers.authorization).toBeUndefined();
      expect(exchange!.form.has("client_secret")).toBe(false);
      expect(exchange!.form.get("client_id")).toBe(HUGGINGFACE_APP.clientId);
    } else {
      expect(fake.upstream.authenticatesClient(exchange!, "client_secret_basic")).toBe(true);
    }
    expect(exchange!.form.get("code_verifier")).toBeTruthy();
    expect(server.errors).toEqual([]);
  });

  it("our own Client signs in too", async () => {
    const browser = scriptedBrowser({ login: "lysandre" });
    await using ours = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: new MemoryStore() }) });
    await ours.connect();
    expect(whoami(await ours.callTool("whoami")).subject).toBe(fake.subjectOf("lysandre"));
    expect(browser.opened).toHaveLength(1);
  });

  it("a user who revokes the app at Hugging Face is signed out: the next request is a 401", async () => {
    const token = client.tokens!.access_token;
    expect((await mcpStatus(server.url, token)).status).not.toBe(401);
    await fake.revokeApp("julien");
    expect((await mcpStatus(server.url, token)).status).toBe(401);
  });
});
