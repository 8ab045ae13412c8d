/**
 * LocalOAuthProvider's state outliving a process and shared between processes: each server here
 * is a separate Node process (test/auth/server/fixtures/local-server.ts under tsx), so nothing is
 * shared but the store.
 *
 * (a) FileStore: a server killed and started again on the same directory and port still knows
 *     the client, the grant, the login session and the signing key.
 * (b) RedisStore: two instances behind one public URL (as behind a load balancer) share clients,
 *     codes, refresh tokens and revocations.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deleteRedisKeys, REDIS_URL, redisAvailable } from "../../helpers/redis.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "fastmcp-ts/client";
import { authorize, eventually, exchangeCode, mcpStatus, refresh, registerClient, revoke, TokenError, type RegisteredClient } from "../../helpers/oauth-flow.js";
import { startServerProcess, type ServerProcess } from "../../helpers/todo-server.js";
import { UserAgent } from "../../helpers/user-agent.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/local-server.ts", import.meta.url));

/** Starts one fixture instance; `settings` are its FIXTURE_* variables (without the prefix). */
function startInstance(settings: Record<string, string>, port?: number): Promise<ServerProcess> {
  const env = Object.fromEntries(Object.entries(settings).map(([key, value]) => [`FIXTURE_${key}`, value]));
  return startServerProcess(() => ["--import", "tsx", FIXTURE], { env, ...(port !== undefined ? { port } : {}) }, (chosen) => ({ FIXTURE_PORT: String(chosen) }));
}

/** What the `whoami` tool of the instance at `url` says for `token`. */
async function whoami(url: string, token: string): Promise<{ instance: string; subject: string; client: string; scopes: string[] }> {
  await using client = await new Client(url, { auth: token }).connect();
  const result = await client.callTool("whoami");
  const [block] = result.content;
  if (block?.type !== "text") throw new Error(`unexpected result ${JSON.stringify(result.content)}`);
  return JSON.parse(block.text) as { instance: string; subject: string; client: string; scopes: string[] };
}

async function jwks(baseUrl: string): Promise<unknown> {
  return (await fetch(`${baseUrl}/.well-known/jwks.json`)).json();
}

async function refreshError(baseUrl: string, clientId: string, refreshToken: string): Promise<string | undefined> {
  const error = await refresh(baseUrl, clientId, refreshToken).then(() => undefined, (caught: unknown) => caught);
  return error instanceof TokenError ? error.error : error === undefined ? "(refresh succeeded)" : String(error);
}

describe("LocalOAuthProvider with a FileStore, restarted as a new process", () => {
  let directory: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "fastmcp-restart-"));
  });

  afterAll(async () => {
    await server?.stop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("keeps the registered client, the grant and its refresh token, the login session and the signing key", async () => {
    const settings = { STORE: "file", STORE_DIR: directory, INSTANCE: "first" };
    server = await startInstance(settings);
    const { baseUrl, url } = server;
    const port = Number(new URL(baseUrl).port);
    const agent = new UserAgent({ login: "alice", password: "wonderland" });
    const client = await registerClient(baseUrl);
    const authorization = await authorize(baseUrl, client, agent, { scope: "mcp:read mcp:write" });
    expect(authorization.prompts).toEqual(["login", "consent"]);
    const tokens = await exchangeCode(baseUrl, client, authorization);
    expect(await whoami(url, tokens.access_token)).toMatchObject({ instance: "first", subject: "alice", client: client.client_id });
    const keysBefore = await jwks(baseUrl);

    // No shutdown: whatever was answered is on disk already.
    await server.stop("SIGKILL");
    expect((await fetch(`${baseUrl}/.well-known/jwks.json`).then(() => "answered", () => "down"))).toBe("down");

    server = await startInstance({ ...settings, INSTANCE: "second" }, port);
    expect(server.baseUrl).toBe(baseUrl);
    // The same signing key: the access token issued before the restart is still good.
    expect(await jwks(baseUrl)).toEqual(keysBefore);
    expect(await whoami(url, tokens.access_token)).toMatchObject({ instance: "second", subject: "alice", scopes: ["mcp:read", "mcp:write"] });

    // The refresh token (and the client it authenticates) survived.
    const refreshed = await refresh(baseUrl, client.client_id, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(await whoami(url, refreshed.access_token)).toMatchObject({ instance: "second", subject: "alice" });

    // The browser's login session and alice's approval survived too: no page at all this time.
    const again = await authorize(baseUrl, client, agent, { scope: "mcp:read" });
    expect(again.prompts).toEqual([]);
    expect(await whoami(url, (await exchangeCode(baseUrl, client, again)).access_token)).toMatchObject({ scopes: ["mcp:read"] });
  });
});


describe.skipIf(!redisAvailable)("two LocalOAuthProvider processes sharing one RedisStore", () => {
  /** Every key this run writes starts with this; afterAll deletes them. */
  const prefix = `fastmcp-ts-test:multi-process:${randomUUID()}:`;
  const revocationCheckSeconds = 1;
  let first: ServerProcess;
  let second: ServerProcess;
  /** Each instance's own MCP endpoint (its port); tokens name the shared public URL. */
  let firstMcp: string;
  let secondMcp: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    const shared = { STORE: "redis", REDIS_URL, REDIS_PREFIX: prefix, ENCRYPTION_KEY: randomBytes(32).toString("base64url"), REVOCATION_CHECK_SECONDS: String(revocationCheckSeconds) };
    first = await startInstance({ ...shared, INSTANCE: "first" });
    // The second instance serves the same public URL (the first one's), as behind a load balancer.
    second = await startInstance({ ...shared, INSTANCE: "second", BASE_URL: first.baseUrl });
    firstMcp = first.url;
    secondMcp = second.url;
    expect(secondMcp).not.toBe(firstMcp);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    expect(await deleteRedisKeys(prefix)).toBe(0);
  });

  it("authorize on one, exchange the code on the other, refresh on the first, revoke on the second: the grant ends on both", async () => {
    const secondBase = new URL(secondMcp).origin;
    // Registered through the second instance, used at the first.
    client = await registerClient(secondBase);
    const authorization = await authorize(first.baseUrl, client, new UserAgent({ login: "alice", password: "wonderland" }), { scope: "mcp:read" });
    expect(authorization.prompts).toEqual(["login", "consent"]);
    expect(authorization.params.get("iss")).toBe(first.baseUrl);

    // The code, issued by the first instance, is redeemed at the second.
    const tokens = await exchangeCode(secondBase, client, authorization);
    expect(await whoami(firstMcp, tokens.access_token)).toMatchObject({ instance: "first", subject: "alice", client: client.client_id });
    expect(await whoami(secondMcp, tokens.access_token)).toMatchObject({ instance: "second", subject: "alice" });
    // Both publish the one signing key from the store.
    expect(await jwks(secondBase)).toEqual(await jwks(first.baseUrl));

    // A refresh token issued by the second instance, rotated at the first.
    const refreshed = await refresh(first.baseUrl, client.client_id, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // Both instances see the new token's grant as live (and the first remembers that for revocationCheckSeconds).
    expect(await whoami(firstMcp, refreshed.access_token)).toMatchObject({ instance: "first" });
    expect(await whoami(secondMcp, refreshed.access_token)).toMatchObject({ instance: "second" });

    // Revoked at the second instance: refused there at once.
    expect(await revoke(secondBase, client.client_id, refreshed.access_token)).toBe(200);
    expect((await mcpStatus(secondMcp, refreshed.access_token)).status).toBe(401);
    // The first instance trusted its last check for up to revocationCheckSeconds; then it reads the revocation.
    await eventually(async () => (await mcpStatus(firstMcp, refreshed.access_token)).status === 401, (revocationCheckSeconds + 10) * 1000, "the first instance refuses the revoked token");

    // The whole grant is gone: the earlier access token and both refresh tokens, everywhere.
    for (const mcp of [firstMcp, secondMcp]) {
      const refused = await mcpStatus(mcp, tokens.access_token);
      expect(refused.status).toBe(401);
      expect(refused.challenge).toContain('error="invalid_token"');
    }
    for (const base of [first.baseUrl, secondBase]) {
      expect(await refreshError(base, client.client_id, refreshed.refresh_token!)).toBe("invalid_grant");
      expect(await refreshError(base, client.client_id, tokens.refresh_token!)).toBe("invalid_grant");
    }
  });

  it("an instance whose encryption key differs from the one the store was sealed with refuses to start", async () => {
    const error = await startInstance({ STORE: "redis", REDIS_URL, REDIS_PREFIX: prefix, ENCRYPTION_KEY: randomBytes(32).toString("base64url"), INSTANCE: "third" }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(String(error)).toContain("cannot be decrypted with this encryptionKey");
  });
});
