/**
 * The authorization-server rows: LocalOAuthProvider, or an OIDCProxy in front of a real OpenID
 * provider, inside the MCP server, on each store. Token rows load `POST /token` (each request
 * redeems its own code, or uses its own refresh token); tools/call rows load the echo call with
 * one access token from the provider, as an MCP client reuses the token it was given. What a round
 * of one row needs is prepared here: the store (and the proxy's identity provider), a registered
 * client, a signed-in browser, and the pool of codes or refresh tokens.
 */
import { randomBytes } from "node:crypto";
import { TokenSequence } from "./auth.js";
import type { LoadOptions } from "./load.js";
import { Browser, codePool, exchangeCode, refresh, refreshPool, registerClient, tokenRequests, type BenchClient, type PooledCode } from "./oauth.js";
import { openStore, type BenchStore, type StoreKind } from "./stores.js";
import { ProxyBrowser, startUpstream } from "./upstream.js";

export interface AsKind {
  /** "local": LocalOAuthProvider and its own sign-in pages; "proxy": OIDCProxy in front of an identity provider. */
  provider: "local" | "proxy";
  store: StoreKind;
  /** "code": authorization_code grants; "refresh": refresh_token grants; "tools": tools/call with the provider's token. */
  load: "code" | "refresh" | "tools";
}

export const AS_KINDS: Record<string, AsKind> = {
  "as-code-memory": { provider: "local", store: "memory", load: "code" },
  "as-code-file": { provider: "local", store: "file", load: "code" },
  "as-code-redis": { provider: "local", store: "redis", load: "code" },
  "as-refresh-memory": { provider: "local", store: "memory", load: "refresh" },
  "as-refresh-file": { provider: "local", store: "file", load: "refresh" },
  "as-refresh-redis": { provider: "local", store: "redis", load: "refresh" },
  "fastmcp-local-oauth-memory": { provider: "local", store: "memory", load: "tools" },
  "fastmcp-local-oauth-redis": { provider: "local", store: "redis", load: "tools" },
  "proxy-code-memory": { provider: "proxy", store: "memory", load: "code" },
  "proxy-code-file": { provider: "proxy", store: "file", load: "code" },
  "proxy-code-redis": { provider: "proxy", store: "redis", load: "code" },
  "proxy-refresh-memory": { provider: "proxy", store: "memory", load: "refresh" },
  "proxy-refresh-file": { provider: "proxy", store: "file", load: "refresh" },
  "proxy-refresh-redis": { provider: "proxy", store: "redis", load: "refresh" },
  "fastmcp-oauth-proxy-memory": { provider: "proxy", store: "memory", load: "tools" },
  "fastmcp-oauth-proxy-redis": { provider: "proxy", store: "redis", load: "tools" },
};

/** The rows of one provider. */
export function asKindsOf(provider: AsKind["provider"]): string[] {
  return Object.keys(AS_KINDS).filter((kind) => AS_KINDS[kind]!.provider === provider);
}

/** Whether a row loads /token (its window is a number of requests, one pool item each). */
export function isTokenRow(kind: string): boolean {
  const as = AS_KINDS[kind];
  return as !== undefined && as.load !== "tools";
}

/** Pooled items spent outside the load: the three sample exchanges before the warm-up and the three after. */
export const SAMPLE_ITEMS = 6;
/** Concurrent requests while pools are filled (not measured). */
const POOL_CONCURRENCY = 20;
/**
 * Concurrent sign-ins through a proxy: each holds a cookie of about 830 bytes until its callback,
 * and on 127.0.0.1 the browser sends the proxy's cookies to the identity provider too (cookies
 * ignore ports), whose 16 KiB header limit 20 of them would pass.
 */
const PROXY_SIGN_IN_CONCURRENCY = 8;

/** The scopes clients may ask for (the proxy's identity provider issues them too). */
const SCOPES = ["mcp:read", "mcp:write"];

/** The one user of the servers (BENCH_USERNAME / BENCH_PASSWORD). */
const USERNAME = "bench-user";
const PASSWORD = randomBytes(12).toString("base64url");

/** What a round of one row runs against: its store, a proxy's identity provider, and the server process's environment. */
export interface AsBackends {
  store: BenchStore;
  /** The server's environment: its store, and its user (LocalOAuthProvider) or its identity provider and port (proxy). */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function openAsBackends(kind: string): Promise<AsBackends> {
  const as = AS_KINDS[kind]!;
  const store = await openStore(as.store);
  if (as.provider === "local") return { store, env: { ...store.env, BENCH_USERNAME: USERNAME, BENCH_PASSWORD: PASSWORD }, dispose: () => store.dispose() };
  const upstream = await startUpstream(SCOPES);
  return {
    store,
    env: { ...store.env, ...upstream.env },
    dispose: async () => {
      await upstream.close();
      await store.dispose();
    },
  };
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
  const browser = as.provider === "proxy" ? new ProxyBrowser(client) : new Browser(client, USERNAME, PASSWORD);
  const storeLoad = store.kind === "redis" ? { store: { pid: store.pid, commands: () => store.commands() } } : {};
  if (as.load === "tools") {
    const tokens = await exchangeCode(client, await browser.code());
    return { client, load: { bearer: tokens.access_token, ...storeLoad }, sample: async () => {} };
  }
  const codes = await codePool(browser, items + SAMPLE_ITEMS, as.provider === "proxy" ? PROXY_SIGN_IN_CONCURRENCY : POOL_CONCURRENCY);
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
