import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { PropelAuthProvider, type PropelAuthProviderOptions } from "fastmcp-ts/auth/providers/propelauth";
import { propelauthLayout } from "../../helpers/idp-layouts.js";
import { startGuardedServer, type GuardedServer } from "../../helpers/oauth-server.js";
import { challengeOf, initializeWith } from "../e2e/journey.js";
import { describeOAuthJourney } from "../e2e/suite.js";
import { whoamiWithBearer } from "./bearer-whoami.js";
import { FakeIntrospection, INTROSPECTION_PATH, redirectFetch, type Introspection } from "./fake-introspection.js";
import { isolateAuthEnvironment } from "./preset-environment.js";
import { thrownMessage } from "./thrown.js";

const INTROSPECTION_CLIENT = { id: "propel-introspect", secret: "propel-introspection-secret" };
const credentials = { introspectionClientId: INTROSPECTION_CLIENT.id, introspectionClientSecret: INTROSPECTION_CLIENT.secret };

describe("PropelAuthProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();

  it("derives the authorization server from the Auth URL, a trailing slash dropped", () => {
    const propel = new PropelAuthProvider({ ...credentials, authUrl: "https://auth.example.com/", baseUrl: "https://mcp.example.com", requiredScopes: ["read:notes"] });
    expect(propel.authUrl).toBe("https://auth.example.com");
    expect(propel.protectedResourceMetadata()).toMatchObject({ authorization_servers: ["https://auth.example.com/oauth/2.1"], scopes_supported: ["read:notes"] });
  });

  it("reads FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_*, explicit options winning", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_AUTH_URL: "https://auth.example.com",
      FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_INTROSPECTION_CLIENT_ID: "id-from-env",
      FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_INTROSPECTION_CLIENT_SECRET: "secret-from-env",
      FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_BASE_URL: "https://mcp.example.com",
      FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_REQUIRED_SCOPES: "read:notes",
    });
    const fromEnv = new PropelAuthProvider();
    expect(fromEnv.authorizationServers).toEqual(["https://auth.example.com/oauth/2.1"]);
    expect(fromEnv.requiredScopes).toEqual(["read:notes"]);
    expect(new PropelAuthProvider({ authUrl: "https://login.other.com" }).authUrl).toBe("https://login.other.com");
  });

  it.each([
    [{ ...credentials, baseUrl: "https://mcp.example.com" }, /authUrl.*FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_AUTH_URL/],
    [{ authUrl: "https://auth.example.com", introspectionClientSecret: INTROSPECTION_CLIENT.secret, baseUrl: "https://mcp.example.com" }, /introspectionClientId.*FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_INTROSPECTION_CLIENT_ID/],
    [{ authUrl: "https://auth.example.com", introspectionClientId: "id", baseUrl: "https://mcp.example.com" }, /introspectionClientSecret.*FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_INTROSPECTION_CLIENT_SECRET/],
    [{ ...credentials, authUrl: "https://auth.example.com" }, /baseUrl.*FASTMCP_SERVER_AUTH_PROPELAUTHPROVIDER_BASE_URL/],
  ])("names the variable of a missing setting, never the secret (%#)", (options: PropelAuthProviderOptions, message) => {
    const build = () => new PropelAuthProvider(options);
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(message);
    expect(thrownMessage(build)).not.toContain(INTROSPECTION_CLIENT.secret);
  });
});

describe("PropelAuthProvider against an introspection endpoint in PropelAuth's shape", () => {
  const propel = new FakeIntrospection(INTROSPECTION_CLIENT);
  const servers: GuardedServer[] = [];
  const now = () => Math.floor(Date.now() / 1000);
  const answers = new Map<string, Introspection>();
  let plain: GuardedServer;
  let bound: GuardedServer;
  let cached: GuardedServer;
  let wrongSecret: GuardedServer;

  const start = async (options: Partial<PropelAuthProviderOptions> = {}, resourceBound = false) => {
    const server = await startGuardedServer((baseUrl) => new PropelAuthProvider({
      ...credentials,
      authUrl: propel.origin,
      baseUrl,
      requiredScopes: ["mcp:read"],
      ...(resourceBound ? { resource: `${baseUrl}/mcp` } : {}),
      onError: () => undefined,
      ...options,
    }));
    servers.push(server);
    return server;
  };
  /** A token PropelAuth says is active, for the plain server unless `fields` names another aud. */
  const activeToken = (name: string, fields: Record<string, unknown> = {}) => {
    answers.set(name, { active: true, sub: "user-alice", client_id: "mcp-client-1", scope: "mcp:read", aud: plain.url, iss: `${propel.origin}/oauth/2.1`, exp: now() + 600, iat: now(), token_type: "Bearer", ...fields });
    return name;
  };

  beforeAll(async () => {
    await propel.start();
    propel.lookup = (token) => answers.get(token) ?? { active: false };
    plain = await start();
    bound = await start({}, true);
    cached = await start({ tokenIntrospectionOverrides: { cacheTtlSeconds: 60 } });
    wrongSecret = await start({ introspectionClientSecret: "not-the-secret" });
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await propel.stop();
  });

  it("accepts an active token, authenticating with the introspection client, and a tool reads what PropelAuth said", async () => {
    const before = propel.requests.length;
    const me = await whoamiWithBearer(plain.url, activeToken("active-1"));
    expect(me).toMatchObject({ subject: "user-alice", clientId: "mcp-client-1", scopes: ["mcp:read"] });
    expect(me.claims).toMatchObject({ active: true, sub: "user-alice", aud: plain.url });
    expect(propel.requests.slice(before).every((request) => request.clientId === INTROSPECTION_CLIENT.id && request.hint === "access_token")).toBe(true);
  });

  it.each([
    ["inactive", "never-issued"],
    ["past its exp", () => activeToken("expired", { exp: now() - 10 })],
  ])("refuses an %s token with invalid_token", async (_case, token) => {
    const refused = await initializeWith(plain, typeof token === "string" ? token : token());
    expect(refused.status).toBe(401);
    expect(challengeOf(refused.challenge).error).toBe("invalid_token");
  });

  it("answers 403 insufficient_scope for an active token without the required scope", async () => {
    const refused = await initializeWith(plain, activeToken("read-less", { scope: "profile" }));
    expect(refused.status).toBe(403);
    expect(challengeOf(refused.challenge).error).toBe("insufficient_scope");
  });

  it("without resource accepts a token for any aud; with it, only a token whose aud names it", async () => {
    const foreign = activeToken("foreign-aud", { aud: "https://other.example/mcp" });
    expect((await initializeWith(plain, foreign)).status).toBe(200);
    expect((await initializeWith(bound, foreign)).status).toBe(401);
    expect((await initializeWith(bound, activeToken("own-aud", { aud: bound.url }))).status).toBe(200);
    expect((await initializeWith(bound, activeToken("aud-list", { aud: ["https://other.example/mcp", bound.url] }))).status).toBe(200);
    expect((await initializeWith(bound, activeToken("no-aud", { aud: undefined }))).status).toBe(401);
  });

  it("refuses every token when PropelAuth refuses the introspection credentials", async () => {
    expect((await initializeWith(wrongSecret, activeToken("good-token"))).status).toBe(401);
    expect(propel.requests.at(-1)!.clientId).toBeUndefined();
  });

  it("asks PropelAuth on every request, unless tokenIntrospectionOverrides sets a cache", async () => {
    const token = activeToken("asked-twice");
    const count = () => propel.requests.filter((request) => request.token === token).length;
    await initializeWith(plain, token);
    await initializeWith(plain, token);
    expect(count()).toBe(2);
    await initializeWith(cached, token);
    await initializeWith(cached, token);
    expect(count()).toBe(3);
  });

  it("forwards PropelAuth's authorization server metadata and serves no registration endpoint", async () => {
    const upstream = await (await fetch(`${propel.origin}/.well-known/oauth-authorization-server/oauth/2.1`)).json();
    expect(await (await fetch(`${plain.baseUrl}/.well-known/oauth-authorization-server`)).json()).toEqual(upstream);
    expect((await fetch(`${plain.baseUrl}/register`, { method: "POST" })).status).toBe(404);
  });
});

// The oidc-provider stand-in issues PropelAuth-shaped tokens at <authUrl>/oauth/2.1 but has no
// introspection endpoint at <authUrl>/oauth/2.1/introspect: that one URL is answered by the fake.
const introspection = new FakeIntrospection(INTROSPECTION_CLIENT);
let restoreFetch = () => undefined as void;
beforeAll(() => introspection.start().then(() => undefined));
afterAll(async () => {
  restoreFetch();
  await introspection.stop();
});

describeOAuthJourney("PropelAuthProvider against a stand-in with PropelAuth's URL layout, registering at PropelAuth", {
  idp: { layout: propelauthLayout() },
  auth: (idp, baseUrl) => {
    introspection.trustJwtsOf(idp.issuer, idp.jwksUri);
    restoreFetch = redirectFetch(`${idp.origin}${INTROSPECTION_PATH}`, `${introspection.origin}${INTROSPECTION_PATH}`);
    return new PropelAuthProvider({ ...credentials, authUrl: idp.origin, baseUrl, resource: `${baseUrl}/mcp`, requiredScopes: ["mcp:read"] });
  },
  claims: { active: true },
  forwardsMetadata: true,
  foreignToken: "refused",
}, () => {
  it("checked the tokens at PropelAuth's introspection endpoint, with the introspection client", () => {
    expect(introspection.requests.length).toBeGreaterThan(0);
    expect(introspection.requests.every((request) => request.clientId === INTROSPECTION_CLIENT.id)).toBe(true);
  });
});
