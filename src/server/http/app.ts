import { Hono } from "hono";
import { DEFAULT_MAX_REQUEST_BODY_SIZE } from "@modelcontextprotocol/server";
import type { ServerCore } from "../core.js";
import type { HttpAppOptions } from "./options.js";
import { createGate } from "./gate.js";
import { hostGuard } from "./host-guard.js";
import { MAX_BATCH_SIZE } from "./json-rpc.js";
import { SseEndpoint } from "./sse-endpoint.js";
import { StreamableEndpoint } from "./streamable-endpoint.js";

export type { HttpAppOptions };

/** An HTTP app serving one FastMCP instance, with what the server needs to shut it down. */
export interface HttpApp {
  readonly app: Hono;
  /** MCP requests being handled right now. */
  inFlight(): number;
  close(): Promise<void>;
}


export function createHttpApp(fastmcp: ServerCore, options: HttpAppOptions = {}): HttpApp {
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
