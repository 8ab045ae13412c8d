/**
 * GoogleProvider: its configuration (Google's endpoints, scopes, environment variables), the
 * authorization URL it sends browsers to, and a sign-in of the official MCP client through it
 * against a stand-in of Google's endpoints.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { GOOGLE_ENDPOINTS, GoogleProvider, type GoogleProviderOptions } from "fastmcp-ts/auth/providers/google";
import { GoogleTokenVerifier } from "fastmcp-ts/auth/providers/google-token-verifier";
import { GOOGLE_APP, startFakeGoogle, type FakeGoogle } from "../../helpers/fake-google.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { mcpStatus, revoke } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";
const USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email";
const USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile";

function google(options: GoogleProviderOptions = {}, errors: unknown[] = []): GoogleProvider {
  return new GoogleProvider({ clientId: GOOGLE_APP.clientId, clientSecret: GOOGLE_APP.clientSecret, baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("GoogleProvider: configuration", () => {
  it("talks to Google's endpoints, verifies with tokeninfo pinned to the client id, and warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = google({}, errors);
    expect(provider.endpoints).toEqual({
      authorization: "https://accounts.google.com/o/oauth2/v2/auth",
      token: "https://oauth2.googleapis.com/token",
      revocation: "https://oauth2.googleapis.com/revoke",
      tokeninfo: "https://oauth2.googleapis.com/tokeninfo",
      userinfo: "https://openidconnect.googleapis.com/v1/userinfo",
      issuer: "https://accounts.google.com",
    });
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["openid", "email", "profile"]);
    expect(errors).toEqual([]);
  });

  it("the verifier it builds pins aud to the client id and reads Google's tokeninfo and userinfo", () => {
    const verifier = new GoogleTokenVerifier({ clientId: GOOGLE_APP.clientId });
    expect(verifier.tokeninfoUrl.href).toBe(GOOGLE_ENDPOINTS.tokeninfo);
    expect(verifier.userinfoUrl?.href).toBe(GOOGLE_ENDPOINTS.userinfo);
    expect(verifier.clientId).toBe(GOOGLE_APP.clientId);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_*", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_CLIENT_ID", "env-client.apps.googleusercontent.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_CLIENT_SECRET", "env-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_REQUIRED_SCOPES", "https://www.googleapis.com/auth/drive.readonly");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_VALID_SCOPES", "openid email profile https://www.googleapis.com/auth/drive.readonly");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_REDIRECT_PATH", "/google/callback");
    const provider = new GoogleProvider(testOptions([]));
    expect(provider.baseUrl).toBe("https://env.example.com");
    expect(provider.callbackUrl).toBe("https://env.example.com/google/callback");
    expect(provider.requiredScopes).toEqual(["https://www.googleapis.com/auth/drive.readonly"]);
    expect(provider.scopesSupported).toEqual(["openid", "email", "profile", "https://www.googleapis.com/auth/drive.readonly"]);
  });

  it("explicit options win over the environment", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_REQUIRED_SCOPES", "openid");
    const provider = google({ requiredScopes: ["https://www.googleapis.com/auth/calendar.readonly"] });
    expect(provider.baseUrl).toBe(BASE_URL);
    expect(provider.requiredScopes).toEqual(["https://www.googleapis.com/auth/calendar.readonly"]);
  });

  it("a required Google API scope is one clients may ask for, unless validScopes says otherwise", () => {
    const drive = "https://www.googleapis.com/auth/drive.readonly";
    expect(google({ requiredScopes: [drive] }).scopesSupported).toEqual(["openid", "email", "profile", drive]);
    expect(google({ requiredScopes: [drive], validScopes: ["openid", drive] }).scopesSupported).toEqual(["openid", drive]);
  });

  it("without a client id it fails naming the variable, and never prints the secret", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_CLIENT_SECRET", "GOCSPX-do-not-print");
    const build = () => new GoogleProvider({ baseUrl: BASE_URL, ...testOptions([]) });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(/GoogleProvider needs clientId.*FASTMCP_SERVER_AUTH_GOOGLEPROVIDER_CLIENT_ID/);
    expect(build).not.toThrow(/do-not-print/);
  });

  it("a client secret is optional (a public client: PKCE only)", () => {
    expect(() => new GoogleProvider({ clientId: GOOGLE_APP.clientId, baseUrl: BASE_URL, ...testOptions([]) })).not.toThrow();
  });

  it("refuses a plain-http endpoint off loopback, naming the setting", () => {
    expect(() => google({ endpoints: { token: "http://google.internal/token" } })).toThrow(/upstreamTokenEndpoint must use https/);
    expect(() => google({ endpoints: { tokeninfo: "http://google.internal/tokeninfo" } })).toThrow(/tokeninfoUrl must use https/);
  });

  it("warns, as every proxy does, when the challenge would ask only for identity scopes", () => {
    const errors: unknown[] = [];
    google({ requiredScopes: ["openid"] }, errors);
    expect(errors.map(String).join("\n")).toMatch(/only for identity scopes \(openid\)/);
  });
});

describe("GoogleProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("Google's endpoint, the full userinfo scope names, openid, offline access with consent, PKCE and a nonce, no resource", async () => {
    server = await startPresetServer((baseUrl, common) => new GoogleProvider({ clientId: GOOGLE_APP.clientId, clientSecret: GOOGLE_APP.clientSecret, baseUrl, ...common }));
    const query = await upstreamAuthorizationQuery(server, GOOGLE_ENDPOINTS.authorization, "email profile");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: GOOGLE_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: `openid ${USERINFO_EMAIL} ${USERINFO_PROFILE}`,
      access_type: "offline",
      prompt: "consent",
      code_challenge_method: "S256",
    });
    expect(query.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(query.get("nonce")).toBeTruthy();
    expect(query.has("resource")).toBe(false);
    expect(server.errors).toEqual([]);
  });

  it("the application's authorize parameters win over the defaults", async () => {
    server = await startPresetServer((baseUrl, common) => new GoogleProvider({
      clientId: GOOGLE_APP.clientId,
      baseUrl,
      ...common,
      extraAuthorizeParams: { prompt: "select_account", hd: "example.com" },
      forwardResource: true,
    }));
    const query = await upstreamAuthorizationQuery(server, GOOGLE_ENDPOINTS.authorization);
    expect(Object.fromEntries(query)).toMatchObject({ access_type: "offline", prompt: "select_account", hd: "example.com", resource: server.url });
    // No scope asked and none required: Google is still asked for openid, which says who signed in.
    expect(query.get("scope")).toBe("openid");
  });
});

describe("GoogleProvider end to end: the official MCP client signs in through a stand-in of Google", () => {
  let fake: FakeGoogle;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeGoogle();
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      return new GoogleProvider({ clientId: GOOGLE_APP.clientId, clientSecret: GOOGLE_APP.clientSecret, baseUrl, endpoints: fake.endpoints, ...common });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("signs in at Google, and the tool sees the Google user: subject, scopes, upstream claims", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice" }) }).connect();
    expect(client.authorizations.map((a) => a.prompts)).toEqual([["consent", "login"]]);
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(fake.subjectOf("alice"));
    expect(me.scopes).toEqual(["openid", "email", "profile"]);
    expect(me.claims.upstream_claims).toMatchObject({
      sub: fake.subjectOf("alice"),
      aud: GOOGLE_APP.clientId,
      email: "alice@gmail.example",
      email_verified: true,
      name: "Alice Example",
      picture: "https://lh3.googleusercontent.example/a/alice",
    });
    const [authorization] = fake.upstream.authorizationRequests;
    expect(authorization!.get("scope")).toBe(`openid ${USERINFO_EMAIL} ${USERINFO_PROFILE}`);
    expect(authorization!.get("access_type")).toBe("offline");
    // Google saw its own client credentials, never the MCP client's.
    expect(fake.upstream.tokenRequests[0]!.headers.authorization).toMatch(/^Basic /);
    expect(server.errors).toEqual([]);
  });

  it("revoking the client's token revokes the Google tokens behind it", async () => {
    const tokens = client.tokens!;
    const clientId = JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString()).client_id as string;
    expect(await revoke(server.baseUrl, clientId, tokens.access_token)).toBe(200);
    expect(fake.upstream.revoked.length).toBeGreaterThanOrEqual(1);
    expect((await mcpStatus(server.url, tokens.access_token)).status).toBe(401);
  });
});

describe("GoogleProvider end to end: Google's access token expires", () => {
  let fake: FakeGoogle;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeGoogle({ accessTokenTtlSeconds: 2 });
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      return new GoogleProvider({ clientId: GOOGLE_APP.clientId, clientSecret: GOOGLE_APP.clientSecret, baseUrl, endpoints: fake.endpoints, ...common });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("is refreshed with the refresh token Google issued for access_type=offline, and the client notices nothing", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "erin" }) }).connect();
    expect(whoami(await client.callTool("whoami")).subject).toBe(fake.subjectOf("erin"));
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(whoami(await client.callTool("whoami")).subject).toBe(fake.subjectOf("erin"));
    const refresh = fake.upstream.tokenRequests.find((request) => request.form.get("grant_type") === "refresh_token");
    expect(refresh, "a refresh at Google's token endpoint").toBeDefined();
    // The scope Google granted, under Google's names.
    expect(refresh!.form.get("scope")).toBe(`openid ${USERINFO_EMAIL} ${USERINFO_PROFILE}`);
    expect(client.authorizations).toHaveLength(1);
    expect(server.errors).toEqual([]);
  });
});
