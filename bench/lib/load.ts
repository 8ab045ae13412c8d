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
  /** Another request than the echo call (the token rows' POST /token), checking its own answers. */
  template?: (tally: Tally) => autocannon.Request<never>;
  /** What `template` hands out once per request: its `missing` count makes the window invalid. */
  pool?: TokenSequence<unknown>;
  /** A store server whose CPU time (and command count) over the window is measured too (Redis). */
  store?: { pid: number | undefined; commands: () => Promise<number | undefined> };
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
  /** Requests that found the first-seen token sequence (or the token row's pool) empty (so refused). */
  missingTokens: number;
  /** The store server's CPU time over the window (Redis rows), when its process is visible. */
  storeCpuMicros?: number;
  /** Commands the store server processed over the window (Redis rows; every client's). */
  storeCommands?: number;
}

/** Answers checked so far: correct ones, and every other (wrong status, wrong body). */
export interface Tally {
  correct: number;
  wrong: number;
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
  const sequence = options.bearer instanceof TokenSequence ? options.bearer : options.pool;
  const missingBefore = sequence?.missing ?? 0;
  const storePid = options.store?.pid;
  const storeBefore = storePid === undefined ? undefined : cpuMicros(storePid);
  const commandsBefore = await options.store?.commands();
  const startedAt = process.hrtime.bigint();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 10 }),
    timeout: 10,
    // autocannon notices that `amount` requests are done on its next sample tick (1 s by default):
    // ticking every 100 ms keeps the server idle for less of the window's tail.
    ...(options.amount !== undefined ? { sampleInt: 100 } : {}),
    requests: [options.template ? options.template(tally) : echoRequest(options, tally)],
  });
  let lastResponseAt = startedAt;
  instance.on("response", (_client, _status, _bytes, responseTimeMs) => {
    latencies.push(responseTimeMs);
    lastResponseAt = process.hrtime.bigint();
  });
  const result = await instance;
  // Up to the last answer, not to when autocannon stopped: rates and CPU shares are of the time requests were served.
  const seconds = Number(lastResponseAt - startedAt) / 1e9;
  const serverCpuMicros = cpuMicros(pid) - cpuBefore;
  const storeCpuMicros = storePid === undefined || storeBefore === undefined ? undefined : cpuMicros(storePid) - storeBefore;
  const commandsAfter = await options.store?.commands();
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
    missingTokens: (sequence?.missing ?? 0) - missingBefore,
    ...(storeCpuMicros === undefined ? {} : { storeCpuMicros }),
    ...(commandsBefore === undefined || commandsAfter === undefined ? {} : { storeCommands: commandsAfter - commandsBefore }),
  };
}

/** One autocannon request template: a fresh id (and token, for first-seen) per request, every answer checked against it. */
function echoRequest(options: LoadOptions, tally: Tally): autocannon.Request<CallContext> {
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
