/** Turns measurements into the printed tables and the target verdicts. */
import type { VerificationCost } from "./auth.js";
import { isValid, type LoadResult } from "./load.js";

export interface ThroughputRow {
  kind: string;
  /** The median round (by CPU µs/request), or the first invalid one. */
  result: LoadResult | undefined;
  /** Why the row is invalid, when it is. */
  problem: string | undefined;
  /** CPU µs/request of every round, in order. */
  roundMicros: number[];
  /** First-seen rows: the server's own signature verification figures (median over rounds). */
  verification?: VerificationCost | undefined;
}

/** Server memory after a full GC. */
export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** V8's young generation, part of heapTotal: it grows under allocation pressure and stays. */
  newSpace: number;
}

export interface CallMemory {
  kind: string;
  /** Memory after each number of calls served, in increasing order. */
  checkpoints: Array<{ calls: number; memory: MemorySnapshot }>;
}

export interface SessionMemory {
  sessions: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
}

export interface Target {
  name: string;
  value: string;
  holds: boolean | undefined;
}

const FASTMCP_KINDS = ["fastmcp-stateless", "fastmcp-stateful"];

export function microsPerRequest(result: LoadResult): number {
  return result.serverCpuMicros / result.completed;
}

export function validResult(rows: ThroughputRow[], kind: string): LoadResult | undefined {
  const row = rows.find((r) => r.kind === kind);
  return row?.result && row.problem === undefined ? row.result : undefined;
}

export function throughputTable(rows: ThroughputRow[]): string {
  const raw = validResult(rows, "raw");
  const sdk = validResult(rows, "sdk-stateless");
  const rounds = Math.max(...rows.map((r) => r.roundMicros.length));
  const header = ["server", "req/s", "p50 ms", "p99 ms", "CPU µs/req", ...(rounds > 1 ? ["rounds µs/req"] : []), "server CPU", "others on its core", "loadgen CPU", "µs ÷ raw", "raw req/s ÷", "SDK µs ÷", "checked", "valid"];
  const lines = rows.map(({ kind, result, problem, roundMicros }) => {
    if (!result) return [kind, ...header.slice(1, -1).map(() => "-"), `no: ${problem ?? "?"}`];
    const micros = microsPerRequest(result);
    return [
      kind,
      fixed(result.requestsPerSecond, 0),
      fixed(result.p50Ms, 2),
      fixed(result.p99Ms, 2),
      fixed(micros, 1),
      ...(rounds > 1 ? [roundMicros.map((m) => fixed(m, 0)).join(" / ")] : []),
      percent(result.serverCpuMicros / (result.seconds * 1e6)),
      percent(result.otherCoreMicros / (result.seconds * 1e6)),
      percent(result.generatorCpuMicros / (result.seconds * 1e6)),
      raw ? `${fixed(micros / microsPerRequest(raw), 2)}×` : "-",
      raw ? `${fixed(raw.requestsPerSecond / result.requestsPerSecond, 2)}×` : "-",
      sdk ? `${fixed(microsPerRequest(sdk) / micros, 2)}×` : "-",
      `${result.correct}/${result.completed}`,
      problem === undefined ? "yes" : `no: ${problem}`,
    ];
  });
  return table(header, lines);
}

export function memoryTable(calls: CallMemory[], sessions: SessionMemory | undefined): string {
  const parts: string[] = [];
  if (calls.length > 0) {
    const points = calls[0]!.checkpoints.map((c) => count(c.calls));
    const header = ["server", ...points.map((p) => `RSS @${p}`), `RSS Δ ${points[0]}→${points.at(-1)}`, `heap used @${points[0]}`, "heap used Δ", "heap total Δ", "new space Δ"];
    parts.push(table(header, calls.map(({ kind, checkpoints }) => {
      const a = checkpoints[0]!.memory;
      const b = checkpoints.at(-1)!.memory;
      return [
        kind,
        ...checkpoints.map((c) => mb(c.memory.rss)),
        signedMb(b.rss - a.rss),
        mb(a.heapUsed),
        signedMb(b.heapUsed - a.heapUsed),
        signedMb(b.heapTotal - a.heapTotal),
        signedMb(b.newSpace - a.newSpace),
      ];
    })));
  }
  if (sessions) {
    const { before, after, sessions: n } = sessions;
    const header = ["stateful sessions", "RSS before", "RSS after", "RSS / session", "heap used / session", "heap total Δ", "new space Δ"];
    parts.push(table(header, [[
      String(n),
      mb(before.rss),
      mb(after.rss),
      kb((after.rss - before.rss) / n),
      kb((after.heapUsed - before.heapUsed) / n),
      signedMb(after.heapTotal - before.heapTotal),
      signedMb(after.newSpace - before.newSpace),
    ]]));
  }
  return parts.join("\n\n");
}

/** The issue's targets, each for every FastMCP row measured. */
export function targets(rows: ThroughputRow[], calls: CallMemory[], sessions: SessionMemory | undefined): Target[] {
  const raw = validResult(rows, "raw");
  const sdk = validResult(rows, "sdk-stateless");
  const list: Target[] = [];
  for (const kind of FASTMCP_KINDS) {
    if (!rows.some((r) => r.kind === kind)) continue;
    const ours = validResult(rows, kind);
    const micros = ours ? microsPerRequest(ours) : undefined;
    list.push({ name: `${kind}: ≤ 130 µs CPU per request`, value: micros === undefined ? "invalid run" : `${fixed(micros, 1)} µs`, holds: micros === undefined ? undefined : micros <= 130 });
    if (raw) {
      const ratio = micros === undefined ? undefined : micros / microsPerRequest(raw);
      list.push({ name: `${kind}: ≥ 50% of raw (µs/req ≤ 2 × raw)`, value: ratio === undefined ? "invalid run" : `${fixed(ratio, 2)} × raw`, holds: ratio === undefined ? undefined : ratio <= 2 });
    }
    if (sdk) {
      const gain = micros === undefined ? undefined : microsPerRequest(sdk) / micros;
      list.push({ name: `${kind}: ≥ 5× better than sdk-stateless (CPU µs/req)`, value: gain === undefined ? "invalid run" : `${fixed(gain, 2)}×`, holds: gain === undefined ? undefined : gain >= 5 });
    }
  }
  for (const { kind, checkpoints } of calls) {
    const first = checkpoints[0]!;
    const last = checkpoints.at(-1)!;
    const growth = last.memory.rss - first.memory.rss;
    list.push({ name: `${kind}: RSS after ${count(last.calls)} calls within 20 MB of after ${count(first.calls)}`, value: signedMb(growth), holds: growth <= 20 * 1024 * 1024 });
  }
  if (sessions) {
    const perSession = (sessions.after.rss - sessions.before.rss) / sessions.sessions;
    list.push({ name: "stateful session < 50 KB (RSS)", value: kb(perSession), holds: perSession < 50 * 1024 });
  }
  return list;
}

export function targetTable(list: Target[]): string {
  return table(["target", "measured", "holds"], list.map((t) => [t.name, t.value, t.holds === undefined ? "n/a" : t.holds ? "yes" : "NO"]));
}

/** A Markdown table (also readable in a terminal). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function problemOf(result: LoadResult): string | undefined {
  if (isValid(result)) return undefined;
  const issues = [
    result.wrong > 0 ? `${result.wrong} wrong answers` : "",
    result.non2xx > 0 ? `${result.non2xx} non-2xx` : "",
    result.errors > 0 ? `${result.errors} errors` : "",
    result.timeouts > 0 ? `${result.timeouts} timeouts` : "",
    result.completed === 0 ? "no responses" : "",
    result.missingTokens > 0 ? `${result.missingTokens} requests found the token pool used up` : "",
  ];
  return issues.filter(Boolean).join(", ");
}

export function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(0)}%`;
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function signedMb(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${mb(bytes)}`;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function count(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}
