import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverOAuthServerInfo } from "@modelcontextprotocol/client";
import { AuthConfigurationError, JWTKeyPair, StaticTokenVerifier } from "fastmcp-ts/auth";
import { Auth0MCPProvider } from "fastmcp-ts/auth/providers/auth0-mcp";
import { auth0Layout } from "../../helpers/idp-layouts.js";
import { KeyServer } from "../../helpers/key-server.js";
import { startGuardedServer, type GuardedServer } from "../../helpers/oauth-server.js";
import { challengeOf, initializeWith } from "../e2e/journey.js";
import { describeOAuthJourney } from "../e2e/suite.js";
import { whoamiWithBearer } from "./bearer-whoami.js";
import { oidcDiscoveryDocument } from "./discovery-documents.js";
import { isolateAuthEnvironment } from "./preset-environment.js";

describe("Auth0MCPProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();

  it("takes the issuer from configUrl as Auth0 writes it, with its trailing slash, or from the domain", () => {
    const fromConfig = new Auth0MCPProvider({ configUrl: "https://acme.us.auth0.com/.well-known/openid-configuration", baseUrl: "https://mcp.example.com" });
    expect(fromConfig.issuer).toBe("https://acme.us.auth0.com/");
    expect(fromConfig.protectedResourceMetadata()).toMatchObject({ resource: "https://mcp.example.com/mcp", authorization_servers: ["https://acme.us.auth0.com/"] });
    expect(new Auth0MCPProvider({ domain: "login.acme.com", baseUrl: "https://mcp.example.com" }).issuer).toBe("https://login.acme.com/");
  });

  it("reads FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_*, explicit options winning", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_DOMAIN: "acme.eu.auth0.com",
      FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_BASE_URL: "https://mcp.example.com",
      FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_REQUIRED_SCOPES: '["notes:read"]',
    });
    const fromEnv = new Auth0MCPProvider();
    expect(fromEnv.issuer).toBe("https://acme.eu.auth0.com/");
    expect(fromEnv.requiredScopes).toEqual(["notes:read"]);
    expect(new Auth0MCPProvider({ baseUrl: "https://other.example.com" }).resourceUrl).toBe("https://other.example.com/mcp");
  });

  it.each([
    [{ baseUrl: "https://mcp.example.com" }, /configUrl or domain.*FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_CONFIG_URL or FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_DOMAIN/],
    [{ domain: "acme.us.auth0.com" }, /baseUrl.*FASTMCP_SERVER_AUTH_AUTH0MCPPROVIDER_BASE_URL/],
  ])("names the variable of a missing setting (%o)", (options, message) => {
    expect(() => new Auth0MCPProvider(options)).toThrow(AuthConfigurationError);
    expect(() => new Auth0MCPProvider(options)).toThrow(message);
  });

  it("keeps a custom verifier, and still counts Auth0's permissions as scopes", async () => {
    const tokenVerifier = new StaticTokenVerifier({ tokens: { "opaque-token": { clientId: "c", scopes: [], claims: { sub: "alice", permissions: ["notes:read"] } } } });
    const auth0 = new Auth0MCPProvider({ domain: "acme.invalid", baseUrl: "https://mcp.example.com", tokenVerifier });
    expect((await auth0.verifyToken("opaque-token"))?.scopes).toEqual(["notes:read"]);
    expect(await auth0.verifyToken("unknown")).toBeNull();
    expect(auth0.routes().map((route) => route.path)).not.toContain("/register");
  });
});

describe("Auth0MCPProvider against a tenant whose issuer ends with a slash, as Auth0's does", () => {
  const tenant = new KeyServer();
  let server: GuardedServer;
  let issuer: string;
  const token = (claims: Record<string, unknown>, options: { issuer?: string; audience?: string; scopes?: string[] } = {}) =>
    tenant.keys.createToken({ issuer: options.issuer ?? issuer, audience: options.audience ?? server.url, subject: "auth0|alice", ...(options.scopes ? { scopes: options.scopes } : {}), additionalClaims: claims });

  beforeAll(async () => {
    await tenant.start();
    issuer = `${tenant.origin}/`;
    const document = oidcDiscoveryDocument(issuer, `${tenant.origin}/.well-known/jwks.json`);
    tenant.documents.set("/.well-known/openid-configuration", document);
    tenant.documents.set("/.well-known/oauth-authorization-server", document);
    await tenant.serveJwks("/.well-known/jwks.json");
    server = await startGuardedServer((baseUrl) => new Auth0MCPProvider({ domain: tenant.origin, baseUrl, requiredScopes: ["mcp:read"] }));
  });
  afterAll(async () => {
    await server?.close();
    await tenant.stop();
  });

  it("names the tenant so that the official client's RFC 8414 issuer check passes", async () => {
    const info = await discoverOAuthServerInfo(server.url);
    expect(info.authorizationServerUrl).toBe(issuer);
    expect(info.authorizationServerMetadata?.issuer).toBe(issuer);
  });

  it("forwards the tenant's metadata and serves no registration endpoint of its own", async () => {
    expect(await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()).toMatchObject({ issuer, registration_endpoint: `${tenant.origin}/oidc/register` });
    expect((await fetch(`${server.baseUrl}/register`, { method: "POST" })).status).toBe(404);
  });

  it("accepts the tenant's token for this server and shows its permissions as scopes", async () => {
    const me = await whoamiWithBearer(server.url, await token({ permissions: ["mcp:read", "notes:export"], azp: "mcp-client" }, { scopes: ["openid"] }));
    expect(me.subject).toBe("auth0|alice");
    expect(me.scopes).toEqual(["openid", "mcp:read", "notes:export"]);
    expect(me.claims).toMatchObject({ iss: issuer, aud: server.url, permissions: ["mcp:read", "notes:export"] });
  });

  it("takes a permissions string too", async () => {
    expect((await whoamiWithBearer(server.url, await token({ permissions: "mcp:read notes:export" }))).scopes).toEqual(["mcp:read", "notes:export"]);
  });

  it("answers 403 insufficient_scope when neither scope nor permissions hold the required scope", async () => {
    const refused = await initializeWith(server, await token({ permissions: ["notes:export"] }, { scopes: ["openid"] }));
    expect(refused.status).toBe(403);
    expect(challengeOf(refused.challenge)).toMatchObject({ error: "insufficient_scope", scope: expect.stringContaining("mcp:read") });
  });

  it.each([
    ["minted for another API", () => ({ audience: "https://other-api.example/" })],
    ["from the issuer without its trailing slash", () => ({ issuer: tenant.origin })],
  ])("refuses a token %s", async (_case, options) => {
    const refused = await initializeWith(server, await token({}, { scopes: ["mcp:read"], ...options() }));
    expect(refused.status).toBe(401);
    expect(challengeOf(refused.challenge).error).toBe("invalid_token");
  });

  it("refuses a token signed by another key", async () => {
    const forged = await JWTKeyPair.generate("RS256", { kid: tenant.keys.kid }).createToken({ issuer, audience: server.url, scopes: ["mcp:read"] });
    expect((await initializeWith(server, forged)).status).toBe(401);
  });
});

const permissions = ["notes:export"];

describeOAuthJourney(
  "Auth0MCPProvider against a stand-in with Auth0's URL layout, registering at the tenant",
  {
    idp: { layout: auth0Layout(), extraTokenClaims: { permissions } },
    // The stand-in's issuer is its bare origin (no trailing slash): configUrl names it as such.
    auth: (idp, baseUrl) => new Auth0MCPProvider({ configUrl: idp.issuer, baseUrl, requiredScopes: ["mcp:read"] }),
    claims: { permissions },
    forwardsMetadata: true,
    foreignToken: "refused",
  },
  (journey) => {
    it("adds the token's permissions to the scopes a tool sees", async () => {
      const { idp, server } = journey();
      const me = await whoamiWithBearer(server.url, await idp.mintToken(server.url));
      expect(me.scopes).toEqual(["mcp:read", "notes:export"]);
    });
  },
);
