/**
 * Streamable HTTP benchmark: `tools/call` of an echo tool, server CPU time per request.
 *
 *   npm run bench                         # all servers, 50 connections, 10 s each
 *   npm run bench -- --duration 3 --only raw,fastmcp-stateless
 *   npm run bench -- --only auth --rounds 5 --skip-memory   # JWT authentication against no auth
 *   npm run bench -- --only as --rounds 3 --skip-memory     # the authorization server (LocalOAuthProvider)
 *   npm run bench -- --only proxy --rounds 3 --skip-memory  # OIDCProxy in front of a real OpenID provider
 *
 * Each server runs in its own `node` process pinned to core 0; this process (the autocannon load
 * generator) pins itself to core 1. See docs/benchmarks.md for what is measured and why.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { AUTH_KINDS, AUDIENCE, ISSUER, measureVerification, mintToken, signingKey, TokenSequence, UNAUTHENTICATED_KIND, type AuthAlgorithm, type InFlight, type SigningKey, type VerificationCost } from "./lib/auth.js";
import { authFigures, authTable, authTargets, verificationRatioTable, verificationTable } from "./lib/auth-report.js";
import { AS_KINDS, asKindsOf, isTokenRow, openAsBackends, prepareAsRound, SAMPLE_ITEMS } from "./lib/as.js";
import { asTargets, asTokenTable, asToolsTable } from "./lib/as-report.js";
import { runLoad, type LoadOptions, type LoadResult } from "./lib/load.js";
import { collectGarbage, openSession, openSessions, sampleCalls } from "./lib/mcp.js";
import { clockTicksPerSecond, pinProcess, rssBytes } from "./lib/proc.js";
import {
  memoryTable,
  microsPerRequest,
  problemOf,
  targets,
  targetTable,
  throughputTable,
  type CallMemory,
  type MemorySnapshot,
  type SessionMemory,
  type Target,
  type ThroughputRow,
} from "./lib/report.js";
import { buildServers, checkDist, startServer, type ServerProcess } from "./lib/server-process.js";

const KINDS = ["raw", "sdk-stateless", "sdk-per-request", "fastmcp-stateless", "fastmcp-stateful", ...Object.keys(AUTH_KINDS), ...Object.keys(AS_KINDS)];
/** Names --only accepts for several servers at once. */
const GROUPS: Record<string, string[]> = {
  auth: [UNAUTHENTICATED_KIND, ...Object.keys(AUTH_KINDS)],
  as: [UNAUTHENTICATED_KIND, ...asKindsOf("local")],
  "as-token": asKindsOf("local").filter(isTokenRow),
  "as-tools": [UNAUTHENTICATED_KIND, ...asKindsOf("local").filter((kind) => !isTokenRow(kind))],
  proxy: [UNAUTHENTICATED_KIND, ...asKindsOf("proxy")],
  "proxy-token": asKindsOf("proxy").filter(isTokenRow),
  "proxy-tools": [UNAUTHENTICATED_KIND, ...asKindsOf("proxy").filter((kind) => !isTokenRow(kind))],
};
/** The servers whose memory is measured. */
const MEMORY_KINDS = ["fastmcp-stateless", "fastmcp-stateful"];
/** Verifications timed by POST /__verify in each first-seen server, for each figure. */
const VERIFY_ITERATIONS = 3000;
const SERVER_CORE = 0;
const LOADGEN_CORE = 1;
/** Calls served before the session-memory baseline, so the heap has reached its working size. */
const SESSION_WARMUP_CALLS = 20_000;

const USAGE = `Usage: npx tsx bench/http.ts [options]
  --duration <s>      measured seconds per server (default 10)
  --warmup <s>        warm-up seconds per server before measuring (default 3)
  --connections <n>   concurrent connections (default 50)
  --rounds <n>        measure every server n times, interleaved; report the median (default 1)
  --only <a,b>        servers to run, from: ${KINDS.join(", ")};
                      "auth" stands for ${GROUPS.auth!.join(", ")};
                      "as" (the authorization server, LocalOAuthProvider) for ${GROUPS.as!.join(", ")};
                      "as-token" for its /token rows, "as-tools" for its tools/call rows and fastmcp-stateless
                      "proxy" (OIDCProxy in front of oidc-provider) for ${GROUPS.proxy!.join(", ")};
                      "proxy-token" and "proxy-tools" as for "as"
  --first-seen <n>    requests in a first-seen row's measured window, each with its own token
                      (default 40000; its warm-up gets n × warmup ÷ duration more)
  --as-requests <n>   requests in a /token row's measured window, each with its own code or refresh
                      token, pooled before the warm-up (default 5000; its warm-up gets n × warmup ÷ duration more)
  --sessions <n>      stateful sessions opened for the per-session memory figure (default 2000)
  --calls <a,b,c>     call counts at which FastMCP's memory is read (default 1000,10000,100000)
  --skip-memory       skip the memory measurements
  --json <path>       where to write the results (default bench/results/latest.json; "" to skip)
  --cpu-prof <dir>    write a V8 CPU profile of each measured server there (inflates its CPU time)`;

interface Settings {
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  kinds: string[];
  sessions: number;
  /** Increasing call counts at which the memory of FastMCP servers is read. */
  checkpoints: number[];
  memory: boolean;
  json: string;
  cpuProfileDir: string | undefined;
  firstSeen: number;
  asRequests: number;
}

function settings(): Settings {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "50" },
      rounds: { type: "string", default: "1" },
      only: { type: "string" },
      sessions: { type: "string", default: "2000" },
      calls: { type: "string", default: "1000,10000,100000" },
      "skip-memory": { type: "boolean", default: false },
      json: { type: "string", default: "bench/results/latest.json" },
      "cpu-prof": { type: "string" },
      "first-seen": { type: "string", default: "40000" },
      "as-requests": { type: "string", default: "5000" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const kinds = values.only === undefined ? KINDS : [...new Set(values.only.split(",").map((k) => k.trim()).filter(Boolean).flatMap((k) => GROUPS[k] ?? [k]))];
  const unknown = kinds.filter((k) => !KINDS.includes(k));
  if (unknown.length > 0) throw new Error(`unknown server(s) ${unknown.join(", ")}; choose from ${KINDS.join(", ")}`);
  return {
    duration: positive(values.duration, "--duration"),
    warmup: nonNegative(values.warmup, "--warmup"),
    connections: positive(values.connections, "--connections"),
    rounds: positive(values.rounds, "--rounds"),
    kinds,
    sessions: positive(values.sessions, "--sessions"),
    checkpoints: checkpoints(values.calls),
    memory: !values["skip-memory"],
    json: values.json,
    cpuProfileDir: values["cpu-prof"],
    firstSeen: Math.round(positive(values["first-seen"], "--first-seen")),
    asRequests: Math.round(positive(values["as-requests"], "--as-requests")),
  };
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function checkpoints(text: string): number[] {
  const counts = text.split(",").map((n) => positive(n, "--calls"));
  if (counts.length < 2 || counts.some((n, i) => i > 0 && n <= counts[i - 1]!)) throw new Error("--calls needs at least two increasing counts");
  return counts;
}

function nonNegative(text: string, flag: string): number {
  const value = Number(text);
  if (!(value >= 0)) throw new Error(`${flag} must be a number ≥ 0, got ${JSON.stringify(text)}`);
  return value;
}

/** A JSON-RPC id source: every request a server sees carries a new id. */
function idCounter(): () => number {
  let next = 1;
  return () => next++;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The session a call needs: one initialized session for the stateful server, none otherwise. */
function sessionFor(server: ServerProcess): Promise<string | undefined> {
  return server.kind === "fastmcp-stateful" ? openSession(server.url) : Promise.resolve(undefined);
}

interface Round {
  result: LoadResult | undefined;
  problem: string | undefined;
  /** First-seen rows: signature verification timed inside the server after its measured window. */
  verification?: VerificationCost;
}

/** Keys and tokens for the authenticated rows, made once per run. */
interface AuthMaterial {
  keys: Record<AuthAlgorithm, SigningKey>;
  /** The token each one-token row sends with every request; also what sample calls and /__verify use. */
  tokens: Record<AuthAlgorithm, string>;
  /** Distinct RS256 tokens for a first-seen row's warm-up and measured window; each round's fresh server sees them anew. */
  firstSeenPool: string[];
}

/** A load window: seconds, or a number of requests (first-seen rows, which need a token per request). */
type Window = { duration: number } | { amount: number };

/** One round for one server: a fresh process, sample calls, warm-up, the measured window, sample calls. */
async function measureRound(script: string, kind: string, round: number, options: Settings, auth: AuthMaterial | undefined): Promise<Round> {
  if (AS_KINDS[kind]) return measureAsRound(script, kind, round, options);
  const cpuProfile = options.cpuProfileDir ? { dir: options.cpuProfileDir, name: `${kind}-${round}.cpuprofile` } : undefined;
  const server = await startServer(script, kind, { core: SERVER_CORE, cpuProfile, env: serverEnvironment(kind, auth) });
  try {
    const load = await loadFor(server, options, auth);
    const token = sampleToken(kind, auth);
    const sample = () => sampleCalls(server.url, load.sessionId, [load.nextId(), load.nextId(), load.nextId()], token);
    await sample();
    const { warmup, measured } = windows(kind, options);
    if (warmup) {
      const warm = await runLoad(server.pid, { ...load, ...warmup });
      const problem = problemOf(warm);
      if (problem !== undefined) return { result: warm, problem: `warm-up: ${problem}` };
    }
    const result = await runLoad(server.pid, { ...load, ...measured });
    await sample();
    // Not under --cpu-prof: the profile is of serving requests, and the profiler would skew the figures.
    if (AUTH_KINDS[kind]?.tokens !== "first-seen" || options.cpuProfileDir) return { result, problem: problemOf(result) };
    return { result, problem: problemOf(result), verification: await measureVerification(server.url, token!, VERIFY_ITERATIONS) };
  } catch (error) {
    return { result: undefined, problem: error instanceof Error ? error.message : String(error) };
  } finally {
    await server.stop();
  }
}

/**
 * One round of an authorization-server row: a fresh store and server, a client registered and
 * signed in, the pool filled (codes or refresh tokens for a /token row, one access token for a
 * tools/call row), sample calls, warm-up, the measured window, sample calls; then the server
 * stopped and the store removed.
 */
async function measureAsRound(script: string, kind: string, round: number, options: Settings): Promise<Round> {
  const cpuProfile = options.cpuProfileDir ? { dir: options.cpuProfileDir, name: `${kind}-${round}.cpuprofile` } : undefined;
  const backends = await openAsBackends(kind);
  const { store } = backends;
  let server: ServerProcess | undefined;
  try {
    server = await startServer(script, kind, { core: SERVER_CORE, cpuProfile, env: backends.env });
    const { warmup, measured } = windows(kind, options);
    const items = isTokenRow(kind) ? amountOf(warmup) + amountOf(measured) + 2 * options.connections : 0;
    if (items > 0) log(`${kind}: pooling ${items + SAMPLE_ITEMS} ${AS_KINDS[kind]!.load === "code" ? "codes" : "refresh tokens"} through /authorize, /consent${AS_KINDS[kind]!.load === "refresh" ? " and /token" : ""}…`);
    const prepared = await prepareAsRound(kind, new URL(server.url).origin, store, items);
    const load: LoadOptions = { url: server.url, serverCore: SERVER_CORE, sessionId: undefined, connections: options.connections, nextId: idCounter(), ...prepared.load };
    const running = server;
    const sample = isTokenRow(kind) ? prepared.sample : () => sampleCalls(running.url, undefined, [load.nextId(), load.nextId(), load.nextId()], load.bearer as string);
    await sample();
    if (warmup) {
      const warm = await runLoad(server.pid, { ...load, ...warmup });
      const problem = problemOf(warm);
      if (problem !== undefined) return { result: warm, problem: `warm-up: ${problem}` };
    }
    const result = await runLoad(server.pid, { ...load, ...measured });
    await sample();
    return { result, problem: problemOf(result) };
  } catch (error) {
    return { result: undefined, problem: error instanceof Error ? error.message : String(error) };
  } finally {
    await server?.stop();
    await backends.dispose();
  }
}

function amountOf(window: Window | undefined): number {
  return window && "amount" in window ? window.amount : 0;
}

/** Warm-up and measured windows: seconds; for first-seen and /token rows, requests (as many as the pool has items for). */
function windows(kind: string, options: Settings): { warmup: Window | undefined; measured: Window } {
  const requests = AUTH_KINDS[kind]?.tokens === "first-seen" ? options.firstSeen : isTokenRow(kind) ? options.asRequests : undefined;
  if (requests !== undefined) {
    const warmup = warmupShare(requests, options);
    return { warmup: warmup > 0 ? { amount: warmup } : undefined, measured: { amount: requests } };
  }
  return { warmup: options.warmup > 0 ? { duration: options.warmup } : undefined, measured: { duration: options.duration } };
}

/** A request-counted window's warm-up: as many requests as the warm-up's share of the measured seconds. */
function warmupShare(requests: number, options: Settings): number {
  return Math.round((requests * options.warmup) / options.duration);
}

/** What an authenticated server is configured with: its verifier's key and checks, and the /__verify route for first-seen rows. */
function serverEnvironment(kind: string, auth: AuthMaterial | undefined): Record<string, string> {
  const authKind = AUTH_KINDS[kind];
  if (!authKind || !auth) return {};
  return {
    BENCH_JWT_PUBLIC_KEY: auth.keys[authKind.algorithm].publicKeyPem,
    BENCH_JWT_ALGORITHM: authKind.algorithm,
    BENCH_JWT_ISSUER: ISSUER,
    BENCH_JWT_AUDIENCE: AUDIENCE,
    BENCH_VERIFY: authKind.tokens === "first-seen" ? "1" : "0",
  };
}

function sampleToken(kind: string, auth: AuthMaterial | undefined): string | undefined {
  const authKind = AUTH_KINDS[kind];
  return authKind && auth ? auth.tokens[authKind.algorithm] : undefined;
}

/** Keys for both algorithms, one token each, and the first-seen pool when a first-seen row runs. */
function prepareAuth(options: Settings): AuthMaterial | undefined {
  const kinds = options.kinds.filter((kind) => AUTH_KINDS[kind]);
  if (kinds.length === 0) return undefined;
  const keys = { RS256: signingKey("RS256"), ES256: signingKey("ES256") };
  const tokens = { RS256: mintToken(keys.RS256), ES256: mintToken(keys.ES256) };
  const poolSize = kinds.some((kind) => AUTH_KINDS[kind]!.tokens === "first-seen") ? warmupShare(options.firstSeen, options) + options.firstSeen + 2 * options.connections : 0;
  if (poolSize > 0) log(`minting ${poolSize} RS256 tokens for the first-seen rows…`);
  const firstSeenPool = Array.from({ length: poolSize }, () => mintToken(keys.RS256));
  return { keys, tokens, firstSeenPool };
}

/** A server's row: the median round by CPU µs/request, or its first invalid round. */
function combineRounds(kind: string, rounds: Round[]): ThroughputRow {
  const roundMicros = rounds.map((r) => (r.result ? microsPerRequest(r.result) : Number.NaN));
  const verification = medianVerification(rounds.flatMap((r) => (r.verification ? [r.verification] : [])));
  const invalid = rounds.find((r) => r.problem !== undefined);
  if (invalid) return { kind, result: invalid.result, problem: invalid.problem, roundMicros, verification };
  const sorted = [...rounds].sort((a, b) => microsPerRequest(a.result!) - microsPerRequest(b.result!));
  return { kind, result: sorted[Math.floor((sorted.length - 1) / 2)]!.result, problem: undefined, roundMicros, verification };
}

/** Each figure's median over the rounds. */
function medianVerification(costs: VerificationCost[]): VerificationCost | undefined {
  if (costs.length === 0) return undefined;
  const middle = (pick: (cost: VerificationCost) => number) => costs.map(pick).sort((a, b) => a - b)[Math.floor((costs.length - 1) / 2)]!;
  const inFlight = (pick: (cost: VerificationCost) => InFlight) => ({ one: middle((c) => pick(c).one), fifty: middle((c) => pick(c).fifty) });
  return {
    iterations: costs[0]!.iterations,
    cryptoVerify: middle((c) => c.cryptoVerify),
    webCryptoVerify: inFlight((c) => c.webCryptoVerify),
    joseVerify: inFlight((c) => c.joseVerify),
    verifierUncached: inFlight((c) => c.verifierUncached),
  };
}

async function measureThroughput(script: string, options: Settings, auth: AuthMaterial | undefined): Promise<ThroughputRow[]> {
  const rounds = new Map<string, Round[]>(options.kinds.map((kind) => [kind, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const kind of options.kinds) {
      log(`${kind}: round ${round}/${options.rounds}…`);
      const measured = await measureRound(script, kind, round, options, auth);
      rounds.get(kind)!.push(measured);
      log(`${kind}: ${describe(measured)}`);
    }
  }
  return options.kinds.map((kind) => combineRounds(kind, rounds.get(kind)!));
}

function describe({ result, problem, verification }: Round): string {
  const verify = verification ? `; in-server RS256 verify: node:crypto ${verification.cryptoVerify.toFixed(1)} µs, JWTVerifier uncached ${verification.verifierUncached.fifty.toFixed(1)} µs` : "";
  const figures = result ? `${Math.round(result.requestsPerSecond)} req/s, ${microsPerRequest(result).toFixed(1)} µs/req${verify}` : "failed";
  return problem === undefined ? figures : `${figures} (INVALID: ${problem})`;
}

/** Memory (after a full GC) once each checkpoint's number of calls has been served. */
async function measureCallMemory(script: string, kind: string, options: Settings): Promise<CallMemory> {
  const server = await startServer(script, kind, { core: SERVER_CORE, gcRoute: true });
  try {
    const load = await loadFor(server, options);
    const points: CallMemory["checkpoints"] = [];
    let served = 0;
    for (const target of options.checkpoints) {
      await calls(server, load, target - served);
      served = target;
      points.push({ calls: served, memory: await memoryOf(server) });
    }
    return { kind, checkpoints: points };
  } finally {
    await server.stop();
  }
}

/**
 * The memory one initialized stateful session holds: (after − before) / N, both after a full GC.
 * Calls and a few sessions first, so V8's heap spaces have grown to their working size and the
 * difference is the sessions', not the warm-up's.
 */
async function measureSessionMemory(script: string, options: Settings): Promise<SessionMemory> {
  const server = await startServer(script, "fastmcp-stateful", { core: SERVER_CORE, gcRoute: true });
  try {
    await calls(server, await loadFor(server, options), SESSION_WARMUP_CALLS);
    await openSessions(server.url, 100, 10);
    const before = await memoryOf(server);
    await openSessions(server.url, options.sessions, 10);
    const after = await memoryOf(server);
    return { sessions: options.sessions, before, after };
  } finally {
    await server.stop();
  }
}

/** What autocannon needs to call a server: for the stateful one, a freshly initialized session; for authenticated ones, tokens. */
async function loadFor(server: ServerProcess, options: Settings, auth?: AuthMaterial): Promise<LoadOptions> {
  const load: LoadOptions = { url: server.url, serverCore: SERVER_CORE, sessionId: await sessionFor(server), connections: options.connections, nextId: idCounter() };
  const authKind = AUTH_KINDS[server.kind];
  if (authKind && auth) load.bearer = authKind.tokens === "one" ? auth.tokens[authKind.algorithm] : new TokenSequence(auth.firstSeenPool);
  return load;
}

/** Serves `amount` calls; throws if any answer is wrong. */
async function calls(server: ServerProcess, load: LoadOptions, amount: number): Promise<void> {
  const result = await runLoad(server.pid, { ...load, amount });
  const problem = problemOf(result);
  if (problem !== undefined) throw new Error(`${server.kind}: ${amount} calls: ${problem}`);
}

async function memoryOf(server: ServerProcess): Promise<MemorySnapshot> {
  const usage = await collectGarbage(server.url);
  return { rss: rssBytes(server.pid), heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, newSpace: usage.newSpace };
}

function machine(): Record<string, string | number> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    // Read before pinning: both report the calling process's affinity, not the machine.
    nproc: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    availableParallelism: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    node: process.version,
    kernel: release(),
    clockTicksPerSecond: clockTicksPerSecond(),
  };
}

/** The commit the measured build comes from (dist/ may include uncommitted changes). */
function commit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function summary(result: LoadResult): Record<string, number> {
  return { ...result, cpuMicrosPerRequest: result.serverCpuMicros / result.completed };
}

interface MemoryResults {
  calls: CallMemory[];
  sessions: SessionMemory | undefined;
}

async function measureMemory(script: string, options: Settings): Promise<MemoryResults> {
  const calls: CallMemory[] = [];
  let sessions: SessionMemory | undefined;
  if (!options.memory) return { calls, sessions };
  for (const kind of options.kinds.filter((k) => MEMORY_KINDS.includes(k))) {
    log(`${kind}: memory after ${options.checkpoints.join(", ")} calls…`);
    calls.push(await measureCallMemory(script, kind, options));
  }
  if (options.kinds.includes("fastmcp-stateful")) {
    log(`fastmcp-stateful: memory of ${options.sessions} sessions…`);
    sessions = await measureSessionMemory(script, options);
  }
  return { calls, sessions };
}

function printReport(rows: ThroughputRow[], memory: MemoryResults, verdicts: Target[]): void {
  const calls = rows.filter((row) => !isTokenRow(row.kind));
  if (calls.length > 0) console.log(`\n${throughputTable(calls)}\n`);
  if (rows.some((row) => AUTH_KINDS[row.kind])) console.log(`${authTable(rows)}\n`);
  if (rows.some((row) => isTokenRow(row.kind))) console.log(`${asTokenTable(rows)}\n`);
  if (rows.some((row) => AS_KINDS[row.kind] && !isTokenRow(row.kind))) console.log(`${asToolsTable(rows)}\n`);
  if (rows.some((row) => row.verification)) console.log(`${verificationTable(rows)}\n\n${verificationRatioTable(rows)}\n`);
  if (memory.calls.length > 0 || memory.sessions) console.log(`${memoryTable(memory.calls, memory.sessions)}\n`);
  console.log(targetTable(verdicts));
}

function writeJson(path: string, host: Record<string, string | number>, options: Settings, rows: ThroughputRow[], memory: MemoryResults, verdicts: Target[]): void {
  const throughput = rows.map((r) => ({ kind: r.kind, valid: r.problem === undefined, problem: r.problem, roundMicros: r.roundMicros, verification: r.verification, ...(r.result ? summary(r.result) : {}) }));
  const document = {
    date: new Date().toISOString(),
    commit: commit(),
    machine: host,
    settings: options,
    throughput,
    auth: authFigures(rows),
    callMemory: memory.calls,
    sessionMemory: memory.sessions,
    targets: verdicts,
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  log(`\nresults written to ${path}`);
}

async function main(): Promise<void> {
  const options = settings();
  checkDist();
  const host = machine();
  pinProcess(process.pid, LOADGEN_CORE);
  const script = buildServers();
  log(`machine: ${JSON.stringify(host)}`);
  log(`servers on core ${SERVER_CORE}, load generator on core ${LOADGEN_CORE}; ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per server, ${options.rounds} round(s)`);
  if (options.cpuProfileDir) log(`CPU profiles go to ${options.cpuProfileDir}: profiling inflates the servers' CPU time`);

  const auth = prepareAuth(options);
  const rows = await measureThroughput(script, options, auth);
  const memory = await measureMemory(script, options);
  const verdicts = [...targets(rows, memory.calls, memory.sessions), ...authTargets(rows), ...asTargets(rows)];
  printReport(rows, memory, verdicts);
  if (options.json) writeJson(options.json, host, options, rows, memory, verdicts);
}

main().catch((error: unknown) => {
  // A bad flag is the caller's mistake: one line and the usage, not a stack trace.
  const usageError = error instanceof Error && ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") || / must | needs | unknown server/.test(error.message));
  if (usageError) process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
  else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(usageError ? 2 : 1);
});
