/** Drives a server with autocannon and measures the server's CPU time over exactly that window. */
import autocannon from "autocannon";
import { TokenSequence } from "./auth.js";
import { callHeaders, echoCall, isEchoAnswer } from "./mcp.js";
import { coreBusyMicros, cpuMicros } from "./proc.js";

export interface LoadOptions {
  url: string;
  /** The core the server is pinned to: the CPU other processes took from it is reported. */
  serverCore: number;
  sessionId: string | undefined;
  connections: number;
  /** Seconds to run; or `amount` requests. */
  duration?: number;
  amount?: number;
  /** Supplies the JSON-RPC ids: unique over the whole life of a server. */
  nextId: () => number;
  /** The bearer token: one for every request, or a new one from the sequence for each (first-seen). */
  bearer?: string | TokenSequence;
}

export interface LoadResult {
  completed: number;
  /** 200 responses carrying the right answer to their own request. */
  correct: number;
  wrong: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMicros: number;
  /** Busy time of the server's core not spent by the server: other processes competing with it. */
  otherCoreMicros: number;
  /** CPU used by this (load generator) process over the window, for spotting a client bottleneck. */
  generatorCpuMicros: number;
  /** Requests that found the first-seen token sequence empty (sent without a token, so refused). */
  missingTokens: number;
}

interface CallContext {
  id?: number;
}

export async function runLoad(pid: number, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const tally = { correct: 0, wrong: 0 };
  const cpuBefore = cpuMicros(pid);
  const coreBefore = coreBusyMicros(options.serverCore);
  const generatorBefore = cpuMicros(process.pid);
  const missingBefore = options.bearer instanceof TokenSequence ? options.bearer.missing : 0;
  const startedAt = process.hrtime.bigint();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 10 }),
    timeout: 10,
    requests: [echoRequest(options, tally)],
  });
  instance.on("response", (_client, _status, _bytes, responseTimeMs) => latencies.push(responseTimeMs));
  const result = await instance;
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const serverCpuMicros = cpuMicros(pid) - cpuBefore;
  const otherCoreMicros = Math.max(0, coreBusyMicros(options.serverCore) - coreBefore - serverCpuMicros);
  const generatorCpuMicros = cpuMicros(process.pid) - generatorBefore;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    correct: tally.correct,
    wrong: tally.wrong,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    serverCpuMicros,
    otherCoreMicros,
    generatorCpuMicros,
    missingTokens: options.bearer instanceof TokenSequence ? options.bearer.missing - missingBefore : 0,
  };
}

/** One autocannon request template: a fresh id (and token, for first-seen) per request, every answer checked against it. */
function echoRequest(options: LoadOptions, tally: { correct: number; wrong: number }): autocannon.Request<CallContext> {
  const { bearer } = options;
  const sequence = bearer instanceof TokenSequence ? bearer : undefined;
  return {
    method: "POST",
    path: new URL(options.url).pathname,
    headers: callHeaders(options.sessionId, typeof bearer === "string" ? bearer : undefined),
    setupRequest: (request, context) => {
      const id = options.nextId();
      context.id = id;
      const token = sequence?.next();
      const headers = token === undefined ? request.headers : { ...request.headers, authorization: `Bearer ${token}` };
      return { ...request, headers, body: echoCall(id) };
    },
    onResponse: (status, body, context) => {
      if (status === 200 && context.id !== undefined && isEchoAnswer(body, context.id)) tally.correct++;
      else tally.wrong++;
    },
  };
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

export function isValid(result: LoadResult): boolean {
  return result.completed > 0 && result.wrong === 0 && result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.missingTokens === 0;
}
