import { Hono } from "hono";
import { DEFAULT_MAX_REQUEST_BODY_SIZE } from "@modelcontextprotocol/server";
import type { FastMCP } from "../fastmcp.js";
import type { ResponseMode } from "./exchange.js";
import { createGate } from "./gate.js";
import { hostGuard } from "./host-guard.js";
import { MAX_BATCH_SIZE } from "./json-rpc.js";
import { SseEndpoint } from "./sse-endpoint.js";
import { StreamableEndpoint } from "./streamable-endpoint.js";

export interface HttpAppOptions {
  /** `http` (Streamable HTTP, the default) or `sse` (the legacy HTTP+SSE transport). */
  transport?: "http" | "sse";
  /** Where the MCP endpoint lives: `/mcp` for http, `/sse` for sse. */
  path?: string;
  /** Where SSE clients post messages (sse transport). Default `/messages/`. */
  messagePath?: string;
  /** Overrides the server's `statelessHttp` setting. */
  stateless?: boolean;
  /** `auto` (default): JSON unless something must stream first; `json`: never stream; `sse`: always stream. */
  responseMode?: ResponseMode;
  /** Largest accepted request body in bytes (413 beyond). Default 4 MiB. */
  maxBodyBytes?: number;
  /** Hostnames the Host header may name; enables DNS-rebinding protection. Set automatically for loopback binds. */
  allowedHosts?: string[];
  /** Hostnames a browser Origin may name. Set automatically for loopback binds. */
  allowedOrigins?: string[];
  /** Close sessions idle for this long (no request, no open stream). Default 30 minutes; 0 keeps them forever. */
  sessionIdleTimeoutMs?: number;
  /** Most concurrent sessions, all clients together; more initialize requests get 429. Default 10000. */
  maxSessions?: number;
  /**
   * Most concurrent sessions of one principal: the token's client and user with auth, the client's
   * IP address without (so behind a proxy, without auth, every client counts as the proxy). At the
   * limit, a new session replaces that principal's least recently used idle one; if none is idle,
   * initialize gets 429. Default 100.
   */
  maxSessionsPerPrincipal?: number;
  /** Most messages in one JSON-RPC batch; a larger batch is refused whole with 400. Default 100 ({@link MAX_BATCH_SIZE}). */
  maxBatchSize?: number;
  /** The reconnection delay announced to SSE clients. Default 1000 ms. */
  sseRetryMs?: number;
  /** Interval of SSE keep-alive comments. Default 15 s; 0 disables. */
  keepAliveMs?: number;
}

/** An HTTP app serving one FastMCP instance, with what the server needs to shut it down. */
export interface HttpApp {
  readonly app: Hono;
  /** MCP requests being handled right now. */
  inFlight(): number;
  close(): Promise<void>;
}


export function createHttpApp(fastmcp: FastMCP, options: HttpAppOptions = {}): HttpApp {
  const transport = options.transport ?? "http";
  const path = normalizePath(options.path ?? (transport === "sse" ? "/sse" : "/mcp"));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const app = new Hono();
  const hosts = options.allowedHosts || options.allowedOrigins ? { allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins } : undefined;

  for (const route of fastmcp.customRoutes) {
    if (hosts) app.on(route.method, route.path, hostGuard(hosts), route.handler);
    else app.on(route.method, route.path, route.handler);
  }

  // The provider learns where the MCP endpoint is (its resource URL), then its discovery routes
  // are served at this app's root; a server mounted under a prefix mounts mcp.wellKnownApp() at the origin root.
  fastmcp.auth?.bind(path);
  for (const route of fastmcp.auth?.routes() ?? []) app.on(route.method, route.path, route.handler);

  const gate = createGate({
    hosts,
    maxBodyBytes,
    provider: fastmcp.auth,
    onVerifierError: (error) => fastmcp.dispatcher.reportError(error, "token verification"),
  });

  if (transport === "sse") {
    const messagePath = normalizePath(options.messagePath ?? "/messages/");
    const sse = new SseEndpoint(fastmcp, messagePath, keepAliveMs);
    app.get(path, (c) => gate(c, (token) => sse.open(c, token)));
    for (const p of bothForms(messagePath)) app.post(p, (c) => gate(c, (token) => sse.post(c, token)));
    return { app, inFlight: () => 0, close: () => sse.close() };
  }

  const endpoint = new StreamableEndpoint(fastmcp, {
    stateless: options.stateless ?? fastmcp.statelessHttp,
    responseMode: options.responseMode ?? "auto",
    maxBodyBytes,
    sessionIdleTimeoutMs: options.sessionIdleTimeoutMs ?? 30 * 60_000,
    maxSessions: options.maxSessions ?? 10_000,
    maxSessionsPerPrincipal: options.maxSessionsPerPrincipal ?? 100,
    maxBatchSize: options.maxBatchSize ?? MAX_BATCH_SIZE,
    retryMs: options.sseRetryMs ?? 1_000,
    keepAliveMs,
    maxBuffered: 1_000,
    resumeWindowMs: 5 * 60_000,
  });
  for (const p of bothForms(path)) app.all(p, (c) => gate(c, (token) => endpoint.handle(c, token)));
  return { app, inFlight: () => endpoint.inFlight, close: () => endpoint.close() };
}

function normalizePath(path: string): string {
  if (!path.startsWith("/")) throw new TypeError(`HTTP paths must start with "/", got ${JSON.stringify(path)}`);
  return path;
}

/** `/mcp` and `/mcp/` both answer, without a redirect. */
function bothForms(path: string): string[] {
  if (path === "/") return ["/"];
  const bare = path.endsWith("/") ? path.slice(0, -1) : path;
  return [bare, `${bare}/`];
}
