import { afterEach, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { AuthConfigurationError, IntrospectionTokenVerifier, JWTKeyPair, JWTVerifier, RemoteAuthProvider, authFromEnvironment } from "fastmcp-ts/auth";
import { AuthKitProvider } from "fastmcp-ts/auth/providers/authkit";
import { DescopeProvider } from "fastmcp-ts/auth/providers/descope";
import { ScalekitProvider } from "fastmcp-ts/auth/providers/scalekit";
import { SupabaseProvider } from "fastmcp-ts/auth/providers/supabase";

const saved = { ...process.env };
function setEnv(vars: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (key.startsWith("FASTMCP_SERVER_AUTH")) delete process.env[key];
  Object.assign(process.env, vars);
}
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe("FASTMCP_SERVER_AUTH", () => {
  it("configures a JWTVerifier from FASTMCP_SERVER_AUTH_JWT_* when no auth is passed", async () => {
    const keys = JWTKeyPair.generate();
    setEnv({
      FASTMCP_SERVER_AUTH: "JWT",
      FASTMCP_SERVER_AUTH_JWT_PUBLIC_KEY: keys.publicKey,
      FASTMCP_SERVER_AUTH_JWT_ISSUER: "https://auth.example.com",
      FASTMCP_SERVER_AUTH_JWT_AUDIENCE: "mcp-server",
      FASTMCP_SERVER_AUTH_JWT_REQUIRED_SCOPES: "mcp:read, mcp:write",
    });
    const mcp = new FastMCP({ name: "from-env" });
    expect(mcp.auth).toBeInstanceOf(JWTVerifier);
    expect(mcp.auth!.requiredScopes).toEqual(["mcp:read", "mcp:write"]);
    const token = await keys.createToken({ issuer: "https://auth.example.com", audience: "mcp-server", scopes: ["mcp:read"] });
    expect((await mcp.auth!.verifyToken(token))?.scopes).toEqual(["mcp:read"]);
  });

  it.each([
    ["fastmcp.server.auth.providers.descope.DescopeProvider", DescopeProvider],
    ["descope", DescopeProvider],
    ["DescopeProvider", DescopeProvider],
  ])("accepts the reference's names: %s", (selector, type) => {
    setEnv({ FASTMCP_SERVER_AUTH: selector, FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID: "P2abc123", FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL: "https://mcp.example.com" });
    const provider = authFromEnvironment()!;
    expect(provider).toBeInstanceOf(type);
    expect((provider as DescopeProvider).issuer).toBe("https://api.descope.com/v1/apps/P2abc123");
    expect(provider.resourceUrl).toBe("https://mcp.example.com/mcp");
  });

  it("builds every preset from its variables", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_SCALEKITPROVIDER_ENVIRONMENT_URL: "https://acme.scalekit.com",
      FASTMCP_SERVER_AUTH_SCALEKITPROVIDER_RESOURCE_ID: "res_123",
      FASTMCP_SERVER_AUTH_SCALEKITPROVIDER_MCP_URL: "http://localhost:3002/",
      FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN: "acme.authkit.app",
      FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL: "https://mcp.acme.com",
      FASTMCP_SERVER_AUTH_SUPABASE_PROJECT_URL: "https://abc.supabase.co",
      FASTMCP_SERVER_AUTH_SUPABASE_BASE_URL: "https://mcp.acme.com",
      FASTMCP_SERVER_AUTH_REMOTE_AUTHORIZATION_SERVER_URL: "https://auth.acme.com",
      FASTMCP_SERVER_AUTH_REMOTE_BASE_URL: "https://mcp.acme.com",
    });
    process.env.FASTMCP_SERVER_AUTH = "scalekit";
    const scalekit = authFromEnvironment() as ScalekitProvider;
    expect(scalekit.authorizationServers).toEqual(["https://acme.scalekit.com/resources/res_123"]);
    expect(scalekit.resourceUrl).toBe("http://localhost:3002/mcp");
    process.env.FASTMCP_SERVER_AUTH = "fastmcp.server.auth.providers.workos.AuthKitProvider";
    const authkit = authFromEnvironment() as AuthKitProvider;
    expect(authkit.authkitDomain).toBe("https://acme.authkit.app");
    process.env.FASTMCP_SERVER_AUTH = "supabase";
    expect((authFromEnvironment() as SupabaseProvider).issuer).toBe("https://abc.supabase.co/auth/v1");
    process.env.FASTMCP_SERVER_AUTH = "remote";
    expect((authFromEnvironment() as RemoteAuthProvider).authorizationServers).toEqual(["https://auth.acme.com"]);
  });

  it("lets explicit arguments win over the environment", () => {
    setEnv({ FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID: "P-from-env", FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL: "https://env.example.com" });
    const provider = new DescopeProvider({ projectId: "P-explicit" });
    expect(provider.projectId).toBe("P-explicit");
    expect(provider.baseUrl).toBe("https://env.example.com");
  });

  it("ignores the environment when auth is passed, and null turns it off", () => {
    setEnv({ FASTMCP_SERVER_AUTH: "JWT" });
    expect(new FastMCP({ name: "off", auth: null }).auth).toBeUndefined();
    const explicit = new JWTVerifier({ publicKey: JWTKeyPair.generate().publicKey, audience: "x" });
    expect(new FastMCP({ name: "explicit", auth: explicit }).auth).toBe(explicit);
  });

  it("fails at startup naming the variable of a missing required value", () => {
    setEnv({ FASTMCP_SERVER_AUTH: "descope", FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL: "https://mcp.example.com" });
    expect(() => new FastMCP({ name: "x" })).toThrow(/FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID/);
    setEnv({ FASTMCP_SERVER_AUTH: "JWT" });
    expect(() => new FastMCP({ name: "x" })).toThrow(/FASTMCP_SERVER_AUTH_JWT_PUBLIC_KEY/);
    setEnv({ FASTMCP_SERVER_AUTH: "introspection" });
    expect(() => new IntrospectionTokenVerifier()).toThrow(/FASTMCP_SERVER_AUTH_INTROSPECTION_INTROSPECTION_URL/);
  });

  it("fails naming the variable and what it expected for a malformed value", () => {
    setEnv({ FASTMCP_SERVER_AUTH_JWT_CLOCK_TOLERANCE: "soon" });
    expect(() => new JWTVerifier({ publicKey: JWTKeyPair.generate().publicKey, audience: "x" })).toThrow("FASTMCP_SERVER_AUTH_JWT_CLOCK_TOLERANCE must be a number");
    setEnv({ FASTMCP_SERVER_AUTH_JWT_REQUIRED_SCOPES: '["a", 1]' });
    expect(() => new JWTVerifier({ publicKey: JWTKeyPair.generate().publicKey, audience: "x" })).toThrow(/FASTMCP_SERVER_AUTH_JWT_REQUIRED_SCOPES must be a JSON array of strings/);
    setEnv({ FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_BASE_URL: "not a url" });
    expect(() => new DescopeProvider({ projectId: "P1" })).toThrow(AuthConfigurationError);
  });

  it("accepts lists as JSON, commas or spaces", () => {
    const keys = JWTKeyPair.generate();
    for (const value of ['["a","b"]', "a,b", "a b", " a ,  b "]) {
      setEnv({ FASTMCP_SERVER_AUTH_JWT_REQUIRED_SCOPES: value });
      expect(new JWTVerifier({ publicKey: keys.publicKey, audience: "x" }).requiredScopes).toEqual(["a", "b"]);
    }
  });

  it("refuses an unknown provider name with the list of known ones", () => {
    setEnv({ FASTMCP_SERVER_AUTH: "fastmcp.server.auth.providers.acme.AcmeProvider" });
    expect(() => new FastMCP({ name: "x" })).toThrow(/names no provider; use one of JWT/);
  });

  it("treats an unset, empty or none selector as no auth", () => {
    for (const value of ["", "none", "  "]) {
      setEnv({ FASTMCP_SERVER_AUTH: value });
      expect(new FastMCP({ name: "x" }).auth).toBeUndefined();
    }
  });
});

describe("the variables of one provider stay its own", () => {
  it("a preset's inner verifier ignores FASTMCP_SERVER_AUTH_JWT_* and _INTROSPECTION_* meant for a JWTVerifier or an IntrospectionTokenVerifier", async () => {
    setEnv({
      FASTMCP_SERVER_AUTH_JWT_PUBLIC_KEY: JWTKeyPair.generate().publicKey,
      FASTMCP_SERVER_AUTH_JWT_AUDIENCE: "someone-else",
      FASTMCP_SERVER_AUTH_INTROSPECTION_AUDIENCE: "someone-else",
    });
    const { PropelAuthProvider } = await import("fastmcp-ts/auth/providers/propelauth");
    expect(() => new ScalekitProvider({ environmentUrl: "https://acme.scalekit.com", resourceId: "res_1", baseUrl: "https://mcp.example.com" })).not.toThrow();
    expect(() => new RemoteAuthProvider({ authorizationServerUrl: "https://auth.example.com", baseUrl: "https://mcp.example.com" })).not.toThrow();
    expect(() => new PropelAuthProvider({ authUrl: "https://acme.propelauthtest.com", introspectionClientId: "id", introspectionClientSecret: "secret", baseUrl: "https://mcp.example.com" })).not.toThrow();
  });

  it.each(["google", "clerk", "WorkOSProvider", "auth0", "auth0-mcp", "okta", "aws", "cognito", "keycloak", "propelauth", "oidc"])("FASTMCP_SERVER_AUTH=%s names a provider, which asks for its own settings by variable", (selector) => {
    setEnv({ FASTMCP_SERVER_AUTH: selector });
    let error: unknown;
    try {
      authFromEnvironment();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthConfigurationError);
    expect(String(error)).not.toMatch(/names no provider/);
    expect(String(error)).toMatch(/FASTMCP_SERVER_AUTH_[A-Z0-9]+_[A-Z_]+/);
  });
});
