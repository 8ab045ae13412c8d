/**
 * The servers under benchmark, one per child process: `node servers.mjs <kind>`.
 *
 * bench/http.ts transpiles this file to plain JavaScript and runs it with `node` (no tsx loader
 * in the measured process); FastMCP is loaded from the built package (dist/) whose URL the
 * harness passes in FASTMCP_ENTRY. Every server binds 127.0.0.1 on a free port, exposes one
 * `echo` tool ({ text } -> text) at POST /mcp and prints `{"port":N}` on stdout once listening.
 *
 * With BENCH_GC=1, FastMCP servers also answer POST /__gc: a full GC (node --expose-gc), then
 * process.memoryUsage() and the size of V8's new space. The route is registered only then, so
 * throughput runs serve exactly the app a user would.
 *
 * The fastmcp-jwt-* servers are fastmcp-stateless with a JWTVerifier configured from BENCH_JWT_*
 * (a fixed public key: no key is ever fetched). With BENCH_VERIFY=1 they also answer POST /__verify,
 * which times RS256 verifications of a posted token inside this process (see verificationCost).
 *
 * The authorization-server servers (as-*, fastmcp-local-oauth-*) are fastmcp-stateless guarded
 * by a LocalOAuthProvider (proxy-*, fastmcp-oauth-proxy-*: an OIDCProxy, see runOIDCProxy) on the store BENCH_STORE names (memory; file in BENCH_STORE_DIR; redis at
 * BENCH_REDIS_URL under the key prefix BENCH_REDIS_PREFIX, with BENCH_ENCRYPTION_KEY) and one user
 * (BENCH_USERNAME, BENCH_PASSWORD). They have no bench-only route: the harness gets its codes and
 * tokens through the real /register, /authorize, /login, /consent and /token (bench/lib/oauth.ts).
 */
import { createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server as NodeHttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import { createAdaptorServer } from "@hono/node-server";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { Hono, type Context as HonoContext } from "hono";
import * as z from "zod";

type FastMCPModule = typeof import("../src/index.js");
type FastMCPAuthModule = typeof import("../src/auth/index.js");
type FastMCPStorageModule = typeof import("../src/storage/index.js");
type JWTVerifier = InstanceType<FastMCPAuthModule["JWTVerifier"]>;
type LocalOAuthProvider = InstanceType<FastMCPAuthModule["LocalOAuthProvider"]>;
type OIDCProxy = InstanceType<FastMCPAuthModule["OIDCProxy"]>;
type KeyValueStore = import("../src/storage/index.js").KeyValueStore;

const HOST = "127.0.0.1";
const SERVERS: Record<string, () => Promise<NodeHttpServer | number>> = {
  raw: async () => createServer(rawEcho),
  "sdk-stateless": async () => createServer(toNodeHandler(createMcpHandler(sdkEchoServer))),
  "sdk-per-request": async () => createAdaptorServer({ fetch: sdkPerRequestApp().fetch }) as NodeHttpServer,
  "fastmcp-stateless": () => runFastMCP(true),
  "fastmcp-stateful": () => runFastMCP(false),
  // The same server for all three: they differ in the tokens the harness sends and in BENCH_JWT_ALGORITHM.
  "fastmcp-jwt-rs256": async () => runFastMCP(true, await jwtVerifier()),
  "fastmcp-jwt-es256": async () => runFastMCP(true, await jwtVerifier()),
  "fastmcp-jwt-rs256-first-seen": async () => runFastMCP(true, await jwtVerifier()),
  // One server for all of these: they differ in BENCH_STORE and in what the harness sends (bench/lib/as.ts).
  "as-code-memory": () => runLocalOAuth(),
  "as-code-file": () => runLocalOAuth(),
  "as-code-redis": () => runLocalOAuth(),
  "as-refresh-memory": () => runLocalOAuth(),
  "as-refresh-file": () => runLocalOAuth(),
  "as-refresh-redis": () => runLocalOAuth(),
  "fastmcp-local-oauth-memory": () => runLocalOAuth(),
  "fastmcp-local-oauth-redis": () => runLocalOAuth(),
  "proxy-code-memory": () => runOIDCProxy(),
  "proxy-code-file": () => runOIDCProxy(),
  "proxy-code-redis": () => runOIDCProxy(),
  "proxy-refresh-memory": () => runOIDCProxy(),
  "proxy-refresh-file": () => runOIDCProxy(),
  "proxy-refresh-redis": () => runOIDCProxy(),
  "fastmcp-oauth-proxy-memory": () => runOIDCProxy(),
  "fastmcp-oauth-proxy-redis": () => runOIDCProxy(),
};

/** The ceiling: node:http, parse the JSON-RPC request, answer the tool result. No MCP at all. */
function rawEcho(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; params: { arguments: { text: string } } };
    const body = JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: message.params.arguments.text }] } });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
}

/** The SDK's documented server: a factory building a fresh McpServer with the echo tool. */
function sdkEchoServer(): McpServer {
  const server = new McpServer({ name: "bench-sdk", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echoes its text", inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  return server;
}

/** The v1-era stateless idiom: a new McpServer and transport per request, behind Hono. */
function sdkPerRequestApp(): Hono {
  const app = new Hono();
  app.post("/mcp", async (c) => {
    const server = sdkEchoServer();
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  return app;
}

async function runFastMCP(stateless: boolean, auth?: JWTVerifier | LocalOAuthProvider | OIDCProxy, port = 0): Promise<number> {
  const { FastMCP } = (await import(requiredEnv("FASTMCP_ENTRY"))) as FastMCPModule;
  // null, not undefined: no FASTMCP_SERVER_AUTH from the environment can sneak into the unauthenticated rows.
  const mcp = new FastMCP({ name: "bench-fastmcp", statelessHttp: stateless, auth: auth ?? null });
  mcp.tool({
    name: "echo",
    description: "Echoes its text",
    parameters: z.object({ text: z.string() }),
    execute: ({ text }) => text,
  });
  if (process.env.BENCH_GC === "1") mcp.route("POST", "/__gc", (c) => c.json(collectGarbage()));
  if (process.env.BENCH_VERIFY === "1") mcp.route("POST", "/__verify", verificationCost);
  const running = await mcp.run({ transport: "http", host: HOST, port, handleSignals: false, banner: false });
  return running.port!;
}

/**
 * fastmcp-stateless guarded by a LocalOAuthProvider as an application configures one: a user
 * table, a required scope, registration open for the two scopes (no rate limit: the harness
 * registers one client per server), everything else at its defaults (RS256 access tokens,
 * revocationCheckSeconds 5, refresh rotation with its grace window, the default encryption key of
 * MemoryStore and FileStore). baseUrl must be known before listening, so the port is picked first.
 * BENCH_AS_SIGNING_ALGORITHM (ES256, EdDSA; set it in the harness's environment) changes the
 * access tokens' algorithm, to see what the RS256 signature costs a /token row.
 */
async function runLocalOAuth(): Promise<number> {
  const { LocalOAuthProvider } = (await import(new URL("./auth/index.js", requiredEnv("FASTMCP_ENTRY")).href)) as FastMCPAuthModule;
  const port = await freePort();
  const provider = new LocalOAuthProvider({
    baseUrl: `http://${HOST}:${port}`,
    store: await benchStore(),
    ...(process.env.BENCH_ENCRYPTION_KEY ? { encryptionKey: process.env.BENCH_ENCRYPTION_KEY } : {}),
    ...(process.env.BENCH_AS_SIGNING_ALGORITHM ? { signingAlgorithm: process.env.BENCH_AS_SIGNING_ALGORITHM as "RS256" | "ES256" | "EdDSA" } : {}),
    users: { [requiredEnv("BENCH_USERNAME")]: { password: requiredEnv("BENCH_PASSWORD"), name: "Bench User", claims: { email: "bench@bench.fastmcp.local" } } },
    requiredScopes: ["mcp:read"],
    clientRegistration: { validScopes: ["mcp:read", "mcp:write"], rateLimit: false },
  });
  return runFastMCP(true, provider, port);
}

/**
 * fastmcp-stateless guarded by an OIDCProxy as an application configures one: the identity
 * provider's discovery URL and the app registered there (BENCH_UPSTREAM_*), a required scope,
 * registration open for the two scopes (no rate limit), everything else at its defaults (the
 * default verifier of the provider's JWT access tokens for this server's MCP URL, its verdict
 * cached 60 s, consent remembered, RS256 tokens of its own). The harness picked the port
 * (BENCH_PORT): the provider knows the callback URL before the server starts.
 */
async function runOIDCProxy(): Promise<number> {
  const { OIDCProxy } = (await import(new URL("./auth/index.js", requiredEnv("FASTMCP_ENTRY")).href)) as FastMCPAuthModule;
  const port = Number(requiredEnv("BENCH_PORT"));
  const proxy = new OIDCProxy({
    configUrl: requiredEnv("BENCH_UPSTREAM_CONFIG_URL"),
    clientId: requiredEnv("BENCH_UPSTREAM_CLIENT_ID"),
    clientSecret: requiredEnv("BENCH_UPSTREAM_CLIENT_SECRET"),
    baseUrl: `http://${HOST}:${port}`,
    store: await benchStore(),
    ...(process.env.BENCH_ENCRYPTION_KEY ? { encryptionKey: process.env.BENCH_ENCRYPTION_KEY } : {}),
    requiredScopes: ["mcp:read"],
    validScopes: ["mcp:read", "mcp:write"],
    clientRegistration: { rateLimit: false },
  }, null);
  return runFastMCP(true, proxy, port);
}

/** The store BENCH_STORE names: MemoryStore and FileStore with their defaults, RedisStore under a key prefix of its own. */
async function benchStore(): Promise<KeyValueStore> {
  const { FileStore, MemoryStore, RedisStore } = (await import(new URL("./storage/index.js", requiredEnv("FASTMCP_ENTRY")).href)) as FastMCPStorageModule;
  const kind = requiredEnv("BENCH_STORE");
  if (kind === "memory") return new MemoryStore();
  if (kind === "file") return new FileStore({ directory: requiredEnv("BENCH_STORE_DIR") });
  if (kind === "redis") return new RedisStore({ url: requiredEnv("BENCH_REDIS_URL"), keyPrefix: requiredEnv("BENCH_REDIS_PREFIX") });
  throw new Error(`BENCH_STORE must be memory, file or redis, got ${JSON.stringify(kind)}`);
}

/** A free port on HOST (closed again at once; the server binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The verifier BENCH_JWT_* describe, with the default cache (10,000 tokens) unless
 * BENCH_JWT_CACHE_SIZE says otherwise (set it in the harness's environment to see what the
 * cache costs a first-seen row: `BENCH_JWT_CACHE_SIZE=0 npm run bench -- --only ...`).
 */
async function jwtVerifier(options: { cacheSize?: number } = {}): Promise<JWTVerifier> {
  const { JWTVerifier } = (await import(new URL("./auth/index.js", requiredEnv("FASTMCP_ENTRY")).href)) as FastMCPAuthModule;
  const cacheSize = process.env.BENCH_JWT_CACHE_SIZE;
  return new JWTVerifier({
    ...(cacheSize ? { cacheSize: Number(cacheSize) } : {}),
    publicKey: requiredEnv("BENCH_JWT_PUBLIC_KEY"),
    issuer: requiredEnv("BENCH_JWT_ISSUER"),
    audience: requiredEnv("BENCH_JWT_AUDIENCE"),
    algorithm: requiredEnv("BENCH_JWT_ALGORITHM") as "RS256" | "ES256",
    ...options,
  });
}

/**
 * POST /__verify { token, iterations }: CPU µs per verification of an RS256 token in this process.
 * `cryptoVerify` is the floor: node:crypto on the signing input and signature, decoded once
 * beforehand. Then, each with 1 and with 50 calls in flight: WebCrypto's verify (what jose calls
 * on Node), jose's jwtVerify (what JWTVerifier calls, key imported once), and
 * JWTVerifier.verifyToken with its cache off.
 */
async function verificationCost(c: HonoContext): Promise<Response> {
  const { token, iterations } = (await c.req.json()) as { token: string; iterations: number };
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const input = Buffer.from(`${header}.${payload}`);
  const signatureBytes = Buffer.from(signature, "base64url");
  const pem = requiredEnv("BENCH_JWT_PUBLIC_KEY");
  const publicKey = createPublicKey(pem);
  const { importSPKI, jwtVerify } = await import("jose");
  const key = (await importSPKI(pem, "RS256")) as CryptoKey;
  const claims = { issuer: requiredEnv("BENCH_JWT_ISSUER"), audience: requiredEnv("BENCH_JWT_AUDIENCE"), algorithms: ["RS256"] };
  const verifier = await jwtVerifier({ cacheSize: 0 });
  const webCrypto = () => crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signatureBytes, input);
  const jose = () => jwtVerify(token, key, claims);
  const uncached = () => verifier.verifyToken(token);
  return c.json({
    iterations,
    cryptoVerify: cpuMicrosPerCall(iterations, () => verify("sha256", input, publicKey, signatureBytes)),
    webCryptoVerify: await inFlightFigures(iterations, webCrypto),
    joseVerify: await inFlightFigures(iterations, jose),
    verifierUncached: await inFlightFigures(iterations, uncached),
  });
}

/** CPU time (every thread, as the harness counts it) per call of a synchronous check that must pass. */
function cpuMicrosPerCall(iterations: number, check: () => boolean): number {
  for (let i = 0; i < iterations / 10; i++) check();
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) if (!check()) throw new Error("verification failed");
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

async function inFlightFigures(iterations: number, check: () => Promise<unknown>): Promise<{ one: number; fifty: number }> {
  return { one: await cpuMicrosPerAsyncCall(iterations, 1, check), fifty: await cpuMicrosPerAsyncCall(iterations, 50, check) };
}

/** The same for an asynchronous check, `inFlight` calls at a time. */
async function cpuMicrosPerAsyncCall(iterations: number, inFlight: number, check: () => Promise<unknown>): Promise<number> {
  const run = async (count: number) => {
    for (let done = 0; done < count; done += inFlight) {
      const results = await Promise.all(Array.from({ length: Math.min(inFlight, count - done) }, check));
      if (results.some((result) => !result)) throw new Error("verification failed");
    }
  };
  await run(iterations / 10);
  const before = process.cpuUsage();
  await run(iterations);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

/** A full GC, then the process's memory, with the young generation's size (V8 grows it under load). */
function collectGarbage(): NodeJS.MemoryUsage & { newSpace: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("start the server with node --expose-gc");
  gc();
  gc();
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
  return { ...process.memoryUsage(), newSpace };
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function listen(server: NodeHttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const kind = process.argv[2] ?? "";
  const start = SERVERS[kind];
  if (!start) throw new Error(`unknown server ${JSON.stringify(kind)}; one of ${Object.keys(SERVERS).join(", ")}`);
  const started = await start();
  const port = typeof started === "number" ? started : await listen(started);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

// Exit (rather than die) on SIGTERM, so `node --cpu-prof` gets to write its profile.
process.on("SIGTERM", () => process.exit(0));

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
