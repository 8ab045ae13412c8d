/**
 * kill -9 during a burst of refreshes, then retries: every refresh token in flight must still
 * work. A client whose refresh got no answer retries with the same token and must get either the
 * successor that was committed before the crash or a fresh rotation, never invalid_grant (which
 * every OAuth client treats as "log in again"), and never two different live successors.
 *
 * FileStore: the one instance is killed and restarted on the same directory and port.
 * RedisStore: two instances share the store; the one taking the burst is killed and the clients
 * retry on the other at once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { authorize, exchangeCode, registerClient, tokenRequest, type RegisteredClient, type TokenResponse } from "../helpers/oauth-flow.js";
import { deleteRedisKeys, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { startServerProcess, type ServerProcess } from "../helpers/todo-server.js";
import { UserAgent } from "../helpers/user-agent.js";

const FIXTURE = fileURLToPath(new URL("../auth/server/fixtures/local-server.ts", import.meta.url));
const IN_FLIGHT = 16;
const ROUNDS = 3;

function startInstance(settings: Record<string, string>, port?: number): Promise<ServerProcess> {
  const env = Object.fromEntries(Object.entries(settings).map(([key, value]) => [`FIXTURE_${key}`, value]));
  return startServerProcess(() => ["--import", "tsx", FIXTURE], { env, ...(port !== undefined ? { port } : {}) }, (chosen) => ({ FIXTURE_PORT: String(chosen) }));
}

/** One refresh: the new tokens, or the error it got (status and OAuth error), or "no answer". */
type Outcome = { tokens: TokenResponse } | { status: number; error: string } | { noAnswer: string };

async function refreshOnce(baseUrl: string, client: RegisteredClient, refreshToken: string): Promise<Outcome> {
  let response: Response;
  try {
    response = await tokenRequest(baseUrl, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_id });
  } catch (error) {
    return { noAnswer: (error as Error).message };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    return { noAnswer: (error as Error).message };
  }
  if (response.status === 200) return { tokens: JSON.parse(text) as TokenResponse };
  return { status: response.status, error: (JSON.parse(text) as { error?: string }).error ?? text };
}

/** `count` grants of one client, each with its refresh token (one login, consent remembered after the first). */
async function refreshTokens(baseUrl: string, client: RegisteredClient, count: number): Promise<string[]> {
  const agent = new UserAgent({ login: "alice", password: "wonderland" });
  const tokens: string[] = [];
  for (let index = 0; index < count; index++) {
    const issued = await exchangeCode(baseUrl, client, await authorize(baseUrl, client, agent, { scope: "mcp:read" }));
    tokens.push(issued.refresh_token!);
  }
  return tokens;
}

/**
 * Fires one refresh per token at `target` and kills it with SIGKILL as soon as the first answer
 * arrives, so the others are caught at every stage of their rotation. Returns what each got.
 */
async function burstAndKill(target: ServerProcess, client: RegisteredClient, tokens: string[]): Promise<Outcome[]> {
  let killed: Promise<void> | undefined;
  const kill = () => (killed ??= target.stop("SIGKILL"));
  const outcomes = await Promise.all(tokens.map(async (token) => {
    const outcome = await refreshOnce(target.baseUrl, client, token);
    void kill();
    return outcome;
  }));
  await kill();
  return outcomes;
}

interface RoundResult {
  answered: number;
  lost: string[];
}

/**
 * After the crash, on `survivor`: a token whose refresh was answered is dropped for its successor;
 * one that got no answer is retried (twice at once: both retries must get the same successor).
 * Every resulting refresh token must then refresh once more.
 */
async function checkAfterCrash(survivor: string, client: RegisteredClient, tokens: string[], outcomes: Outcome[]): Promise<RoundResult> {
  const lost: string[] = [];
  let answered = 0;
  const next = await Promise.all(tokens.map(async (token, index) => {
    const outcome = outcomes[index]!;
    if ("tokens" in outcome) {
      answered++;
      return outcome.tokens.refresh_token!;
    }
    if ("status" in outcome) {
      lost.push(`token ${index}: refused during the burst (${outcome.status} ${outcome.error})`);
      return undefined;
    }
    const [first, second] = await Promise.all([refreshOnce(survivor, client, token), refreshOnce(survivor, client, token)]);
    if (!("tokens" in first) || !("tokens" in second)) {
      lost.push(`token ${index}: its retry after the crash was refused (${JSON.stringify(first)}, ${JSON.stringify(second)})`);
      return undefined;
    }
    if (first.tokens.refresh_token !== second.tokens.refresh_token) lost.push(`token ${index}: two retries got two different successors`);
    return first.tokens.refresh_token!;
  }));
  await Promise.all(next.map(async (token, index) => {
    if (token === undefined) return;
    const outcome = await refreshOnce(survivor, client, token);
    if (!("tokens" in outcome)) lost.push(`token ${index}: its successor does not refresh (${JSON.stringify(outcome)})`);
  }));
  return { answered, lost };
}

describe("kill -9 during a burst of refreshes (FileStore, restarted on the same directory)", () => {
  let directory: string | undefined;
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop("SIGKILL");
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it(`loses no refresh token in flight, over ${ROUNDS} rounds of ${IN_FLIGHT}`, async () => {
    directory = await mkdtemp(join(tmpdir(), "fastmcp-crash-file-"));
    const settings = { STORE: "file", STORE_DIR: directory, INSTANCE: "file" };
    server = await startInstance(settings);
    const port = Number(new URL(server.baseUrl).port);
    const client = await registerClient(server.baseUrl);
    const results: RoundResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tokens = await refreshTokens(server.baseUrl, client, IN_FLIGHT);
      const outcomes = await burstAndKill(server, client, tokens);
      server = await startInstance(settings, port);
      results.push(await checkAfterCrash(server.baseUrl, client, tokens, outcomes));
    }
    expect(results.flatMap((result) => result.lost)).toEqual([]);
    // The kill landed mid-burst: some refreshes were answered, some were not.
    expect(results.some((result) => result.answered < IN_FLIGHT)).toBe(true);
  }, 180_000);
});

describe.skipIf(!redisAvailable)("kill -9 during a burst of refreshes (RedisStore, two instances, one killed)", () => {
  const prefix = `fastmcp-ts-test:crash:${randomUUID()}:`;
  const instances: ServerProcess[] = [];

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop("SIGKILL")));
    await deleteRedisKeys(prefix);
  });

  it(`loses no refresh token in flight when the instance taking the burst dies, over ${ROUNDS} rounds of ${IN_FLIGHT}`, async () => {
    const shared = { STORE: "redis", REDIS_URL, REDIS_PREFIX: prefix, ENCRYPTION_KEY: randomBytes(32).toString("base64url") };
    const survivor = await startInstance({ ...shared, INSTANCE: "survivor" });
    instances.push(survivor);
    const publicUrl = { BASE_URL: survivor.baseUrl };
    const client = await registerClient(survivor.baseUrl);
    const results: RoundResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const doomed = await startInstance({ ...shared, ...publicUrl, INSTANCE: `doomed-${round}` });
      instances.push(doomed);
      const tokens = await refreshTokens(survivor.baseUrl, client, IN_FLIGHT);
      const outcomes = await burstAndKill(doomed, client, tokens);
      results.push(await checkAfterCrash(survivor.baseUrl, client, tokens, outcomes));
    }
    expect(results.flatMap((result) => result.lost)).toEqual([]);
    expect(results.some((result) => result.answered < IN_FLIGHT)).toBe(true);
  }, 180_000);
});
