import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { OktaProvider } from "fastmcp-ts/auth/providers/okta";
import { oktaLayout, oktaOrgLayout } from "../../helpers/idp-layouts.js";
import type { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { PRESET_CLIENT, signIn, startPresetServer, whoami, type PresetServer } from "./oidc-preset-server.js";
import { isolateAuthEnvironment } from "./preset-environment.js";
import { thrownMessage } from "./thrown.js";

describe("OktaProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();
  const app = { clientId: "0oa1app", clientSecret: "okta-secret-value" };

  it("uses the default custom authorization server unless told, and its issuer", () => {
    expect(new OktaProvider({ ...app, domain: "dev-123456.okta.com" }).issuer).toBe("https://dev-123456.okta.com/oauth2/default");
    expect(new OktaProvider({ ...app, domain: "https://acme.okta.com/", authorizationServerId: "aus1abc", audience: "api://notes" }).issuer).toBe("https://acme.okta.com/oauth2/aus1abc");
    expect(new OktaProvider({ ...app, domain: "acme.okta.com", authorizationServerId: "org" }).issuer).toBe("https://acme.okta.com");
  });

  it("gives algorithm to its own verifier (OIDCProxy refuses it beside a tokenVerifier)", () => {
    expect(() => new OktaProvider({ ...app, domain: "acme.okta.com", algorithm: "ES256" })).not.toThrow();
  });

  it("reads FASTMCP_SERVER_AUTH_OKTAPROVIDER_*, explicit options winning", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_DOMAIN: "acme.okta.com",
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_AUTHORIZATION_SERVER_ID: "aus9xyz",
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_AUDIENCE: "api://notes",
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_CLIENT_ID: "0oa-env",
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_REQUIRED_SCOPES: "notes:read notes:write",
      FASTMCP_SERVER_AUTH_OKTAPROVIDER_BASE_URL: "https://mcp.example.com",
    });
    const fromEnv = new OktaProvider();
    expect(fromEnv.issuer).toBe("https://acme.okta.com/oauth2/aus9xyz");
    expect(fromEnv.requiredScopes).toEqual(["notes:read", "notes:write"]);
    expect(fromEnv.callbackUrl).toBe("https://mcp.example.com/auth/callback");
    expect(new OktaProvider({ authorizationServerId: "default", requiredScopes: [] }).issuer).toBe("https://acme.okta.com/oauth2/default");
  });

  it.each([
    [{ clientId: "0oa1app" }, /domain.*FASTMCP_SERVER_AUTH_OKTAPROVIDER_DOMAIN/],
    [{ domain: "acme.okta.com" }, /clientId.*FASTMCP_SERVER_AUTH_OKTAPROVIDER_CLIENT_ID/],
    [{ domain: "acme.okta.com", clientId: "0oa1app", authorizationServerId: "aus1abc" }, /audience \(the Audience of authorization server aus1abc\).*FASTMCP_SERVER_AUTH_OKTAPROVIDER_AUDIENCE/],
  ])("names the variable of a missing setting (%o), and never the secret", (options, message) => {
    const build = () => new OktaProvider({ ...options, clientSecret: app.clientSecret });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(message);
    expect(thrownMessage(build)).not.toContain(app.clientSecret);
  });
});

describe("OktaProvider over a custom authorization server (a stand-in at /oauth2/default), with the official MCP client", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    server = await startPresetServer(
      { layout: oktaLayout(), audience: () => "api://default", extraTokenClaims: { cid: PRESET_CLIENT.id, uid: "00u1alice" } },
      (idp, common) => new OktaProvider({ ...common, domain: idp.origin, requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in through Okta, checks the access token's api://default audience, and a tool reads the identity", async () => {
    client = await signIn(server);
    const upstreamRequest = server.idp.authorizationRequests.at(-1)!;
    expect(upstreamRequest.get("scope")!.split(" ")).toEqual(["openid", "offline_access", "mcp:read"]);
    expect(upstreamRequest.has("audience")).toBe(false);
    const me = await whoami(client);
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ iss: `${server.idp.origin}/oauth2/default`, aud: "api://default", cid: PRESET_CLIENT.id, uid: "00u1alice" });
    expect(server.errors).toEqual([]);
  });
});

describe("OktaProvider over the org authorization server, whose ID token is checked", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    // The org server's access tokens are for Okta's own APIs: an audience the proxy must not need.
    server = await startPresetServer(
      { layout: oktaOrgLayout(), audience: () => "https://okta-org-apis.example" },
      (idp, common) => new OktaProvider({ ...common, domain: idp.origin, authorizationServerId: "org", requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in and a tool reads the ID token's identity", async () => {
    client = await signIn(server);
    const me = await whoami(client);
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toMatchObject({ iss: server.idp.issuer, aud: PRESET_CLIENT.id, sub: "alice" });
    expect(server.errors).toEqual([]);
  });
});

describe("OktaProvider whose audience is not the authorization server's", () => {
  let server: PresetServer;

  beforeAll(async () => {
    server = await startPresetServer(
      { layout: oktaLayout("aus1notes"), audience: () => "api://default" },
      (idp, common) => new OktaProvider({ ...common, domain: idp.origin, authorizationServerId: "aus1notes", audience: "api://notes", requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(() => server?.close());

  it("refuses the sign-in, and says why in the log", async () => {
    await expect(signIn(server)).rejects.toThrow(/server_error/);
    expect(server.errors.map(String).join("\n")).toMatch(/token verifier refused a token/);
  });
});
