import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWTVerifier, RemoteAuthProvider } from "fastmcp-ts/auth";
import { startIdentityProvider, type IdentityProvider } from "../../helpers/idp.js";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { startGuardedServer, TOOLS, type GuardedServer } from "../../helpers/oauth-server.js";
import { challengeOf, textOf } from "./journey.js";
import { describeOAuthJourney } from "./suite.js";

function longForm(idp: IdentityProvider, baseUrl: string): RemoteAuthProvider {
  return new RemoteAuthProvider({
    // The required scope comes from the verifier: the provider adopts it for challenges and metadata.
    tokenVerifier: new JWTVerifier({ jwksUri: idp.jwksUri, issuer: idp.issuer, audience: `${baseUrl}/mcp`, requiredScopes: ["mcp:read"] }),
    authorizationServers: [idp.issuer],
    baseUrl,
  });
}

describeOAuthJourney("RemoteAuthProvider, long form with an explicit JWTVerifier, with a real authorization server", {
  idp: {},
  auth: longForm,
  forwardsMetadata: false,
  foreignToken: "refused",
});

describe("RemoteAuthProvider, long form, when the access token expires", () => {
  let idp: IdentityProvider;
  let server: GuardedServer;

  beforeAll(async () => {
    idp = await startIdentityProvider({ accessTokenTtl: 1 });
    server = await startGuardedServer((baseUrl) => longForm(idp, baseUrl));
    idp.allowResource(server.url);
  });

  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it("refuses the expired token with 401 invalid_token, and the client refreshes it without a new login", async () => {
    await using client = await new OAuthMcpClient(server.url).connect();
    // The SDK opens its GET stream in the background; once it is open nothing else uses the token
    // (had the token expired by then, the SDK refreshed it for the GET, and this waits for the new one).
    await until(() => client.exchanges.some((exchange) => exchange.method === "GET" && exchange.status === 200));
    const expired = client.tokens!.access_token;
    const refreshToken = client.tokens!.refresh_token;
    const expiresAtMs = decodeJwt(expired).exp! * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAtMs - Date.now()) + 50));
    const before = client.exchanges.length;

    expect(textOf(await client.callTool(TOOLS.read))).toBe("three notes");

    const calls = client.exchanges.slice(before).filter((exchange) => exchange.rpcMethod === "tools/call");
    expect(calls.map((exchange) => exchange.status)).toEqual([401, 200]);
    expect(challengeOf(calls[0]!.wwwAuthenticate).error).toBe("invalid_token");
    expect(client.tokens!.access_token).not.toBe(expired);
    // oidc-provider rotates refresh tokens of public clients.
    expect(client.tokens!.refresh_token).not.toBe(refreshToken);
    expect(decodeJwt(client.tokens!.access_token).aud).toBe(server.url);
    expect(client.authorizations).toHaveLength(1);
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
