import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError, JWTKeyPair } from "fastmcp-ts/auth";
import { AWSCognitoProvider, AWSCognitoTokenVerifier } from "fastmcp-ts/auth/providers/aws";
import { cognitoLayout } from "../../helpers/idp-layouts.js";
import { KeyServer } from "../../helpers/key-server.js";
import type { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { signIn, startPresetServer, whoami, type PresetServer } from "./oidc-preset-server.js";
import { isolateAuthEnvironment } from "./preset-environment.js";
import { thrownMessage } from "./thrown.js";

const POOL = "eu-west-1_Ab12Cd34";

describe("AWSCognitoProvider configuration", () => {
  const setEnv = isolateAuthEnvironment();
  const app = { clientId: "4abc5app", clientSecret: "cognito-secret-value" };

  it("finds the pool's issuer from its id, in the id's region unless told", () => {
    expect(new AWSCognitoProvider({ ...app, userPoolId: POOL }).issuer).toBe(`https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`);
    expect(new AWSCognitoProvider({ ...app, userPoolId: POOL, awsRegion: "eu-central-1" }).issuer).toBe(`https://cognito-idp.eu-central-1.amazonaws.com/${POOL}`);
    expect(new AWSCognitoProvider({ ...app, userPoolId: POOL, cognitoIdpUrl: "http://127.0.0.1:4566/" }).issuer).toBe(`http://127.0.0.1:4566/${POOL}`);
  });

  it("gives algorithm to its own verifier (OIDCProxy refuses it beside a tokenVerifier)", () => {
    expect(() => new AWSCognitoProvider({ ...app, userPoolId: POOL, algorithm: "ES256" })).not.toThrow();
  });

  it("reads FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_*, then the reference's FASTMCP_SERVER_AUTH_AWS_COGNITO_*; explicit options win", () => {
    setEnv({
      FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_USER_POOL_ID: POOL,
      FASTMCP_SERVER_AUTH_AWS_COGNITO_USER_POOL_ID: "us-east-1_Legacy1",
      FASTMCP_SERVER_AUTH_AWS_COGNITO_AWS_REGION: "eu-north-1",
      FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_CLIENT_ID: "4abc5app",
      FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_BASE_URL: "https://mcp.example.com",
      FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_REQUIRED_SCOPES: "https://mcp.example.com/notes.read",
    });
    const fromEnv = new AWSCognitoProvider();
    expect(fromEnv.issuer).toBe(`https://cognito-idp.eu-north-1.amazonaws.com/${POOL}`);
    expect(fromEnv.requiredScopes).toEqual(["https://mcp.example.com/notes.read"]);
    expect(fromEnv.callbackUrl).toBe("https://mcp.example.com/auth/callback");
    expect(new AWSCognitoProvider({ userPoolId: "us-east-1_Explicit9" }).issuer).toBe("https://cognito-idp.eu-north-1.amazonaws.com/us-east-1_Explicit9");
  });

  it.each([
    [{ clientId: "4abc5app" }, /userPoolId.*FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_USER_POOL_ID/],
    [{ userPoolId: POOL }, /clientId.*FASTMCP_SERVER_AUTH_AWSCOGNITOPROVIDER_CLIENT_ID/],
    [{ userPoolId: "../other", clientId: "4abc5app" }, /userPoolId must look like <region>_<id>/],
  ])("refuses a missing or malformed setting (%o), naming its variable and never the secret", (options, message) => {
    const build = () => new AWSCognitoProvider({ ...options, clientSecret: app.clientSecret });
    expect(build).toThrow(AuthConfigurationError);
    expect(build).toThrow(message);
    expect(thrownMessage(build)).not.toContain(app.clientSecret);
  });
});

describe("AWSCognitoTokenVerifier", () => {
  const pool = new KeyServer();
  let issuer: string;
  let verifier: AWSCognitoTokenVerifier;
  const accessToken = (claims: Record<string, unknown>, options: { issuer?: string; keys?: JWTKeyPair; expiresInSeconds?: number } = {}) =>
    (options.keys ?? pool.keys).createToken({
      issuer: options.issuer ?? issuer,
      subject: "0f2c-alice",
      scopes: ["openid", "https://mcp.example.com/notes.read"],
      ...(options.expiresInSeconds !== undefined ? { expiresInSeconds: options.expiresInSeconds } : {}),
      additionalClaims: { token_use: "access", client_id: "4abc5app", username: "alice", "cognito:groups": ["editors"], origin_jti: "o-1", event_id: "e-1", ...claims },
    });

  beforeAll(async () => {
    await pool.start();
    issuer = `${pool.origin}/${POOL}`;
    await pool.serveJwks(`/${POOL}/.well-known/jwks.json`);
    verifier = new AWSCognitoTokenVerifier({ jwksUri: `${issuer}/.well-known/jwks.json`, issuer, clientId: ["4abc5app", "7other"], onError: () => undefined });
  });
  afterAll(() => pool.stop());

  it("accepts an access token without aud whose client_id is the app client's, keeping only the identity claims", async () => {
    const token = await accessToken({});
    const verified = await verifier.verifyToken(token);
    expect(verified).toMatchObject({ clientId: "4abc5app", subject: "0f2c-alice", scopes: ["openid", "https://mcp.example.com/notes.read"] });
    expect(verified!.claims).toEqual({ sub: "0f2c-alice", username: "alice", "cognito:groups": ["editors"] });
    expect(verifier.cachedToken(token)).toBe(verified);
    expect(await verifier.verifyToken(await accessToken({ client_id: "7other" }))).toMatchObject({ clientId: "7other" });
  });

  it("ignores aud: a Cognito resource-bound token is accepted for the app client", async () => {
    expect(await verifier.verifyToken(await accessToken({ aud: "https://somewhere.example" }))).not.toBeNull();
  });

  it.each([
    ["another app client's", () => accessToken({ client_id: "9intruder" })],
    ["no client_id (an ID token has aud instead)", () => accessToken({ client_id: undefined, aud: "4abc5app" })],
    ["an ID token's token_use", () => accessToken({ token_use: "id" })],
    ["another pool's issuer", () => accessToken({}, { issuer: `${pool.origin}/eu-west-1_Other999` })],
    ["an expired", () => accessToken({}, { expiresInSeconds: -60 })],
    ["another key's", () => accessToken({}, { keys: JWTKeyPair.generate("RS256", { kid: pool.keys.kid }) })],
  ])("refuses %s token", async (_case, token) => {
    const refused = await token();
    expect(await verifier.verifyToken(refused)).toBeNull();
    expect(verifier.cachedToken(refused)).toBeUndefined();
  });
});

describe("AWSCognitoProvider in front of a stand-in with a user pool's layout, with the official MCP client", () => {
  let server: PresetServer;
  let client: OAuthMcpClient | undefined;

  beforeAll(async () => {
    server = await startPresetServer(
      // Cognito's access tokens name the app client in client_id; the stand-in's aud must not matter.
      { layout: cognitoLayout(POOL, "eu-west-1"), audience: () => "not-checked", extraTokenClaims: { token_use: "access", username: "alice", "cognito:groups": ["editors"] } },
      (idp, common) => new AWSCognitoProvider({ ...common, userPoolId: POOL, cognitoIdpUrl: `${idp.origin}/eu-west-1`, requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs in through the pool, and a tool reads sub, username and groups from ctx.auth", async () => {
    client = await signIn(server);
    expect(server.idp.authorizationRequests.at(-1)!.get("scope")!.split(" ")).toEqual(["openid", "mcp:read"]);
    const me = await whoami(client);
    expect(me.subject).toBe("alice");
    expect(me.scopes).toEqual(["mcp:read"]);
    expect(me.upstream).toEqual({ sub: "alice", username: "alice", "cognito:groups": ["editors"] });
    expect(server.errors).toEqual([]);
  });
});

describe("AWSCognitoProvider handed a token whose token_use is not access", () => {
  let server: PresetServer;

  beforeAll(async () => {
    server = await startPresetServer(
      { layout: cognitoLayout(POOL, "eu-west-1"), extraTokenClaims: { token_use: "id" } },
      (idp, common) => new AWSCognitoProvider({ ...common, userPoolId: POOL, cognitoIdpUrl: `${idp.origin}/eu-west-1`, requiredScopes: ["mcp:read"] }),
    );
  });
  afterAll(() => server?.close());

  it("refuses the sign-in, and says why in the log", async () => {
    await expect(signIn(server)).rejects.toThrow(/server_error/);
    expect(server.errors.map(String).join("\n")).toMatch(/token verifier refused a token/);
  });
});
