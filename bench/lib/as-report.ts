/**
 * The authorization-server tables and targets: the /token rows per store (with the Redis
 * server's share), and the tools/call rows with the provider's tokens against fastmcp-stateless.
 */
import { againstUnauthenticated, signed } from "./auth-report.js";
import { AS_KINDS, isTokenRow } from "./as.js";
import type { LoadResult } from "./load.js";
import { fixed, microsPerRequest, percent, table, validResult, type Target, type ThroughputRow } from "./report.js";

/** The budgets. */
const TOOLS_MAX_OVERHEAD = 0.1;
const REFRESH_MIN_RATE = 1000;
const REFRESH_TARGET_ROW = "as-refresh-redis";

const STORE_NAMES = { memory: "MemoryStore", file: "FileStore", redis: "RedisStore" } as const;

/** Requests one saturated core would serve: 1e6 ÷ CPU µs/request. */
export function oneCoreCeiling(result: LoadResult): number {
  return 1e6 / microsPerRequest(result);
}

function storeMicros(result: LoadResult): number | undefined {
  return result.storeCpuMicros === undefined ? undefined : result.storeCpuMicros / result.completed;
}

export function asTokenTable(rows: ThroughputRow[]): string {
  const header = ["server", "store", "grant", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "rounds µs/req", "1-core req/s", "server CPU", "others on its core", "loadgen CPU", "Redis µs/req", "Redis CPU", "Redis cmds/req", "checked", "valid"];
  const lines = rows.filter((row) => isTokenRow(row.kind)).map(({ kind, result, problem, roundMicros }) => {
    const as = AS_KINDS[kind]!;
    const head = [kind, STORE_NAMES[as.store], as.load === "code" ? "authorization_code" : "refresh_token"];
    if (!result) return [...head, ...header.slice(3, -1).map(() => "-"), `no: ${problem ?? "?"}`];
    const redis = storeMicros(result);
    const window = result.seconds * 1e6;
    return [
      ...head,
      fixed(result.requestsPerSecond, 0),
      fixed(result.p50Ms, 2),
      fixed(result.p99Ms, 2),
      fixed(microsPerRequest(result), 1),
      roundMicros.map((m) => fixed(m, 0)).join(" / "),
      fixed(oneCoreCeiling(result), 0),
      percent(result.serverCpuMicros / window),
      percent(result.otherCoreMicros / window),
      percent(result.generatorCpuMicros / window),
      redis === undefined ? "-" : fixed(redis, 1),
      result.storeCpuMicros === undefined ? "-" : percent(result.storeCpuMicros / window),
      result.storeCommands === undefined ? "-" : fixed(result.storeCommands / result.completed, 1),
      `${result.correct}/${result.completed}`,
      problem === undefined ? "yes" : `no: ${problem}`,
    ];
  });
  return table(header, lines);
}

/** The tools/call rows with LocalOAuthProvider tokens, against the same server without auth. */
export function asToolsTable(rows: ThroughputRow[]): string {
  const header = ["server", "provider's store", "tokens", "req/s", "CPU µs/req", "auth µs/req", "rounds auth µs", "overhead", "throughput (CPU) vs no auth", "req/s vs no auth", "Redis cmds/s", "valid"];
  const relevant = rows.filter((row) => row.kind === "fastmcp-stateless" || (AS_KINDS[row.kind] && !isTokenRow(row.kind)));
  const lines = relevant.map((row) => {
    const as = AS_KINDS[row.kind];
    const f = as ? againstUnauthenticated(rows, row.kind) : undefined;
    const overhead = overheadOf(rows, row.kind);
    return [
      row.kind,
      as ? STORE_NAMES[as.store] : "-",
      as ? "one, reused" : "none",
      row.result ? fixed(row.result.requestsPerSecond, 0) : "-",
      row.result ? fixed(microsPerRequest(row.result), 1) : "-",
      f ? signed(f.costMicros) : "-",
      f ? f.roundCostMicros.map((m) => signed(m, 0)).join(" / ") : "-",
      overhead === undefined ? "-" : `${signed(overhead * 100)}%`,
      f ? percent(f.throughputShare) : "-",
      f ? percent(f.requestRateShare) : "-",
      row.result?.storeCommands === undefined ? "-" : fixed(row.result.storeCommands / row.result.seconds, 1),
      row.problem === undefined ? "yes" : `no: ${row.problem}`,
    ];
  });
  return table(header, lines);
}

/**
 * What auth adds to a tools/call, as a share of the unauthenticated request: the median of the
 * per-round differences (the rounds are interleaved, so each pair ran close together) over
 * fastmcp-stateless's median CPU µs/request.
 */
function overheadOf(rows: ThroughputRow[], kind: string): number | undefined {
  const base = validResult(rows, "fastmcp-stateless");
  const f = AS_KINDS[kind] ? againstUnauthenticated(rows, kind) : undefined;
  return f && base ? f.costMicros / microsPerRequest(base) : undefined;
}

export function asTargets(rows: ThroughputRow[]): Target[] {
  const list: Target[] = [];
  for (const kind of Object.keys(AS_KINDS).filter((k) => !isTokenRow(k) && rows.some((row) => row.kind === k))) {
    const f = againstUnauthenticated(rows, kind);
    const overhead = overheadOf(rows, kind);
    list.push({
      name: `${kind}: auth overhead on tools/call ≤ ${percent(TOOLS_MAX_OVERHEAD)} (CPU µs/req vs fastmcp-stateless)`,
      value: overhead === undefined || !f ? "invalid run" : `${signed(f.costMicros)} µs = ${signed(overhead * 100)}%`,
      holds: overhead === undefined ? undefined : overhead <= TOOLS_MAX_OVERHEAD,
    });
  }
  if (rows.some((row) => row.kind === REFRESH_TARGET_ROW)) {
    const result = validResult(rows, REFRESH_TARGET_ROW);
    list.push({
      name: `${REFRESH_TARGET_ROW}: refresh ≥ ${REFRESH_MIN_RATE.toLocaleString("en-US")}/s on RedisStore (req/s, server on one core)`,
      value: result ? `${fixed(result.requestsPerSecond, 0)}/s` : "invalid run",
      holds: result ? result.requestsPerSecond >= REFRESH_MIN_RATE : undefined,
    });
    const redis = result ? storeMicros(result) : undefined;
    const shared = result && redis !== undefined ? ` (${fixed(1e6 / (microsPerRequest(result) + redis), 0)}/s with Redis on that core too)` : "";
    list.push({
      name: `${REFRESH_TARGET_ROW}: one-core ceiling 1e6 ÷ CPU µs/req ≥ ${REFRESH_MIN_RATE.toLocaleString("en-US")}/s`,
      value: result ? `${fixed(oneCoreCeiling(result), 0)}/s${shared}` : "invalid run",
      holds: result ? oneCoreCeiling(result) >= REFRESH_MIN_RATE : undefined,
    });
  }
  return list;
}
