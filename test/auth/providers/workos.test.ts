/**
 * WorkOSProvider: its configuration (the AuthKit domain's endpoints, scopes, environment
 * variables), the authorization URL it sends browsers to, and a sign-in of the official MCP
 * client through it against a stand-in of WorkOS Connect.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { WorkOSProvider, type WorkOSProviderOptions } from "fastmcp-ts/auth/providers/workos";
import { startFakeWorkOS, WORKOS_APP, type FakeWorkOS } from "../../helpers/fake-workos.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";

function workos(options: WorkOSProviderOptions = {}, errors: unknown[] = []): WorkOSProvider {
  return new WorkOSProvider({ ...WORKOS_APP, authkitDomain: "acme.authkit.app", baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("WorkOSProvider: configuration", () => {
  it("puts https:// before a bare AuthKit domain and drops a trailing slash", () => {
    expect(workos().authkitDomain).toBe("https://acme.authkit.app");
    expect(workos({ authkitDomain: "https://acme.authkit.app/" }).authkitDomain).toBe("https://acme.authkit.app");
  });

  it("requires nothing by default, advertises the identity scopes, and warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = workos({}, errors);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["openid", "profile", "email"]);
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(errors).toEqual([]);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_WORKOSPROVIDER_*, explicit options winning", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_WORKOSPROVIDER_CLIENT_ID", "client_env");
    vi.stubEnv("FASTMCP_SERVER_AUTH_WORKOSPROVIDER_CLIENT_SECRET", "env-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_WORKOSPROVIDER_AUTHKIT_DOMAIN", "env.authkit.app");
    vi.stubEnv("FASTMCP_SERVER_AUTH_WORKOSPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_WORKOSPROVIDER_VALID_SCOPES", '["openid","email"]');
    const fromEnv = new WorkOSProvider(testOptions([]));
    expect(fromEnv.authkitDomain).toBe("https://env.authkit.app");
    expect(fromEnv.baseUrl).toBe("https://env.example.com");
    expect(fromEnv.scopesSupported).toEqual(["openid", "email"]);
    const explicit = new WorkOSProvider({ authkitDomain: "code.authkit.app", ...testOptions([]) });
    expect(explicit.authkitDomain).toBe("https://code.authkit.app");
  });

  it.each([
    ["clientId", { clientId: undefined }, "FASTMCP_SERVER_AUTH_WORKOSPROVIDER_CLIENT_ID"],
    ["clientSecret", { clientSecret: undefined }, "FASTMCP_SERVER_AUTH_WORKOSPROVIDER_CLIENT_SECRET"],
    ["authkitDomain", { authkitDomain: undefined }, "FASTMCP_SERVER_AUTH_WORKOSPROVIDER_AUTHKIT_DOMAIN"],
  ])("without %s it fails naming the variable, and never prints the secret", (_option, missing, variable) => {
    const build = () => workos(missing);
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(variable);
    expect(build).not.toThrow(WORKOS_APP.clientSecret);
  });

  it("refuses a plain-http domain off loopback unless allowed", () => {
    expect(() => workos({ authkitDomain: "http://authkit.internal" })).toThrow(/authkitDomain must use https/);
    expect(workos({ authkitDomain: "http://authkit.internal", allowInsecureHttp: true }).authkitDomain).toBe("http://authkit.internal");
  });
});

describe("WorkOSProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("AuthKit's /oauth2/authorize, openid and offline_access before the client's scopes, PKCE, no resource", async () => {
    server = await startPresetServer((baseUrl, common) => new WorkOSProvider({ ...WORKOS_APP, authkitDomain: "acme.authkit.app", baseUrl, ...common }));
    const query = await upstreamAuthorizationQuery(server, "https://acme.authkit.app/oauth2/authorize", "openid profile email");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: WORKOS_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: "openid offline_access profile email",
      code_challenge_method: "S256",
    });
    expect(query.has("resource")).toBe(false);
    expect(query.has("nonce")).toBe(false);
    expect(server.errors).toEqual([]);
  });

  it("with checkIssuer, a nonce goes with every sign-in", async () => {
    server = await startPresetServer((baseUrl, common) => new WorkOSProvider({ ...WORKOS_APP, authkitDomain: "acme.authkit.app", baseUrl, checkIssuer: true, ...common }));
    const query = await upstreamAuthorizationQuery(server, "https://acme.authkit.app/oauth2/authorize", "openid");
    expect(query.get("nonce")).toBeTruthy();
  });
});

describe("WorkOSProvider end to end: the official MCP client signs in through a stand-in of WorkOS Connect", () => {
  let fake: FakeWorkOS;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeWorkOS();
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      return new WorkOSProvider({ ...WORKOS_APP, authkitDomain: fake.domain, baseUrl, ...common });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("signs in with AuthKit, and the tool sees the WorkOS user: subject and upstream claims", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "leroy" }) }).connect();
    expect(client.authorizations.map((a) => a.prompts)).toEqual([["consent", "login"]]);
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(fake.subjectOf("leroy"));
    expect(me.scopes).toEqual(["openid", "profile", "email"]);
    expect(me.claims.upstream_claims).toEqual({
      sub: fake.subjectOf("leroy"),
      email: "leroy@acme.example",
      email_verified: true,
      name: "Leroy Jenkins",
      given_name: "Leroy",
      family_name: "Jenkins",
    });
    // Client credentials in the body of the token request, as WorkOS documents.
    const [exchange] = fake.upstream.tokenRequests;
    expect(exchange!.form.get("client_secret")).toBe(WORKOS_APP.clientSecret);
    expect(exchange!.headers.authorization).toBeUndefined();
    expect(server.errors).toEqual([]);
  });
});
