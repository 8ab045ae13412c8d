/**
 * DiscordProvider: its configuration (Discord's endpoints, scopes, environment variables), the
 * authorization URL it sends browsers to, and sign-ins of the official MCP client and of our own
 * Client through it against a stand-in of Discord, down to a user de-authorizing the app.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { Client, OAuth } from "fastmcp-ts/client";
import { authFromEnvironment } from "fastmcp-ts/auth";
import { DISCORD_ENDPOINTS, DiscordProvider, type DiscordProviderOptions } from "fastmcp-ts/auth/providers/discord";
import { DiscordTokenVerifier } from "fastmcp-ts/auth/providers/discord-token-verifier";
import { MemoryStore } from "fastmcp-ts/storage";
import { scriptedBrowser } from "../../client/oauth/helpers.js";
import { DISCORD_APP, startFakeDiscord, type FakeDiscord } from "../../helpers/fake-discord.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { mcpStatus } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { withoutAuthEnvironment } from "../verifiers/helpers.js";
import { startPresetServer, testOptions, upstreamAuthorizationQuery, whoami, type PresetServer } from "./preset-flow.js";

withoutAuthEnvironment();
afterEach(() => vi.unstubAllEnvs());

const BASE_URL = "https://mcp.example.com";

function discord(options: DiscordProviderOptions = {}, errors: unknown[] = []): DiscordProvider {
  return new DiscordProvider({ ...DISCORD_APP, baseUrl: BASE_URL, ...testOptions(errors), ...options });
}

describe("DiscordProvider: configuration", () => {
  it("talks to Discord's endpoints, offers identify, and warns about nothing", () => {
    const errors: unknown[] = [];
    const provider = discord({}, errors);
    expect(provider.endpoints).toEqual({
      authorization: "https://discord.com/oauth2/authorize",
      token: "https://discord.com/api/oauth2/token",
      revocation: "https://discord.com/api/oauth2/token/revoke",
      currentAuthorization: "https://discord.com/api/oauth2/@me",
    });
    expect(provider.callbackUrl).toBe(`${BASE_URL}/auth/callback`);
    expect(provider.requiredScopes).toEqual([]);
    expect(provider.scopesSupported).toEqual(["identify"]);
    expect(errors).toEqual([]);
  });

  it("the verifier pins the application id to the client id", () => {
    const verifier = new DiscordTokenVerifier({ expectedClientId: DISCORD_APP.clientId });
    expect(verifier.currentAuthorizationUrl.href).toBe(DISCORD_ENDPOINTS.currentAuthorization);
    expect(verifier.expectedClientId).toBe(DISCORD_APP.clientId);
  });

  it("reads every setting left out from FASTMCP_SERVER_AUTH_DISCORDPROVIDER_*, explicit options winning", () => {
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_ID", "111111111111111111");
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_SECRET", "env-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_BASE_URL", "https://env.example.com");
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_VALID_SCOPES", "identify guilds");
    const fromEnv = new DiscordProvider(testOptions([]));
    expect(fromEnv.baseUrl).toBe("https://env.example.com");
    expect(fromEnv.scopesSupported).toEqual(["identify", "guilds"]);
    expect(new DiscordProvider({ baseUrl: BASE_URL, ...testOptions([]) }).baseUrl).toBe(BASE_URL);
  });

  it.each(["discord", "DiscordProvider", "fastmcp.server.auth.providers.discord.DiscordProvider"])("FASTMCP_SERVER_AUTH=%s builds it from the environment", (selector) => {
    vi.stubEnv("FASTMCP_SERVER_AUTH", selector);
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_ID", DISCORD_APP.clientId);
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_SECRET", DISCORD_APP.clientSecret);
    vi.stubEnv("FASTMCP_SERVER_AUTH_DISCORDPROVIDER_BASE_URL", BASE_URL);
    expect(authFromEnvironment()).toBeInstanceOf(DiscordProvider);
  });

  it.each([
    ["clientId", { clientId: undefined }, "FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_ID"],
    ["clientSecret", { clientSecret: undefined }, "FASTMCP_SERVER_AUTH_DISCORDPROVIDER_CLIENT_SECRET"],
  ])("without %s it fails naming the variable, and never prints the secret", (_option, missing, variable) => {
    const build = () => discord(missing);
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(variable);
    expect(build).not.toThrow(DISCORD_APP.clientSecret);
  });
});

describe("DiscordProvider: the authorization URL it sends browsers to", () => {
  let server: PresetServer;

  afterEach(async () => {
    await server?.close();
  });

  it("Discord's endpoint, identify before the client's scopes, PKCE, no resource, no nonce", async () => {
    server = await startPresetServer((baseUrl, common) => new DiscordProvider({ ...DISCORD_APP, baseUrl, validScopes: ["identify", "guilds"], ...common }));
    const query = await upstreamAuthorizationQuery(server, DISCORD_ENDPOINTS.authorization, "guilds");
    expect(Object.fromEntries(query)).toMatchObject({
      response_type: "code",
      client_id: DISCORD_APP.clientId,
      redirect_uri: `${server.baseUrl}/auth/callback`,
      scope: "identify guilds",
      code_challenge_method: "S256",
    });
    expect(query.has("resource")).toBe(false);
    expect(query.has("nonce")).toBe(false);
    expect(server.errors).toEqual([]);
  });
});

describe("DiscordProvider end to end against a stand-in of Discord", () => {
  let fake: FakeDiscord;
  let server: PresetServer;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    fake = await startFakeDiscord();
    server = await startPresetServer((baseUrl, common) => {
      fake.upstream.allowRedirectUri(`${baseUrl}/auth/callback`);
      // Every request asks Discord, so a de-authorization shows at once.
      return new DiscordProvider({ ...DISCORD_APP, baseUrl, endpoints: fake.endpoints, upstreamVerificationCacheSeconds: 0, ...common });
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await fake?.close();
  });

  it("the official MCP client signs in at Discord, and the tool sees the Discord user", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "wumpus" }) }).connect();
    expect(client.authorizations.map((a) => a.prompts)).toEqual([["consent", "login"]]);
    const me = whoami(await client.callTool("whoami"));
    expect(me.subject).toBe(fake.subjectOf("wumpus"));
    expect(me.scopes).toEqual(["identify"]);
    expect(me.claims.upstream_claims).toEqual({
      sub: fake.subjectOf("wumpus"),
      username: "wumpus",
      global_name: "Wumpus",
      discriminator: "0",
      avatar: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    // Discord saw this server's application credentials (HTTP Basic), and the PKCE verifier.
    const [exchange] = fake.tokenRequests;
    expect(exchange!.headers.authorization).toMatch(/^Basic /);
    expect(fake.upstream.authenticatesClient(exchange!, "client_secret_basic")).toBe(true);
    expect(exchange!.form.get("code_verifier")).toBeTruthy();
    expect(server.errors).toEqual([]);
  });

  it("our own Client signs in too", async () => {
    const browser = scriptedBrowser({ login: "clyde" });
    await using ours = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: new MemoryStore() }) });
    await ours.connect();
    expect(whoami(await ours.callTool("whoami"))).toMatchObject({ subject: fake.subjectOf("clyde"), scopes: ["identify"] });
    expect(browser.opened).toHaveLength(1);
  });

  it("a user who de-authorizes the app at Discord is signed out: the next request is a 401", async () => {
    const token = client.tokens!.access_token;
    expect((await mcpStatus(server.url, token)).status).not.toBe(401);
    await fake.deauthorize("wumpus");
    expect((await mcpStatus(server.url, token)).status).toBe(401);
  });
});
