import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError, JWTKeyPair, StaticTokenVerifier } from "fastmcp-ts/auth";
import { KeycloakAuthProvider } from "fastmcp-ts/auth/providers/keycloak";
import { keycloakLayout } from "../../helpers/idp-layouts.js";
import { KeyServer } from "../../helpers/key-server.js";
import { startGuardedServer, type GuardedServer } from "../../helpers/oauth-server.js";
import { challengeOf, initializeWith } from "../e2e/journey.js";
import { describeOAuthJourney } from "../e2e/suite.js";
import { whoamiWithBearer } from "./bearer-whoami.js";
import { isolateAuthEnvironment } from "./preset-environment.js";

const REALM = "https://keycloak.example.com/realms/notes";

describe("KeycloakAuthProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();

  it("names the realm as the authorization server, without a trailing slash, and serves only its protected resource metadata", () => {
    const keycloak = new KeycloakAuthProvider({ realmUrl: `${REALM}/`, baseUrl: "https://mcp.example.com", requiredScopes: ["mcp:read"] });
    expect(keycloak.realmUrl).toBe(REALM);
    expect(keycloak.protectedResourceMetadata()).toMatchObject({ resource: "https://mcp.example.com/mcp", authorization_servers: [REALM], scopes_supported: ["mcp:read"] });
    const paths = keycloak.routes().map((route) => route.path);
    expect(paths.every((path) => path.startsWith("/.well-known/oauth-protected-resource"))).toBe(true);
  });

  it("reads FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_*, explicit options winning", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_REALM_URL: REALM,
      FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_BASE_URL: "https://mcp.example.com",
      FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_REQUIRED_SCOPES: "mcp:read,mcp:write",
    });
    const fromEnv = new KeycloakAuthProvider();
    expect(fromEnv.authorizationServers).toEqual([REALM]);
    expect(fromEnv.requiredScopes).toEqual(["mcp:read", "mcp:write"]);
    expect(new KeycloakAuthProvider({ realmUrl: "https://sso.example.com/realms/other" }).realmUrl).toBe("https://sso.example.com/realms/other");
  });

  it.each([
    [{ baseUrl: "https://mcp.example.com" }, /realmUrl.*FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_REALM_URL/],
    [{ realmUrl: REALM }, /baseUrl.*FASTMCP_SERVER_AUTH_KEYCLOAKAUTHPROVIDER_BASE_URL/],
    [{ realmUrl: "http://keycloak.example.com/realms/notes", baseUrl: "https://mcp.example.com" }, /realmUrl must use https/],
  ])("refuses a missing or unsafe setting (%o)", (options, message) => {
    expect(() => new KeycloakAuthProvider(options)).toThrow(AuthConfigurationError);
    expect(() => new KeycloakAuthProvider(options)).toThrow(message);
  });

  it("keeps a custom verifier", async () => {
    const tokenVerifier = new StaticTokenVerifier({ tokens: { "kc-token": { clientId: "c", scopes: ["mcp:read"] } } });
    const keycloak = new KeycloakAuthProvider({ realmUrl: REALM, baseUrl: "https://mcp.example.com", tokenVerifier });
    expect((await keycloak.verifyToken("kc-token"))?.scopes).toEqual(["mcp:read"]);
  });
});

describe("KeycloakAuthProvider against a realm's keys at /protocol/openid-connect/certs", () => {
  const keycloak = new KeyServer();
  let realm: string;
  let server: GuardedServer;
  let withAccountAudience: GuardedServer;
  const token = (options: { audience?: string | string[]; issuer?: string; keys?: JWTKeyPair } = {}) =>
    (options.keys ?? keycloak.keys).createToken({
      issuer: options.issuer ?? realm,
      audience: options.audience ?? server.url,
      subject: "f3b1-alice",
      scopes: ["openid", "mcp:read"],
      additionalClaims: { azp: "mcp-client", preferred_username: "alice", realm_access: { roles: ["editor"] } },
    });

  beforeAll(async () => {
    await keycloak.start();
    realm = `${keycloak.origin}/realms/notes`;
    await keycloak.serveJwks("/realms/notes/protocol/openid-connect/certs");
    server = await startGuardedServer((baseUrl) => new KeycloakAuthProvider({ realmUrl: realm, baseUrl, requiredScopes: ["mcp:read"] }));
    withAccountAudience = await startGuardedServer((baseUrl) => new KeycloakAuthProvider({ realmUrl: realm, baseUrl, audience: "account", requiredScopes: ["mcp:read"] }));
  });
  afterAll(async () => {
    await server?.close();
    await withAccountAudience?.close();
    await keycloak.stop();
  });

  it("accepts the realm's token for this server's MCP URL; a tool reads Keycloak's claims", async () => {
    const me = await whoamiWithBearer(server.url, await token());
    expect(me).toMatchObject({ subject: "f3b1-alice", clientId: "mcp-client", scopes: ["openid", "mcp:read"] });
    expect(me.claims).toMatchObject({ preferred_username: "alice", realm_access: { roles: ["editor"] } });
  });

  it("refuses Keycloak's default audience (account) unless audience says so", async () => {
    const refused = await initializeWith(server, await token({ audience: "account" }));
    expect(refused.status).toBe(401);
    expect(challengeOf(refused.challenge).error).toBe("invalid_token");
    expect((await initializeWith(withAccountAudience, await token({ audience: ["account", "other"] }))).status).toBe(200);
  });

  it.each([
    ["another realm's", () => token({ issuer: `${keycloak.origin}/realms/other` })],
    ["another key's", () => token({ keys: JWTKeyPair.generate("RS256", { kid: keycloak.keys.kid }) })],
  ])("refuses %s token", async (_case, refused) => {
    expect((await initializeWith(server, await refused())).status).toBe(401);
  });
});

const keycloakClaims = { preferred_username: "alice", realm_access: { roles: ["editor"] } };

describeOAuthJourney("KeycloakAuthProvider against a stand-in with a Keycloak realm's URL layout, registering at the realm", {
  idp: { layout: keycloakLayout("notes"), extraTokenClaims: keycloakClaims },
  auth: (idp, baseUrl) => new KeycloakAuthProvider({ realmUrl: idp.issuer, baseUrl, requiredScopes: ["mcp:read"] }),
  claims: keycloakClaims,
  forwardsMetadata: false,
  foreignToken: "refused",
});
