/**
 * The authorization-server rows: LocalOAuthProvider inside the MCP server, on each store. Token
 * rows load `POST /token` (each request redeems its own code, or uses its own refresh token);
 * tools/call rows load the echo call with one access token from the provider, as an MCP client
 * reuses the token it was given. What a round of one row needs is prepared here: the store, a
 * registered client, a signed-in browser, and the pool of codes or refresh tokens.
 */
import { randomBytes } from "node:crypto";
import { TokenSequence } from "./auth.js";
import type { LoadOptions } from "./load.js";
import { Browser, codePool, exchangeCode, refresh, refreshPool, registerClient, tokenRequests, type BenchClient, type PooledCode } from "./oauth.js";
import { openStore, type BenchStore, type StoreKind } from "./stores.js";

export interface AsKind {
  store: StoreKind;
  /** "code": authorization_code grants; "refresh": refresh_token grants; "tools": tools/call with the provider's token. */
  load: "code" | "refresh" | "tools";
}

export const AS_KINDS: Record<string, AsKind> = {
  "as-code-memory": { store: "memory", load: "code" },
  "as-code-file": { store: "file", load: "code" },
  "as-code-redis": { store: "redis", load: "code" },
  "as-refresh-memory": { store: "memory", load: "refresh" },
  "as-refresh-file": { store: "file", load: "refresh" },
  "as-refresh-redis": { store: "redis", load: "refresh" },
  "fastmcp-local-oauth-memory": { store: "memory", load: "tools" },
  "fastmcp-local-oauth-redis": { store: "redis", load: "tools" },
};

/** Whether a row loads /token (its window is a number of requests, one pool item each). */
export function isTokenRow(kind: string): boolean {
  const as = AS_KINDS[kind];
  return as !== undefined && as.load !== "tools";
}

/** Pooled items spent outside the load: the three sample exchanges before the warm-up and the three after. */
export const SAMPLE_ITEMS = 6;
/** Concurrent requests while pools are filled (not measured). */
const POOL_CONCURRENCY = 20;

/** The one user of the servers (BENCH_USERNAME / BENCH_PASSWORD). */
const USERNAME = "bench-user";
const PASSWORD = randomBytes(12).toString("base64url");

/** The environment of an authorization-server row's process: its store and its user. */
export function asServerEnvironment(store: BenchStore): Record<string, string> {
  return { ...store.env, BENCH_USERNAME: USERNAME, BENCH_PASSWORD: PASSWORD };
}

export async function openAsStore(kind: string): Promise<BenchStore> {
  return openStore(AS_KINDS[kind]!.store);
}

/** A round of one row, ready to load: a registered client and what the load sends. */
export interface AsRound {
  client: BenchClient;
  /** For the load: the /token template and its pool, or the bearer token of the tools/call rows. */
  load: Pick<LoadOptions, "template" | "pool" | "bearer" | "store">;
  /** Three calls with fetch, each checked (before the warm-up and after the window). */
  sample(): Promise<void>;
}

/**
 * Registers a client and signs in (the real pages); then, for a token row, pools `items` codes
 * (each from its own /authorize with its own PKCE verifier) or as many refresh tokens (each from
 * the exchange of its own code, so each is a grant's current refresh token); for a tools/call row,
 * one access token.
 */
export async function prepareAsRound(kind: string, baseUrl: string, store: BenchStore, items: number): Promise<AsRound> {
  const as = AS_KINDS[kind]!;
  const client = await registerClient(baseUrl);
  const browser = new Browser(client, USERNAME, PASSWORD);
  const storeLoad = store.kind === "redis" ? { store: { pid: store.pid, commands: () => store.commands() } } : {};
  if (as.load === "tools") {
    const tokens = await exchangeCode(client, await browser.code());
    return { client, load: { bearer: tokens.access_token, ...storeLoad }, sample: async () => {} };
  }
  const codes = await codePool(browser, items + SAMPLE_ITEMS, POOL_CONCURRENCY);
  if (as.load === "code") {
    const samples = codes.splice(0, SAMPLE_ITEMS);
    const pool = new TokenSequence<PooledCode>(codes);
    return { client, load: { template: tokenRequests(client, pool), pool, ...storeLoad }, sample: sampler(samples, (code) => exchangeCode(client, code)) };
  }
  const refreshTokens = await refreshPool(client, codes, POOL_CONCURRENCY);
  const samples = refreshTokens.splice(0, SAMPLE_ITEMS);
  const pool = new TokenSequence<string>(refreshTokens);
  return { client, load: { template: tokenRequests(client, pool), pool, ...storeLoad }, sample: sampler(samples, (token) => refresh(client, token)) };
}

/** Three sample grants per call, from items set aside for them (each checked by `use`). */
function sampler<T>(items: T[], use: (item: T) => Promise<unknown>): () => Promise<void> {
  return async () => {
    for (const item of items.splice(0, 3)) await use(item);
  };
}
