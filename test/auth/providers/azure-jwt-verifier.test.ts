import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteAuthProvider } from "fastmcp-ts/auth";
import { AzureJWTVerifier, PERSONAL_ACCOUNTS_TENANT_ID, type AzureJWTVerifierOptions } from "fastmcp-ts/auth/providers/azure";
import { openSession, postRaw } from "../../helpers/http.js";
import { KeyServer } from "../../helpers/key-server.js";
import { startGuardedServer, type GuardedServer } from "../../helpers/oauth-server.js";

const CLIENT_ID = "6a1b2c3d-1111-4222-8333-999999999999";
const APP_URI = `api://${CLIENT_ID}`;
const TENANT = "4f1d2c3b-aaaa-4bbb-8ccc-0123456789ab";
const OTHER_DIRECTORY = "0b0b0b0b-1111-4222-8333-444444444444";

/** Entra's authority: the keys of every tenant path under test, at `/<tenant>/discovery/v2.0/keys`. */
const entra = new KeyServer();
beforeAll(async () => {
  await entra.start();
  for (const tenant of [TENANT, "organizations", "common", "consumers"]) await entra.serveJwks(`/${tenant}/discovery/v2.0/keys`);
});
afterAll(() => entra.stop());

function verifier(options: Partial<AzureJWTVerifierOptions> = {}): AzureJWTVerifier {
  return new AzureJWTVerifier({ clientId: CLIENT_ID, tenantId: TENANT, requiredScopes: ["mcp:read"], baseAuthority: entra.origin, ...options });
}

/** An Entra v2 access token: issued by `directory` (its `iss` and, unless told, its `tid`), scopes in `scp` by their bare names. */
function entraToken(directory: string, claims: Record<string, unknown> = {}, audience = CLIENT_ID): Promise<string> {
  return entra.keys.createToken({
    issuer: `${entra.origin}/${directory}/v2.0`,
    audience,
    subject: "pairwise-alice",
    additionalClaims: { scp: "mcp:read", tid: directory, oid: "oid-alice", azp: "some-mcp-client", ver: "2.0", ...claims },
  });
}

describe("AzureJWTVerifier for one tenant", () => {
  it("accepts the tenant's token for the app, with each scope under both names", async () => {
    const token = await verifier().verifyToken(await entraToken(TENANT, { scp: "mcp:read mcp:write" }));
    expect(token?.scopes).toEqual(["mcp:read", "mcp:write", `${APP_URI}/mcp:read`, `${APP_URI}/mcp:write`]);
    expect(token?.claims).toMatchObject({ tid: TENANT, oid: "oid-alice" });
    expect(token?.clientId).toBe("some-mcp-client");
  });

  it("reads scopes written in Entra's names (a `scope` claim, no `scp`) as the same scopes", async () => {
    const token = await verifier().verifyToken(await entraToken(TENANT, { scp: undefined, scope: `${APP_URI}/mcp:read openid` }));
    expect(token?.scopes).toEqual(["mcp:read", "openid", `${APP_URI}/mcp:read`]);
  });

  it("accepts the Application ID URI as audience (v1-style tokens name it)", async () => {
    expect(await verifier().verifyToken(await entraToken(TENANT, {}, APP_URI))).not.toBeNull();
  });

  it("refuses another tenant's token, another app's token, and a token without a key of the tenant", async () => {
    expect(await verifier().verifyToken(await entraToken(OTHER_DIRECTORY))).toBeNull();
    expect(await verifier().verifyToken(await entraToken(TENANT, {}, "api://another-app"))).toBeNull();
    const foreign = new KeyServer();
    const forged = await foreign.keys.createToken({ issuer: `${entra.origin}/${TENANT}/v2.0`, audience: CLIENT_ID, additionalClaims: { scp: "mcp:read", tid: TENANT } });
    expect(await verifier().verifyToken(forged)).toBeNull();
  });

  it("requires and advertises the scopes in Entra's names", () => {
    const azure = verifier({ requiredScopes: ["mcp:read", "openid"] });
    expect(azure.requiredScopes).toEqual([`${APP_URI}/mcp:read`, "openid"]);
    expect(azure.scopesSupported).toEqual([`${APP_URI}/mcp:read`, "openid"]);
    expect(azure.authorizationServer).toBe(`${entra.origin}/${TENANT}/v2.0`);
    expect(() => verifier({ requiredScopes: ["openid"] })).toThrow(/at least one scope your app exposes/);
  });
});

describe("AzureJWTVerifier for a multi-tenant app", () => {
  it("accepts a token whose issuer is the one of its own tid", async () => {
    const token = await verifier({ tenantId: "organizations" }).verifyToken(await entraToken(TENANT));
    expect(token?.claims.tid).toBe(TENANT);
  });

  it("refuses a token whose issuer names another directory than its tid", async () => {
    expect(await verifier({ tenantId: "organizations" }).verifyToken(await entraToken(TENANT, { tid: OTHER_DIRECTORY }))).toBeNull();
    expect(await verifier({ tenantId: "common" }).verifyToken(await entraToken(TENANT, { tid: undefined }))).toBeNull();
    expect(await verifier({ tenantId: "organizations" }).verifyToken(await entraToken("not-a-directory-id"))).toBeNull();
  });

  it("keeps personal accounts to consumers, and directories to allowedTenantIds", async () => {
    const personal = await entraToken(PERSONAL_ACCOUNTS_TENANT_ID);
    expect(await verifier({ tenantId: "consumers" }).verifyToken(personal)).not.toBeNull();
    expect(await verifier({ tenantId: "organizations" }).verifyToken(personal)).toBeNull();
    expect(await verifier({ tenantId: "consumers" }).verifyToken(await entraToken(TENANT))).toBeNull();
    expect(await verifier({ tenantId: "organizations", allowedTenantIds: [OTHER_DIRECTORY] }).verifyToken(await entraToken(TENANT))).toBeNull();
    expect(await verifier({ tenantId: "organizations", allowedTenantIds: [TENANT.toUpperCase()] }).verifyToken(await entraToken(TENANT))).not.toBeNull();
  });
});

describe("AzureJWTVerifier behind a RemoteAuthProvider", () => {
  let server: GuardedServer;

  beforeAll(async () => {
    server = await startGuardedServer((baseUrl) => {
      const azure = verifier();
      return new RemoteAuthProvider({ tokenVerifier: azure, authorizationServers: [azure.authorizationServer], baseUrl });
    });
  });
  afterAll(() => server?.close());

  it("tells clients to ask Entra for the prefixed scope, in the challenge and the metadata", async () => {
    const challenge = (await postRaw(server.url, { jsonrpc: "2.0", id: 1, method: "tools/list" })).headers.get("www-authenticate");
    expect(challenge).toContain(`scope="${APP_URI}/mcp:read"`);
    const metadata = (await (await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ authorization_servers: [`${entra.origin}/${TENANT}/v2.0`], scopes_supported: [`${APP_URI}/mcp:read`] });
  });

  it("lets a tool that checks a short scope name through with an Entra token", async () => {
    const call = async (token: string) => {
      const headers = { authorization: `Bearer ${token}` };
      const session = await openSession(server.url, headers);
      const response = await postRaw(server.url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "write_note", arguments: { text: "hi" } } }, { ...headers, "mcp-session-id": session, accept: "application/json" });
      return { status: response.status, challenge: response.headers.get("www-authenticate"), body: (await response.json()) as { result?: { content: Array<{ text: string }> }; error?: string } };
    };
    expect((await call(await entraToken(TENANT, { scp: "mcp:read mcp:write" }))).body.result?.content[0]!.text).toBe("saved: hi");
    const refused = await call(await entraToken(TENANT));
    expect(refused).toMatchObject({ status: 403, body: { error: "insufficient_scope" } });
    // The step-up challenge names the tool's scope as Entra knows it, so the client asks Entra for that.
    expect(refused.challenge).toContain(`scope="${APP_URI}/mcp:read ${APP_URI}/mcp:write"`);
    expect((await postRaw(server.url, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { authorization: `Bearer ${await entraToken(OTHER_DIRECTORY)}` })).status).toBe(401);
  });
});
