import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { Auth0Provider } from "fastmcp-ts/auth/providers/auth0";
import { MemoryStore } from "fastmcp-ts/storage";
import { auth0Layout } from "../../helpers/idp-layouts.js";
import { KeyServer } from "../../helpers/key-server.js";
import type { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { oidcDiscoveryDocument } from "./discovery-documents.js";
import { signIn, startPresetServer, whoami, type PresetServer } from "./oidc-preset-server.js";
import { isolateAuthEnvironment } from "./preset-environment.js";
import { thrownMessage } from "./thrown.js";

const API = "https://notes-api.example/";
const SECRET = "auth0-client-secret-value";

describe("Auth0Provider configuration", () => {
  const setEnv = isolateAuthEnvironment();
  const tenant = new KeyServer();
  const silent = { store: new MemoryStore(), onError: () => undefined };

  beforeAll(async () => {
    await tenant.start();
    // Auth0 writes its issuer with a trailing slash.
    tenant.documents.set("/.well-known/openid-configuration", oidcDiscoveryDocument(`${tenant.origin}/`, `${tenant.origin}/.well-known/jwks.json`));
  });
  afterAll(() => tenant.stop());

  it("reads the tenant's discovery document from its domain, with Auth0's trailing-slash issuer", async () => {
    const auth0 = new Auth0Provider({ ...silent, domain: tenant.origin, clientId: "app", clientSecret: SECRET, audience: API, baseUrl: "http://127.0.0.1:9" });
    await auth0.ready();
    expect(tenant.hits.get("/.well-known/openid-configuration")).toBeGreaterThanOrEqual(1);
    expect(auth0.callbackUrl).toBe("http://127.0.0.1:9/auth/callback");
  });

  it("takes a bare domain as https, and configUrl over domain", async () => {
    const unreachable = new Auth0Provider({ ...silent, domain: "tenant.invalid", configUrl: `${tenant.origin}/.well-known/openid-configuration`, clientId: "app", audience: API, baseUrl: "http://127.0.0.1:9" });
    await expect(unreachable.ready()).resolves.toBeUndefined();
    const bare = new Auth0Provider({ ...silent, domain: "127.0.0.1:1", clientId: "app", audience: API, baseUrl: "http://127.0.0.1:9", upstreamTimeoutMs: 2_000 });
    await expect(bare.ready()).rejects.toThrow("https://127.0.0.1:1/.well-known/openid-configuration");
  });

  it("reads FASTMCP_SERVER_AUTH_AUTH0PROVIDER_*, then the reference's FASTMCP_SERVER_AUTH_AUTH0_*; explicit options win", async () => {
    setEnv({
      FASTMCP_SERVER_AUTH_AUTH0PROVIDER_CONFIG_URL: `${tenant.origin}/.well-known/openid-configuration`,
      FASTMCP_SERVER_AUTH_AUTH0PROVIDER_CLIENT_ID: "app-from-env",
      FASTMCP_SERVER_AUTH_AUTH0_CLIENT_ID: "app-from-legacy-env",
      FASTMCP_SERVER_AUTH_AUTH0_AUDIENCE: API,
      FASTMCP_SERVER_AUTH_AUTH0PROVIDER_BASE_URL: "http://127.0.0.1:9",
      FASTMCP_SERVER_AUTH_AUTH0PROVIDER_REQUIRED_SCOPES: "notes:read, notes:write",
    });
    const fromEnv = new Auth0Provider(silent);
    expect(fromEnv.requiredScopes).toEqual(["notes:read", "notes:write"]);
    expect(fromEnv.baseUrl).toBe("http://127.0.0.1:9");
    await fromEnv.ready();
    const explicit = new Auth0Provider({ ...silent, baseUrl: "http://127.0.0.1:8", requiredScopes: ["mcp:read"] });
    expect(explicit.baseUrl).toBe("http://127.0.0.1:8");
    expect(explicit.requiredScopes).toEqual(["mcp:read"]);
  });

  it.each([
    [{ clientId: "app", audience: API }, /configUrl or domain.*FASTMCP_SERVER_AUTH_AUTH0PROVIDER_CONFIG_URL or FASTMCP_SERVER_AUTH_AUTH0PROVIDER_DOMAIN/],
    [{ domain: "acme.us.auth0.com", audience: API }, /clientId.*FASTMCP_SERVER_AUTH_AUTH0PROVIDER_CLIENT_ID/],
    [{ domain: "acme.us.auth0.com", clientId: "app" }, /audience \(the identifier of your Auth0 API\).*FASTMCP_SERVER_AUTH_AUTH0PROVIDER_AUDIENCE/],
  ])("names the variable of a missing setting (%o), and never the secret", (options, message) => {
    const build = () => new Auth0Provider({ ...options, clientSecret: SECRET });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(message);
    expect(thrownMessage(build)).not.toContain(SECRET);
  });

  it("refuses a plain-http domain off loopback", () => {
    expect(() => new Auth0Provider({ domain: "http://acme.us.auth0.com", clientId: "app", audience: API })).toThrow(/must use https/);
  });
});

describe("Auth0Provider in front of a stand-in with Auth0's URL layout, with the official MCP client", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    server = await startPresetServer(
      { layout: auth0Layout(), audience: (resource) => (resource.endsWith("/mcp") ? API : resource), extraTokenClaims: { permissions: ["notes:export"] } },
      (idp, common) => new Auth0Provider({ ...common, configUrl: `${idp.origin}/.well-known/openid-configuration`, audience: API, requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in through Auth0 asking for the API audience and a refresh token, and a tool reads the Auth0 identity from ctx.auth", async () => {
    client = await signIn(server);
    const upstreamRequest = server.idp.authorizationRequests.at(-1)!;
    expect(upstreamRequest.get("audience")).toBe(API);
    expect(upstreamRequest.get("scope")!.split(" ")).toEqual(["openid", "offline_access", "mcp:read"]);
    const me = await whoami(client);
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ sub: "alice", iss: server.idp.issuer, aud: API, permissions: ["notes:export"] });
    expect(server.errors).toEqual([]);
  });
});

describe("Auth0Provider whose audience is not the one Auth0 put in the token", () => {
  let server: PresetServer;

  beforeAll(async () => {
    server = await startPresetServer(
      { layout: auth0Layout(), audience: (resource) => (resource.endsWith("/mcp") ? API : resource) },
      (idp, common) => new Auth0Provider({ ...common, configUrl: `${idp.origin}/.well-known/openid-configuration`, audience: "https://another-api.example/", requiredScopes: ["mcp:read"] }),
    );
  });
  afterEach(() => void server.errors.splice(0));
  afterAll(() => server?.close());

  it("refuses the sign-in: the client gets server_error, the log says the verifier refused the token", async () => {
    await expect(signIn(server)).rejects.toThrow(/server_error/);
    expect(server.errors.map(String).join("\n")).toMatch(/token verifier refused a token/);
  });
});
