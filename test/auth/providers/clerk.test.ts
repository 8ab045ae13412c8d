/**
 * ClerkProvider: its configuration (the instance domain's endpoints, scopes, environment
 * variables), the authorization URL it sends browsers to, and a sign-in of the official MCP
 * client through it against a stand-in of a Clerk instance.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { ClerkProvider, type ClerkProviderOptions } from "fastmcp-ts/auth/providers/clerk";
import { CLERK_APP, startFakeClerk, type FakeClerk } from "../../helpers/fake-clerk.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";
const DOMAIN = "saving-primate-16.clerk.accounts.dev";

function clerk(options: ClerkProviderOptions = {}, errors: unknown[] = []): ClerkProvider {
  return new ClerkProvider({ ...CLERK_APP, domain: DOMAIN, baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("ClerkProvider: configuration", () => {
  it("puts https:// before the instance domain; requires nothing, advertises openid email profile, warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = clerk({}, errors);
    expect(provider.domain).toBe(`https://${DOMAIN}`);
    expect(clerk({ domain: `https://${DOMAIN}/` }).domain).toBe(`https://${DOMAIN}`);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["openid", "email", "profile"]);
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(errors).toEqual([]);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_CLERKPROVIDER_*, explicit options winning", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_CLERKPROVIDER_DOMAIN", "clerk.env.example");
    vi.stubEnv("FASTMCP_SERVER_AUTH_CLERKPROVIDER_CLIENT_ID", "envClientId");
    vi.stubEnv("FASTMCP_SERVER_AUTH_CLERKPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_CLERKPROVIDER_REQUIRED_SCOPES", "email");
    vi.stubEnv("FASTMCP_SERVER_AUTH_CLERKPROVIDER_VALID_SCOPES", "openid,email,profile,public_metadata");
    const fromEnv = new ClerkProvider(testOptions([]));
    expect(fromEnv.domain).toBe("https://clerk.env.example");
    expect(fromEnv.baseUrl).toBe("https://env.example.com");
    expect(fromEnv.requiredScopes).toEqual(["email"]);
    expect(fromEnv.scopesSupported).toEqual(["openid", "email", "profile", "public_metadata"]);
    const explicit = new ClerkProvider({ domain: "clerk.code.example", requiredScopes: [], ...testOptions([]) });
    expect(explicit.domain).toBe("https://clerk.code.example");
    expect(explicit.requiredScopes).toEqual([]);
  });

  it.each([
    ["domain", { domain: undefined }, "FASTMCP_SERVER_AUTH_CLERKPROVIDER_DOMAIN"],
    ["clientId", { clientId: undefined }, "FASTMCP_SERVER_AUTH_CLERKPROVIDER_CLIENT_ID"],
  ])("without %s it fails naming the variable, and never prints the secret", (_option, missing, variable) => {
    const build = () => clerk(missing);
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(variable);
    expect(build).not.toThrow(CLERK_APP.clientSecret);
  });

  it("required Clerk scopes are valid ones too, unless validScopes says otherwise", () => {
    expect(clerk({ requiredScopes: ["public_metadata"] }).scopesSupported).toEqual(["openid", "email", "profile", "public_metadata"]);
    expect(clerk({ requiredScopes: ["public_metadata"], validScopes: ["public_metadata"] }).scopesSupported).toEqual(["public_metadata"]);
  });

  it("a client secret is optional (a public Clerk application: PKCE only)", () => {
    expect(() => clerk({ clientSecret: undefined })).not.toThrow();
  });

  it("refuses a plain-http domain off loopback unless allowed", () => {
    expect(() => clerk({ domain: "http://clerk.internal" })).toThrow(/domain must use https/);
    expect(clerk({ domain: "http://clerk.internal", allowInsecureHttp: true }).domain).toBe("http://clerk.internal");
  });
});

describe("ClerkProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("the instance's /oauth/authorize, openid email profile, PKCE, no resource and no nonce", async () => {
    server = await startPresetServer((baseUrl, common) => new ClerkProvider({ ...CLERK_APP, domain: DOMAIN, baseUrl, ...common }));
    const query = await upstreamAuthorizationQuery(server, `https://${DOMAIN}/oauth/authorize`, "email");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: CLERK_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: "openid email profile",
      code_challenge_method: "S256",
    });
    expect(query.has("resource")).toBe(false);
    expect(query.has("nonce")).toBe(false);
    expect(server.errors).toEqual([]);
  });

  it("with checkIssuer, a nonce goes with every sign-in", async () => {
    server = await startPresetServer((baseUrl, common) => new ClerkProvider({ ...CLERK_APP, domain: DOMAIN, baseUrl, checkIssuer: true, ...common }));
    expect((await upstreamAuthorizationQuery(server, `https://${DOMAIN}/oauth/authorize`)).get("nonce")).toBeTruthy();
  });
});

describe("ClerkProvider end to end: the official MCP client signs in through a stand-in of a Clerk instance", () => {
  let fake: FakeClerk;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeClerk();
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      return new ClerkProvider({ ...CLERK_APP, domain: fake.domain, baseUrl, requiredScopes: ["public_metadata"], ...common });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("signs in with Clerk, and the tool sees the Clerk user: subject and upstream claims", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "sam" }) }).connect();
    expect(client.authorizations.map((a) => a.prompts)).toEqual([["consent", "login"]]);
    // The challenge named the required scope (the SDK adds offline_access for itself).
    expect(client.authorizations[0]!.scopes).toContain("public_metadata");
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(fake.subjectOf("sam"));
    expect(me.scopes).toEqual(["public_metadata"]);
    expect(me.claims.upstream_claims).toMatchObject({
      active: true,
      client_id: CLERK_APP.clientId,
      sub: fake.subjectOf("sam"),
      scope: "openid email profile public_metadata",
      public_metadata: { plan: "pro" },
      email: "sam@clerk.example",
      name: "Sam Primate",
      picture: "https://img.clerk.example/sam.png",
    });
    // The code exchange and every introspection authenticate the application with HTTP Basic.
    expect(fake.upstream.tokenRequests[0]!.headers.authorization).toMatch(/^Basic /);
    const introspections = fake.upstream.requests.filter((request) => request.url.pathname === "/oauth/token_info");
    expect(introspections.length).toBeGreaterThanOrEqual(1);
    for (const introspection of introspections) expect(introspection.headers.authorization).toMatch(/^Basic /);
    expect(server.errors).toEqual([]);
  });
});
