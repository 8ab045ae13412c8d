/**
 * The proxy's own refresh tokens rotate as LocalOAuthProvider's do (they are the same model): a
 * concurrent retry gets the same answer instead of logging the user out (the reference's #4264,
 * #4901), and a used token presented after the grace window ends the grant, upstream too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorize, exchangeCode, registerClient, type RegisteredClient, type TokenResponse } from "../../helpers/oauth-flow.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { startProxiedServer, type ProxiedServer } from "./harness.js";

let server: ProxiedServer;
let client: RegisteredClient;

beforeAll(async () => {
  server = await startProxiedServer({ refreshTokenGraceSeconds: 1 });
  client = await registerClient(server.baseUrl);
});
afterAll(async () => server?.close());

async function refresh(token: string): Promise<{ status: number; body: TokenResponse & { error?: string } }> {
  const response = await fetch(`${server.baseUrl}/token`, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: client.client_id }) });
  return { status: response.status, body: (await response.json()) as TokenResponse & { error?: string } };
}

describe("the proxy's refresh tokens", () => {
  it("answer concurrent refreshes of one token with one set of tokens", async () => {
    const tokens = await exchangeCode(server.baseUrl, client, await authorize(server.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
    const answers = await Promise.all([refresh(tokens.refresh_token!), refresh(tokens.refresh_token!), refresh(tokens.refresh_token!)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.body.access_token)).size).toBe(1);
  });

  it("end the grant, and its upstream tokens, when a used one comes back after the grace window", async () => {
    const tokens = await exchangeCode(server.baseUrl, client, await authorize(server.baseUrl, client, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
    const rotated = await refresh(tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const revocationsBefore = server.idp.revocations.length;
    const replay = await refresh(tokens.refresh_token!);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("invalid_grant");
    expect((await refresh(rotated.body.refresh_token!)).status).toBe(401);
    expect(server.idp.revocations.length).toBeGreaterThan(revocationsBefore);
  });
});
