import type { AddressInfo } from "node:net";
import type { Server as NodeHttpServer } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { PortInUseError } from "../errors.js";
import type { ServerCore } from "./core.js";
import { createHttpApp, type HttpAppOptions } from "./http/app.js";
import { isLoopbackHost, loopbackGuard } from "./http/host-guard.js";

export type TransportName = "stdio" | "http" | "sse";

export interface RunOptions extends Omit<HttpAppOptions, "transport"> {
  /** `stdio` (default), `http` (Streamable HTTP) or `sse`. `streamable-http` is accepted for `http`. */
  transport?: TransportName | "streamable-http";
  /** Interface to bind. Default 127.0.0.1 (loopback binds get DNS-rebinding protection). */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8000. */
  port?: number;
  /** Stop gracefully on SIGINT/SIGTERM (in-flight calls finish). Default true. */
  handleSignals?: boolean;
  /** How long a graceful stop waits for in-flight calls. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Print the listening address on stderr. Default true for HTTP transports. */
  banner?: boolean;
}

export interface RunningServer {
  readonly transport: TransportName;
  /** The MCP endpoint URL (HTTP transports). */
  readonly url: string | undefined;
  readonly port: number | undefined;
  /** Stops accepting work, lets in-flight calls finish, then closes. */
  close(): Promise<void>;
  /** Resolves once the server has stopped. */
  readonly closed: Promise<void>;
}

/** Set by the CLI before it loads a server file, so the file's own run() call uses the CLI's flags. */
export const RUN_OVERRIDE = Symbol.for("fastmcp-ts.run-override");

/** What the CLI may put under {@link RUN_OVERRIDE}. */
export interface RunOverride extends RunOptions {
  /** Load the file to inspect it (`list`, `call`): its own run() call starts nothing. */
  inspectOnly?: boolean;
}

export async function runServer(fastmcp: ServerCore, requested: RunOptions): Promise<RunningServer> {
  const override = (globalThis as Record<symbol, RunOverride | undefined>)[RUN_OVERRIDE];
  if (override?.inspectOnly) return idleServer();
  const options = { ...requested, ...override };
  const transport = normalizeTransport(options.transport ?? "stdio");
  const running = transport === "stdio" ? await runStdio(fastmcp) : await runHttp(fastmcp, transport, options);
  if (options.handleSignals ?? true) stopOnSignals(running);
  return running;
}

function idleServer(): RunningServer {
  return { transport: "stdio", url: undefined, port: undefined, close: async () => undefined, closed: Promise.resolve() };
}

function normalizeTransport(transport: string): TransportName {
  if (transport === "streamable-http") return "http";
  if (transport === "stdio" || transport === "http" || transport === "sse") return transport;
  throw new TypeError(`Unknown transport ${JSON.stringify(transport)}: use "stdio", "http" or "sse"`);
}

async function runStdio(fastmcp: ServerCore): Promise<RunningServer> {
  const transport = new StdioServerTransport();
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => { markClosed = resolve; });
  const server = await fastmcp.connect(transport, { stdio: true });
  const previous = server.onclose;
  server.onclose = () => {
    previous?.();
    markClosed();
  };
  process.stdin.once("end", () => void server.close());
  return {
    transport: "stdio",
    url: undefined,
    port: undefined,
    closed,
    close: async () => {
      await server.close();
      await closed;
    },
  };
}

async function runHttp(fastmcp: ServerCore, transport: "http" | "sse", options: RunOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const guard = isLoopbackHost(host) && !options.allowedHosts && !options.allowedOrigins ? loopbackGuard() : {};
  // Listen first: an auth provider without a baseUrl takes the URL it is served at (port 0 included).
  let serve: ((request: Request, env: unknown) => Response | Promise<Response>) | undefined;
  let started: Promise<void> | undefined;
  let app: ReturnType<typeof createHttpApp> | undefined;
  const server = createAdaptorServer({ fetch: (request: Request, env: unknown) => serve ? serve(request, env) : started!.then(() => serve!(request, env)) }) as NodeHttpServer;
  await listen(server, host, options.port ?? 8000);
  const address = server.address() as AddressInfo;
  const origin = isWildcardHost(host) ? undefined : `http://${formatHost(host)}:${address.port}`;
  started = (async () => {
    fastmcp.auth?.serveAt(origin);
    // A misconfigured provider (an encryption key that opens nothing in its store) fails here, not on each request.
    await fastmcp.auth?.ready();
    const http = createHttpApp(fastmcp, { ...fastmcp.httpDefaults, ...guard, ...options, transport });
    serve = http.app.fetch;
    app = http;
  })();
  try {
    await started;
  } catch (error) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const http = app!;
  const path = options.path ?? fastmcp.httpDefaults.path ?? (transport === "sse" ? "/sse" : "/mcp");
  const url = `http://${formatHost(host)}:${address.port}${path}`;
  if (options.banner ?? true) process.stderr.write(`fastmcp-ts: "${fastmcp.name}" serving ${transport === "sse" ? "SSE" : "Streamable HTTP"} at ${url}\n`);

  let closing: Promise<void> | undefined;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => { markClosed = resolve; });
  const close = () => (closing ??= (async () => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await waitFor(() => http.inFlight() === 0, options.shutdownTimeoutMs ?? 10_000);
    await http.close();
    server.closeAllConnections();
    await stopped;
    markClosed();
  })());
  return { transport, url, port: address.port, close, closed };
}

function listen(server: NodeHttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new PortInUseError(host, port) : error);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** An address that means "every interface": no URL a client could use. */
function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]" || host === "";
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

const stopping = new Set<RunningServer>();
let signalsInstalled = false;

/** One handler for all running servers: the first signal stops them gracefully, a second one forces exit. */
function stopOnSignals(running: RunningServer): void {
  stopping.add(running);
  void running.closed.then(() => stopping.delete(running));
  if (signalsInstalled) return;
  signalsInstalled = true;
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(signal === "SIGINT" ? 130 : 143);
    received = true;
    void Promise.all([...stopping].map((server) => server.close())).then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
