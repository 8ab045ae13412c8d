/**
 * Two OAuthProxy processes behind one public URL, sharing a RedisStore: a sign-in started on one
 * completes on the other (its callback and the code exchange), and an expired upstream token that
 * both meet at once is refreshed upstream exactly once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "fastmcp-ts/client";
import { startIdentityProvider, type IdentityProvider } from "../../helpers/idp.js";
import { authorize, exchangeCode, registerClient, type RegisteredClient } from "../../helpers/oauth-flow.js";
import { pkcePair } from "../../helpers/pkce.js";
import { freePort } from "../../helpers/ports.js";
import { deleteRedisKeys, REDIS_URL, redisAvailable } from "../../helpers/redis.js";
import { startServerProcess, type ServerProcess } from "../../helpers/todo-server.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { PROXY_CLIENT } from "./harness.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/proxy-server.ts", import.meta.url));

describe.skipIf(!redisAvailable)("two OAuthProxy processes on one RedisStore", () => {
  const prefix = `fastmcp-ts-test:proxy:${randomUUID()}:`;
  let idp: IdentityProvider;
  let first: ServerProcess;
  let second: ServerProcess;
  let publicUrl: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    idp = await startIdentityProvider({
      scopes: ["mcp:read", "mcp:write"],
      refreshAndRevocation: true,
      accessTokenTtl: 2,
      clients: [{ client_id: PROXY_CLIENT.id, client_secret: PROXY_CLIENT.secret, redirect_uris: [`${publicUrl}/auth/callback`], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] }],
    });
    idp.allowResource(`${publicUrl}/mcp`);
    const shared = {
      BASE_URL: publicUrl,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
      UPSTREAM_ISSUER: idp.issuer,
      UPSTREAM_JWKS_URI: idp.jwksUri,
      UPSTREAM_CLIENT_ID: PROXY_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: PROXY_CLIENT.secret,
    };
    const start = (instance: string, fixedPort?: number) => startServerProcess(() => ["--import", "tsx", FIXTURE], {
      env: Object.fromEntries(Object.entries({ ...shared, INSTANCE: instance }).map(([key, value]) => [`FIXTURE_${key}`, value])),
      ...(fixedPort !== undefined ? { port: fixedPort } : {}),
    }, (chosen) => ({ FIXTURE_PORT: String(chosen) }));
    first = await start("first", port);
    second = await start("second");
    client = await registerClient(publicUrl);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await idp?.close();
    if (redisAvailable) expect(await deleteRedisKeys(prefix)).toBe(0);
  });

  async function whoami(baseUrl: string, token: string): Promise<{ instance: string; subject: string }> {
    await using mcp = await new Client(`${baseUrl}/mcp`, { auth: token }).connect();
    const [block] = (await mcp.callTool("whoami")).content;
    if (block?.type !== "text") throw new Error("no text");
    return JSON.parse(block.text) as { instance: string; subject: string };
  }

  it("completes on the second instance a sign-in started on the first (callback and code exchange there)", async () => {
    const agent = new UserAgent({ login: "alice" });
    const { verifier, challenge } = pkcePair();
    const request = new URL(`${first.baseUrl}/authorize`);
    request.search = new URLSearchParams({ response_type: "code", client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, code_challenge: challenge, code_challenge_method: "S256", state: "s1", scope: "mcp:read" }).toString();
    // Consent on the first instance, sign-in upstream, and the upstream's redirect back, stopped there...
    const upstream = await agent.authorize(request, `${publicUrl}/auth/callback`);
    // ...delivered to the second instance, in the same browser.
    const answer = await agent.visit(`${second.baseUrl}/auth/callback?${upstream.params}`);
    expect(answer.status).toBe(302);
    const redirect = new URL(answer.headers.get("location")!);
    expect(redirect.searchParams.get("state")).toBe("s1");
    const tokens = await exchangeCode(second.baseUrl, client, { code: redirect.searchParams.get("code")!, verifier, params: redirect.searchParams, prompts: [] });
    expect(await whoami(second.baseUrl, tokens.access_token)).toMatchObject({ instance: "second", subject: "alice" });
    expect(await whoami(first.baseUrl, tokens.access_token)).toMatchObject({ instance: "first", subject: "alice" });
  });

  it("refreshes an expired upstream token once, although both instances meet it at the same time", async () => {
    const tokens = await exchangeCode(publicUrl, client, await authorize(publicUrl, client, new UserAgent({ login: "bob" }), { scope: "mcp:read" }));
    expect((await whoami(first.baseUrl, tokens.access_token)).subject).toBe("bob");
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const before = idp.grants.filter((grant) => grant === "refresh_token").length;
    const answers = await Promise.all([first, second, first, second].map((instance) => whoami(instance.baseUrl, tokens.access_token)));
    expect(answers.map((answer) => answer.subject)).toEqual(["bob", "bob", "bob", "bob"]);
    expect(idp.grants.filter((grant) => grant === "refresh_token").length).toBe(before + 1);
  });
});
