/**
 * The whole flow, against every kind of server we ship: our own authorization servers
 * (InMemoryOAuthProvider, LocalOAuthProvider) and a real upstream identity provider (oidc-provider)
 * behind RemoteAuthProvider and behind each preset, in its vendor's URL layout. Discovery from
 * the 401, registration, PKCE S256, the resource on both requests, the loopback callback, then
 * MCP requests with the token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemoryOAuthProvider, LocalOAuthProvider, RemoteAuthProvider, type AuthProvider } from "fastmcp-ts/auth";
import { AuthKitProvider } from "fastmcp-ts/auth/providers/authkit";
import { DescopeProvider } from "fastmcp-ts/auth/providers/descope";
import { ScalekitProvider } from "fastmcp-ts/auth/providers/scalekit";
import { SupabaseProvider } from "fastmcp-ts/auth/providers/supabase";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { authkitLayout, descopeLayout, scalekitLayout, supabaseLayout } from "../../helpers/idp-layouts.js";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "../../helpers/idp.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { recordingFetch, SCOPES, scopesOf, scriptedBrowser, startServer, TOOL, USER, watchMcpTraffic, textOf, type McpServer, type WhoAmI } from "./helpers.js";

/**
 * The system browser, for `auth: "oauth"` (no openBrowser): the `open` package is replaced by a
 * launcher that hands the URL to a scripted user agent, as a real browser would load it.
 */
const systemBrowser = vi.hoisted(() => ({
  launched: [] as string[],
  visit: undefined as ((url: string) => Promise<unknown>) | undefined,
}));
vi.mock("open", () => ({
  default: async (url: string) => {
    systemBrowser.launched.push(url);
    void systemBrowser.visit?.(url).catch(() => undefined);
    return { on: () => undefined, unref: () => undefined };
  },
}));

afterEach(() => {
  vi.restoreAllMocks();
  systemBrowser.launched.length = 0;
  systemBrowser.visit = undefined;
});

interface Tier {
  readonly server: McpServer;
  /** The authorization server's issuer. */
  readonly issuer: string;
  /** Dynamic registrations the authorization server received. */
  registrations(): number;
  /** The `sub` of the tokens: who logged in. */
  readonly subject: string;
  close(): Promise<void>;
}

/** Our own authorization servers. */
async function ownTier(makeAuth: (baseUrl: string) => AuthProvider, subject: string): Promise<Tier> {
  const server = await startServer(makeAuth);
  return { server, issuer: server.baseUrl, subject, registrations: () => server.registrations, close: () => server.close() };
}

/** A real identity provider behind an auth provider that delegates to it. */
async function upstreamTier(idpOptions: Omit<IdentityProviderOptions, "resources">, makeAuth: (idp: IdentityProvider, baseUrl: string) => AuthProvider): Promise<Tier> {
  const idp = await startIdentityProvider(idpOptions);
  const server = await startServer((baseUrl) => makeAuth(idp, baseUrl));
  idp.allowResource(server.url);
  return {
    server,
    issuer: idp.issuer,
    subject: USER.login,
    registrations: () => idp.registrations.length,
    close: async () => {
      await server.close();
      await idp.close();
    },
  };
}

const TIERS: Array<[name: string, start: () => Promise<Tier>]> = [
  ["InMemoryOAuthProvider", () => ownTier((baseUrl) => new InMemoryOAuthProvider({ baseUrl, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }), "test-user")],
  ["LocalOAuthProvider", () => ownTier((baseUrl) => new LocalOAuthProvider({ baseUrl, users: { [USER.login]: USER.password }, store: new MemoryStore(), requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }), USER.login)],
  ["RemoteAuthProvider + oidc-provider", () => upstreamTier({}, (idp, baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idp.issuer, baseUrl, requiredScopes: SCOPES.required }))],
  [
    "DescopeProvider + oidc-provider in Descope's layout (OIDC discovery appended to the issuer path)",
    () => upstreamTier(
      { layout: descopeLayout("P2clientTest"), audience: () => "P2clientTest" },
      (idp, baseUrl) => new DescopeProvider({ projectId: "P2clientTest", descopeBaseUrl: idp.origin, baseUrl, requiredScopes: SCOPES.required }),
    ),
  ],
  [
    "ScalekitProvider + oidc-provider in Scalekit's layout (RFC 8414 path insertion)",
    () => upstreamTier(
      { layout: scalekitLayout("res_client1"), audience: () => "res_client1" },
      (idp, baseUrl) => new ScalekitProvider({ environmentUrl: idp.origin, resourceId: "res_client1", baseUrl, requiredScopes: SCOPES.required }),
    ),
  ],
  ["AuthKitProvider + oidc-provider in AuthKit's layout", () => upstreamTier({ layout: authkitLayout() }, (idp, baseUrl) => new AuthKitProvider({ authkitDomain: idp.origin, baseUrl, requiredScopes: SCOPES.required }))],
  [
    "SupabaseProvider + oidc-provider in Supabase Auth's layout (ES256)",
    () => upstreamTier(
      { layout: supabaseLayout(), algorithm: "ES256", audience: () => "authenticated" },
      (idp, baseUrl) => new SupabaseProvider({ projectUrl: idp.origin, baseUrl, requiredScopes: SCOPES.required }),
    ),
  ],
];

describe.each(TIERS)("%s", (_name, start) => {
  let tier: Tier;
  beforeAll(async () => {
    tier = await start();
  });
  afterAll(async () => {
    await tier?.close();
  });

  it('new Client(url, { auth: "oauth" }) then ping() works, the system browser taking the user to the authorization server', async () => {
    const agent = new UserAgent({ login: USER.login, password: USER.password, deliver: true });
    systemBrowser.visit = (url) => agent.authorize(url, new URL(url).searchParams.get("redirect_uri")!);
    await using client = new Client(tier.server.url, { auth: "oauth" });
    await client.connect();
    await client.ping();
    expect(systemBrowser.launched).toHaveLength(1);
    expect(new URL(systemBrowser.launched[0]!).searchParams.get("resource")).toBe(tier.server.url);
    expect(await client.oauth!.hasTokens()).toBe(true);
  });

  it("discovers from the 401, registers, authorizes with PKCE S256 and the resource, then lists and calls tools", async () => {
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    const traffic = watchMcpTraffic(tier.server.url);
    const registrationsBefore = tier.registrations();
    await using client = new Client(tier.server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, fetch: oauthRequests.fetch }) });
    await client.connect();

    // Discovery: the 401's resource_metadata, then the authorization server's metadata.
    expect(traffic.exchanges[0]).toMatchObject({ method: "POST", status: 401, authorization: null });
    const discovery = oauthRequests.exchanges.filter((e) => e.url.pathname.includes("/.well-known/"));
    expect(discovery[0]!.url.href).toBe(`${tier.server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    expect(discovery.some((e) => e.status === 200 && new URL(tier.issuer).origin === e.url.origin)).toBe(true);
    expect(tier.registrations()).toBe(registrationsBefore + 1);

    // One visit to the authorization endpoint: code flow, S256, state, the resource, a loopback redirect URI.
    expect(browser.opened).toHaveLength(1);
    const authorization = browser.opened[0]!;
    expect(authorization.searchParams.get("response_type")).toBe("code");
    expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorization.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(authorization.searchParams.get("state")).toMatch(/^[\w-]{20,}$/);
    expect(authorization.searchParams.get("resource")).toBe(tier.server.url);
    expect(scopesOf(authorization)).toContain("mcp:read");
    expect(authorization.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(browser.outcomes[0]!.delivered).toMatchObject({ status: 200 });
    // RFC 9207: the response named its issuer, which the client compared with the metadata's.
    expect(browser.outcomes[0]!.params.get("iss")).toBe(tier.issuer);

    // The code exchange names the same resource and carries the verifier.
    const [exchange, ...more] = oauthRequests.to("/token", "authorization_code");
    expect(more).toHaveLength(0);
    expect(exchange!.status).toBe(200);
    expect(exchange!.form!.get("resource")).toBe(tier.server.url);
    expect(exchange!.form!.get("code_verifier")).toMatch(/^[\w.~-]{43,128}$/);
    expect(exchange!.form!.get("redirect_uri")).toBe(authorization.searchParams.get("redirect_uri"));

    await client.ping();
    expect((await client.listTools()).map((tool) => tool.name)).toEqual(expect.arrayContaining([TOOL.read, TOOL.whoami]));
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    const whoami = JSON.parse(textOf(await client.callTool(TOOL.whoami))) as WhoAmI;
    expect(whoami.scopes).toContain("mcp:read");
    expect(whoami.subject).toBe(tier.subject);

    // Every request after the first carried the token; none was refused.
    expect(traffic.exchanges.slice(1).every((e) => e.authorization?.startsWith("Bearer ") && e.status < 300)).toBe(true);
    expect(browser.opened).toHaveLength(1);
  });

  it("a second Client over the same storage reuses the tokens: no browser, no registration", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    {
      await using first = new Client(tier.server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store }) });
      await first.connect();
      await first.ping();
    }
    const registrations = tier.registrations();
    const traffic = watchMcpTraffic(tier.server.url);
    await using second = new Client(tier.server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store }) });
    await second.connect();
    expect(textOf(await second.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(1);
    expect(tier.registrations()).toBe(registrations);
    expect(traffic.exchanges.every((e) => e.status < 300)).toBe(true);
  });
});

describe("the callback", () => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer((baseUrl) => new InMemoryOAuthProvider({ baseUrl, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it("listens on 127.0.0.1; a forged response with another state, arriving first, is ignored and the real one wins", async () => {
    const browser = scriptedBrowser();
    const forged: number[] = [];
    const oauthRequests = recordingFetch();
    const oauth = new OAuth({
      fetch: oauthRequests.fetch,
      openBrowser: async (url) => {
        const redirectUri = new URL(url).searchParams.get("redirect_uri")!;
        expect(new URL(redirectUri).hostname).toBe("127.0.0.1");
        const attack = new URL(redirectUri);
        attack.search = new URLSearchParams({ code: "attacker-code", state: "not-the-state" }).toString();
        forged.push((await fetch(attack)).status);
        await browser.openBrowser(url);
      },
    });
    await using client = new Client(server.url, { auth: oauth });
    await client.connect();
    expect(forged).toHaveLength(1);
    const [exchange] = oauthRequests.to("/token", "authorization_code");
    expect(exchange!.form!.get("code")).not.toBe("attacker-code");
    expect(exchange!.form!.get("code")).toBe(browser.outcomes[0]!.params.get("code"));
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
  });

  it("a response naming another issuer (RFC 9207 mix-up) is refused before any code is redeemed", async () => {
    const oauthRequests = recordingFetch();
    const oauth = new OAuth({
      fetch: oauthRequests.fetch,
      openBrowser: async (url) => {
        const outcome = await new UserAgent({ deliver: false }).authorize(url, new URL(url).searchParams.get("redirect_uri")!);
        const callback = new URL(new URL(url).searchParams.get("redirect_uri")!);
        callback.search = new URLSearchParams({ code: outcome.params.get("code")!, state: outcome.params.get("state")!, iss: "https://attacker.example" }).toString();
        await fetch(callback);
      },
    });
    const failure = await new Client(server.url, { auth: oauth }).connect().then(() => undefined, (error: unknown) => error);
    expect(failure).toMatchObject({ name: "CallbackIssuerMismatchError" });
    expect((failure as Error).message).toMatch(/names issuer "https:\/\/attacker.example" instead of "http:\/\/127.0.0.1:\d+"/);
    expect(oauthRequests.to("/token")).toHaveLength(0);
  });
});
