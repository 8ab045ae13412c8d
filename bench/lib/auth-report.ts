/** The authentication tables and targets: each authenticated row against fastmcp-stateless, the same server without auth. */
import { AUTH_KINDS, UNAUTHENTICATED_KIND, type InFlight } from "./auth.js";
import { fixed, microsPerRequest, percent, table, validResult, type Target, type ThroughputRow } from "./report.js";

/** The budgets. */
const SEEN_TOKEN_MAX_MICROS = 15;
const SEEN_TOKEN_MIN_THROUGHPUT = 0.9;
const FIRST_SEEN_MAX_VERIFY_RATIO = 1.3;

/** What authentication costs one row, next to the unauthenticated row. */
export interface AuthFigures {
  kind: string;
  tokens: "one" | "first-seen";
  /** CPU µs/request added by auth: the median of the per-round differences with the unauthenticated row. */
  costMicros: number;
  /** Those differences, round by round (the rounds are interleaved, so each pair ran minutes apart at most). */
  roundCostMicros: number[];
  /** Unauthenticated CPU µs/request ÷ this row's: the share of its throughput left, one core each. */
  throughputShare: number;
  /** This row's req/s ÷ the unauthenticated row's (bounded by the load generator for fast servers). */
  requestRateShare: number;
}

/** The figures of every valid authenticated row; none without a valid unauthenticated row. */
export function authFigures(rows: ThroughputRow[]): AuthFigures[] {
  return rows.flatMap((row) => {
    const kind = AUTH_KINDS[row.kind];
    const figures = kind ? againstUnauthenticated(rows, row.kind) : undefined;
    return kind && figures ? [{ ...figures, tokens: kind.tokens }] : [];
  });
}

/** What a valid row costs beside fastmcp-stateless in the same run; undefined unless both are valid. */
export function againstUnauthenticated(rows: ThroughputRow[], kind: string): Omit<AuthFigures, "tokens"> | undefined {
  const base = rows.find((row) => row.kind === UNAUTHENTICATED_KIND);
  const baseResult = validResult(rows, UNAUTHENTICATED_KIND);
  const row = rows.find((candidate) => candidate.kind === kind);
  const result = validResult(rows, kind);
  if (!base || !baseResult || !row || !result) return undefined;
  const roundCostMicros = row.roundMicros.map((micros, i) => micros - (base.roundMicros[i] ?? Number.NaN));
  return {
    kind,
    costMicros: median(roundCostMicros),
    roundCostMicros,
    throughputShare: microsPerRequest(baseResult) / microsPerRequest(result),
    requestRateShare: result.requestsPerSecond / baseResult.requestsPerSecond,
  };
}

export function authTable(rows: ThroughputRow[]): string {
  const figures = new Map(authFigures(rows).map((f) => [f.kind, f]));
  const relevant = rows.filter((row) => row.kind === UNAUTHENTICATED_KIND || AUTH_KINDS[row.kind]);
  const header = ["server", "tokens", "req/s", "CPU µs/req", "auth µs/req", "rounds auth µs", "throughput (CPU) vs no auth", "req/s vs no auth", "valid"];
  const lines = relevant.map((row) => {
    const f = figures.get(row.kind);
    const tokens = AUTH_KINDS[row.kind] ? (AUTH_KINDS[row.kind]!.tokens === "one" ? "one, reused" : "new each request") : "none";
    return [
      row.kind,
      tokens,
      row.result ? fixed(row.result.requestsPerSecond, 0) : "-",
      row.result ? fixed(microsPerRequest(row.result), 1) : "-",
      f ? signed(f.costMicros) : "-",
      f ? f.roundCostMicros.map((m) => signed(m, 0)).join(" / ") : "-",
      f ? percent(f.throughputShare) : "-",
      f ? percent(f.requestRateShare) : "-",
      row.problem === undefined ? "yes" : `no: ${row.problem}`,
    ];
  });
  return table(header, lines);
}

/** The first-seen rows beside what verifying their token costs inside the same server process. */
export function verificationTable(rows: ThroughputRow[]): string {
  const figures = new Map(authFigures(rows).map((f) => [f.kind, f]));
  const header = ["server", "node:crypto verify µs", "WebCrypto verify µs (1 / 50 in flight)", "jose jwtVerify µs (1 / 50)", "JWTVerifier uncached µs (1 / 50)", "first-seen auth µs/req", "÷ node:crypto verify"];
  const lines = rows.filter((row) => row.verification).map((row) => {
    const v = row.verification!;
    const cost = figures.get(row.kind)?.costMicros;
    return [
      row.kind,
      fixed(v.cryptoVerify, 1),
      inFlight(v.webCryptoVerify),
      inFlight(v.joseVerify),
      inFlight(v.verifierUncached),
      cost === undefined ? "-" : fixed(cost, 1),
      cost === undefined ? "-" : `${fixed(cost / v.cryptoVerify, 2)}×`,
    ];
  });
  return table(header, lines);
}

/**
 * The same figures as multiples of node:crypto's verify: how far above the first-seen budget
 * each layer already is on its own, whatever the code around it does.
 */
export function verificationRatioTable(rows: ThroughputRow[]): string {
  const header = ["server", `WebCrypto ÷ node:crypto (1 / 50 in flight)`, "jose jwtVerify ÷ node:crypto (1 / 50)", "JWTVerifier uncached ÷ node:crypto (1 / 50)", "budget"];
  const lines = rows.filter((row) => row.verification).map((row) => {
    const v = row.verification!;
    const ratio = ({ one, fifty }: InFlight) => `${fixed(one / v.cryptoVerify, 2)}× / ${fixed(fifty / v.cryptoVerify, 2)}×`;
    return [row.kind, ratio(v.webCryptoVerify), ratio(v.joseVerify), ratio(v.verifierUncached), `${FIRST_SEEN_MAX_VERIFY_RATIO}×`];
  });
  return table(header, lines);
}

function inFlight({ one, fifty }: InFlight): string {
  return `${fixed(one, 1)} / ${fixed(fifty, 1)}`;
}

export function authTargets(rows: ThroughputRow[]): Target[] {
  const figures = authFigures(rows);
  const list: Target[] = [];
  for (const kind of Object.keys(AUTH_KINDS).filter((k) => rows.some((row) => row.kind === k))) {
    const f = figures.find((candidate) => candidate.kind === kind);
    if (AUTH_KINDS[kind]!.tokens === "one") {
      list.push({ name: `${kind}: a token already seen adds ≤ ${SEEN_TOKEN_MAX_MICROS} µs CPU per request`, value: f ? `${signed(f.costMicros)} µs` : "invalid run", holds: f ? f.costMicros <= SEEN_TOKEN_MAX_MICROS : undefined });
      list.push({ name: `${kind}: ≥ ${percent(SEEN_TOKEN_MIN_THROUGHPUT)} of unauthenticated throughput (CPU µs/req)`, value: f ? percent(f.throughputShare) : "invalid run", holds: f ? f.throughputShare >= SEEN_TOKEN_MIN_THROUGHPUT : undefined });
    } else {
      const verify = rows.find((row) => row.kind === kind)?.verification?.cryptoVerify;
      const ratio = f && verify !== undefined ? f.costMicros / verify : undefined;
      list.push({
        name: `${kind}: ≤ ${FIRST_SEEN_MAX_VERIFY_RATIO} × raw node:crypto RS256 verify (same process)`,
        value: ratio === undefined ? "invalid run" : `${fixed(f!.costMicros, 1)} µs = ${fixed(ratio, 2)} × ${fixed(verify!, 1)} µs`,
        holds: ratio === undefined ? undefined : ratio <= FIRST_SEEN_MAX_VERIFY_RATIO,
      });
    }
  }
  return list;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function signed(value: number, digits = 1): string {
  return `${value >= 0 ? "+" : ""}${fixed(value, digits)}`;
}
