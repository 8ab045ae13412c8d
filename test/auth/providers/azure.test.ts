import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { scriptedBrowser } from "../../client/oauth/helpers.js";
import { AuthConfigurationError, authFromEnvironment, type AccessToken } from "fastmcp-ts/auth";
import { AzureProvider } from "fastmcp-ts/auth/providers/azure";
import { bareScope, prefixedScope } from "../../../src/auth/providers/azure-scopes.js";
import { entraLayout } from "../../helpers/idp-layouts.js";
import type { IdentityProviderOptions, TokenInfo } from "../../helpers/idp.js";
import type { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { textOf } from "../e2e/journey.js";
import { PRESET_CLIENT, signIn, startPresetServer, whoami, type CommonProxyOptions, type PresetServer } from "./oidc-preset-server.js";
import { isolateAuthEnvironment } from "./preset-environment.js";
import { thrownMessage } from "./thrown.js";

const TENANT = "4f1d2c3b-aaaa-4bbb-8ccc-0123456789ab";
const OTHER_DIRECTORY = "0b0b0b0b-1111-4222-8333-444444444444";
const APP_URI = `api://${PRESET_CLIENT.id}`;

describe("AzureProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();
  const app = { clientId: "11111111-2222-3333-4444-555555555555", clientSecret: "entra-secret-value", baseUrl: "https://mcp.example.com", requiredScopes: ["mcp:read"] };

  it("uses the tenant's v2 endpoints, keys and issuer, and api://<clientId> as identifier", () => {
    const azure = new AzureProvider({ ...app, tenantId: TENANT });
    expect(azure.authority).toMatchObject({
      authorizationEndpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize`,
      tokenEndpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
      jwksUri: `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
      issuer: { kind: "fixed", issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` },
    });
    expect(azure.identifierUri).toBe(`api://${app.clientId}`);
    expect(new AzureProvider({ ...app, tenantId: TENANT, identifierUri: "https://notes.contoso.com" }).identifierUri).toBe("https://notes.contoso.com");
    expect(azure.callbackUrl).toBe("https://mcp.example.com/auth/callback");
  });

  it("follows baseAuthority to a national cloud, and tokenIssuer when the issuer differs", () => {
    const gov = new AzureProvider({ ...app, tenantId: TENANT, baseAuthority: "login.microsoftonline.us" });
    expect(gov.authority.authorizationEndpoint).toBe(`https://login.microsoftonline.us/${TENANT}/oauth2/v2.0/authorize`);
    expect(gov.authority.issuer).toEqual({ kind: "fixed", issuer: `https://login.microsoftonline.us/${TENANT}/v2.0` });
    const byDomain = new AzureProvider({ ...app, tenantId: "contoso.onmicrosoft.com", tokenIssuer: `https://login.microsoftonline.com/${TENANT}/v2.0` });
    expect(byDomain.authority.jwksUri).toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com/discovery/v2.0/keys");
    expect(byDomain.authority.issuer).toEqual({ kind: "fixed", issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` });
  });

  it.each(["organizations", "common", "consumers"])("checks the issuer per directory for the multi-tenant %s", (tenantId) => {
    const azure = new AzureProvider({ ...app, tenantId });
    expect(azure.authority.authorizationEndpoint).toBe(`https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/authorize`);
    expect(azure.authority.issuer.kind).toBe("per-tenant");
  });

  it("builds B2C endpoints and identifier, with a custom domain when given", () => {
    const b2c = AzureProvider.fromB2C({ ...app, tenantName: "contoso", policyName: "B2C_1_signin" });
    expect(b2c.authority.authorizationEndpoint).toBe("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/oauth2/v2.0/authorize");
    expect(b2c.authority.jwksUri).toBe("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/discovery/v2.0/keys");
    expect(b2c.authority.issuer).toEqual({ kind: "unchecked" });
    expect(b2c.identifierUri).toBe(`https://contoso.onmicrosoft.com/${app.clientId}`);
    const custom = AzureProvider.fromB2C({ ...app, tenantName: "contoso", policyName: "B2C_1_signin", customDomain: "login.contoso.com", tokenIssuer: "https://login.contoso.com/abc/v2.0/" });
    expect(custom.authority.tokenEndpoint).toBe("https://login.contoso.com/contoso.onmicrosoft.com/B2C_1_signin/oauth2/v2.0/token");
    expect(custom.authority.issuer).toEqual({ kind: "fixed", issuer: "https://login.contoso.com/abc/v2.0/" });
  });

  it.each([[undefined], [[]], [["openid", "profile", "offline_access"]]])("refuses requiredScopes %o, which hold no scope the app exposes, naming the fix", (requiredScopes) => {
    const build = () => new AzureProvider({ ...app, tenantId: TENANT, requiredScopes });
    expect(build).toThrow(AuthConfigurationError);
    expect(thrownMessage(build)).toMatch(/requiredScopes.*Expose an API.*FASTMCP_SERVER_AUTH_AZUREPROVIDER_REQUIRED_SCOPES/);
    expect(thrownMessage(build)).not.toContain(app.clientSecret);
  });

  it.each([
    [{ clientId: undefined }, /clientId.*FASTMCP_SERVER_AUTH_AZUREPROVIDER_CLIENT_ID/],
    [{ tenantId: undefined }, /tenantId.*FASTMCP_SERVER_AUTH_AZUREPROVIDER_TENANT_ID/],
    [{ tenantId: "../evil" }, /tenantId must be/],
    [{ tenantId: "organizations", additionalAuthorizeScopes: ["openid"] }, /cannot ask for openid/],
    [{ allowedTenantIds: [OTHER_DIRECTORY] }, /allowedTenantIds is for the multi-tenant/],
  ])("refuses %o, and never shows the secret", (options, message) => {
    const build = () => new AzureProvider({ ...app, tenantId: TENANT, ...options });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(message);
    expect(thrownMessage(build)).not.toContain(app.clientSecret);
  });

  it.each(["azure", "AzureProvider", "entra"])("is selected by FASTMCP_SERVER_AUTH=%s and reads FASTMCP_SERVER_AUTH_AZUREPROVIDER_*", (selector) => {
    setEnv({
      FASTMCP_SERVER_AUTH: selector,
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_CLIENT_ID: app.clientId,
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_TENANT_ID: "organizations",
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_IDENTIFIER_URI: "api://notes",
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_BASE_AUTHORITY: "login.microsoftonline.us",
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_REQUIRED_SCOPES: "notes:read, notes:write",
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_ADDITIONAL_AUTHORIZE_SCOPES: "User.Read",
      FASTMCP_SERVER_AUTH_AZUREPROVIDER_BASE_URL: "https://mcp.example.com",
    });
    const azure = authFromEnvironment();
    expect(azure).toBeInstanceOf(AzureProvider);
    const entra = azure as AzureProvider;
    expect(entra.identifierUri).toBe("api://notes");
    expect(entra.requiredScopes).toEqual(["notes:read", "notes:write"]);
    expect(entra.authority.authorizationEndpoint).toBe("https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize");
    expect(entra.callbackUrl).toBe("https://mcp.example.com/auth/callback");
  });

  it("prefixes only the app's own scopes, and takes the prefix off only its own", () => {
    expect(prefixedScope(APP_URI, "mcp:read")).toBe(`${APP_URI}/mcp:read`);
    for (const scope of ["openid", "profile", "email", "offline_access", "https://graph.microsoft.com/User.Read", "api://other/x.read"]) expect(prefixedScope(APP_URI, scope)).toBe(scope);
    expect(bareScope(APP_URI, `${APP_URI}/mcp:read`)).toBe("mcp:read");
    expect(bareScope(APP_URI, "api://other/mcp:read")).toBe("api://other/mcp:read");
  });
});

/** An Entra stand-in's app: its API scopes in Entra's names, tokens with the bare names in `scp`, its tenant in `tid`. */
function entraIdp(tenant: string, directory = tenant, claims: (token: TokenInfo) => Record<string, unknown> = () => ({})): IdentityProviderOptions {
  return {
    layout: entraLayout(tenant, directory),
    scopes: [`${APP_URI}/mcp:read`, `${APP_URI}/mcp:write`],
    resources: [APP_URI],
    defaultResource: APP_URI,
    onBehalfOf: true,
    audience: () => PRESET_CLIENT.id,
    extraTokenClaims: (token) => ({
      scp: (token.scope ?? "").split(" ").filter((scope) => scope.startsWith(`${APP_URI}/`)).map((scope) => scope.slice(APP_URI.length + 1)).join(" "),
      tid: directory,
      oid: `oid-of-${token.subject}`,
      azp: token.clientId,
      preferred_username: `${token.subject}@contoso.com`,
      ...claims(token),
    }),
  };
}

function azureOver(origin: string, common: CommonProxyOptions, tenantId: string, extra: Partial<ConstructorParameters<typeof AzureProvider>[0]> = {}): AzureProvider {
  return new AzureProvider({ ...common, tenantId, baseAuthority: origin, requiredScopes: ["mcp:read"], ...extra });
}

describe("AzureProvider over a single tenant (an Entra v2 stand-in), with the official MCP client", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    server = await startPresetServer(entraIdp(TENANT), (idp, common) => azureOver(idp.origin, common, TENANT, { additionalAuthorizeScopes: ["User.Read"] }));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("asks Entra for the prefixed scopes first, then offline_access and the additional ones as written, with select_account and never the resource", async () => {
    client = await signIn(server);
    expect(server.idp.issuer).toBe(`${server.idp.origin}/${TENANT}/v2.0`);
    const upstreamRequest = server.idp.authorizationRequests.at(-1)!;
    expect(upstreamRequest.get("scope")!.split(" ")).toEqual([`${APP_URI}/mcp:read`, "offline_access", "User.Read"]);
    expect(upstreamRequest.get("prompt")).toBe("select_account");
    expect(upstreamRequest.has("resource")).toBe(false);
  });

  it("gives tools the short scope names and the Entra identity claims", async () => {
    const me = await whoami(client!);
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toEqual({ sub: "alice", oid: "oid-of-alice", tid: TENANT, azp: PRESET_CLIENT.id, preferred_username: "alice@contoso.com" });
    expect(server.errors).toEqual([]);
  });

  it("steps up to a second scope by its short name, asked of Entra by its long one", async () => {
    const result = await client!.callTool("write_note", { text: "hi" });
    expect(textOf(result)).toBe("saved: hi");
    const upstreamRequest = server.idp.authorizationRequests.at(-1)!;
    expect(upstreamRequest.get("scope")!.split(" ")).toEqual([`${APP_URI}/mcp:read`, `${APP_URI}/mcp:write`, "offline_access", "User.Read"]);
    expect((await whoami(client!)).scopes).toEqual(["mcp:read", "mcp:write"]);
  });

  it("this project's Client signs in through Entra too, and the tool sees the short scope names", async () => {
    const browser = scriptedBrowser({ login: "bob" });
    await using ours = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: new MemoryStore() }) });
    await ours.connect();
    const me = JSON.parse(((await ours.callTool("whoami")).content[0] as { text: string }).text) as { subject: string; scopes: string[]; upstream: Record<string, unknown> };
    expect(me.subject).toBe("bob");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ tid: TENANT, preferred_username: "bob@contoso.com" });
    expect(browser.opened).toHaveLength(1);
  });

  it("gets a tool a Microsoft Graph token for the user through On-Behalf-Of, and reuses it", async () => {
    const { gid } = decodeJwt(client!.tokens!.access_token);
    const auth = { claims: { gid } } as unknown as AccessToken;
    const provider = server.proxy as AzureProvider;
    const graph = await provider.downstreamToken(auth, { scopes: ["https://graph.microsoft.com/User.Read"] });
    const issued = server.idp.onBehalfOf.at(-1)!;
    expect(graph).toBe(issued.token);
    expect(issued).toMatchObject({ subject: "alice", scope: "https://graph.microsoft.com/User.Read" });
    expect(issued.assertion).toBe(await provider.upstreamAccessToken(auth));
    expect(server.idp.grants.at(-1)).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    expect(await provider.downstreamToken(auth, { scopes: ["https://graph.microsoft.com/User.Read"] })).toBe(graph);
    expect(server.idp.onBehalfOf).toHaveLength(1);
  });
});

describe("AzureProvider refreshing Entra's token", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    // Every upstream token counts as expired at once: each request refreshes it.
    server = await startPresetServer(entraIdp(TENANT), (idp, common) => azureOver(idp.origin, common, TENANT, { tokenExpiryThresholdSeconds: 3600, upstreamVerificationCacheSeconds: 0 }));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("refreshes with Entra's scope names and keeps the short ones for tools", async () => {
    client = await signIn(server);
    await whoami(client);
    const me = await whoami(client);
    expect(server.idp.grants.filter((grant) => grant === "refresh_token").length).toBeGreaterThanOrEqual(2);
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ tid: TENANT });
    expect(server.errors).toEqual([]);
  });
});

describe("AzureProvider for a multi-tenant app (organizations)", () => {
  const started: PresetServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
  });
  const start = async (idp: IdentityProviderOptions, extra: Partial<ConstructorParameters<typeof AzureProvider>[0]> = {}) => {
    const server = await startPresetServer(idp, (stand, common) => azureOver(stand.origin, common, "organizations", extra));
    started.push(server);
    return server;
  };

  it("accepts a token whose issuer is the one of its own directory", async () => {
    const server = await start(entraIdp("organizations", TENANT));
    const client = await signIn(server);
    try {
      expect(server.idp.authorizationRequests.at(-1)!.get("scope")!.split(" ")).toEqual([`${APP_URI}/mcp:read`, "offline_access"]);
      expect((await whoami(client)).upstream).toMatchObject({ tid: TENANT, sub: "alice" });
    } finally {
      await client.close();
    }
  });

  it("refuses a token whose tid names another directory than its issuer", async () => {
    const server = await start(entraIdp("organizations", TENANT, () => ({ tid: OTHER_DIRECTORY })));
    await expect(signIn(server)).rejects.toThrow(/server_error/);
    expect(server.errors.map(String).join("\n")).toMatch(/token verifier refused a token/);
  });

  it("refuses a directory allowedTenantIds leaves out", async () => {
    const server = await start(entraIdp("organizations", TENANT), { allowedTenantIds: [OTHER_DIRECTORY] });
    await expect(signIn(server)).rejects.toThrow(/server_error/);
  });
});

describe("AzureProvider.fromB2C over a user flow (a stand-in as the custom domain)", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    // B2C's issuer names a directory id the settings do not know: the keys and audience are what is checked.
    server = await startPresetServer(entraIdp("contoso.onmicrosoft.com/B2C_1_signin", TENANT), (idp, common) =>
      AzureProvider.fromB2C({ ...common, tenantName: "contoso", policyName: "B2C_1_signin", customDomain: idp.origin, identifierUri: APP_URI, requiredScopes: ["mcp:read"] }));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in through the policy's endpoints with the prefixed scopes", async () => {
    client = await signIn(server);
    expect(server.idp.authorizationRequests.at(-1)!.get("scope")!.split(" ")).toEqual([`${APP_URI}/mcp:read`, "offline_access"]);
    const me = await whoami(client);
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ sub: "alice" });
    expect(server.errors).toEqual([]);
  });
});
