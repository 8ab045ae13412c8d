import { InMemoryTransport, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { FastMCPError } from "../errors.js";
import type { FastMCP } from "../server/fastmcp.js";
import type { OAuth } from "./auth/oauth.js";

/** A server to talk to, as a stdio command. */
export interface StdioTarget {
  command: string;
  args?: string[];
  /** Environment for the child; merged over a minimal safe default (PATH, HOME...). */
  env?: Record<string, string>;
  cwd?: string;
  /** What to do with the child's stderr. Default "inherit". */
  stderr?: "inherit" | "pipe" | "ignore";
}

/** An http(s) URL (Streamable HTTP; a path ending in /sse uses SSE), a stdio command, or a FastMCP instance (in memory). */
export type ClientTarget = string | URL | StdioTarget | FastMCP;

export interface TransportSettings {
  headers: Record<string, string>;
  /** The bearer token, for in-memory targets (HTTP targets get it in `headers`). */
  bearerToken?: string | undefined;
  /** Force a transport for URLs instead of guessing from the path. */
  transport: "http" | "sse" | undefined;
  /** OAuth for HTTP targets. */
  oauth?: OAuth | undefined;
}

/** A transport connected to nothing yet, plus what must happen when it is closed. */
export interface ClientConnection {
  readonly transport: Transport;
  readonly kind: "http" | "sse" | "stdio" | "memory";
  readonly description: string;
  /** Attach the server side (in-memory targets), once the client transport exists. */
  prepare?: () => Promise<void>;
}

export function connectionFor(target: ClientTarget, settings: TransportSettings): ClientConnection {
  if (isFastMCP(target)) {
    if (settings.oauth) throw new FastMCPError("OAuth needs an HTTP server: an in-memory server takes a bearer token (auth: \"<token>\") instead");
    return memoryConnection(target, settings.bearerToken);
  }
  if (typeof target === "string" || target instanceof URL) return urlConnection(toUrl(target), settings);
  if (typeof target === "object" && target !== null && typeof target.command === "string") {
    if (settings.oauth || Object.keys(settings.headers).length > 0) {
      throw new FastMCPError("HTTP headers and auth cannot be used with a stdio server: a stdio server runs as your own child process and is not authenticated (MCP authorization applies to HTTP transports only)");
    }
    return stdioConnection(target);
  }
  throw new TypeError("Client target must be an http(s) URL, a stdio command { command, args }, or a FastMCP instance");
}

/** A FastMCP instance by shape: one from another copy of the package fails `instanceof`. */
function isFastMCP(target: unknown): target is FastMCP {
  const candidate = target as Partial<Record<keyof FastMCP, unknown>> | null;
  return typeof candidate === "object" && candidate !== null
    && typeof candidate.connect === "function" && typeof candidate.tool === "function" && typeof candidate.httpApp === "function";
}

function toUrl(target: string | URL): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new FastMCPError(`Not a URL: ${String(target)} (expected something like http://127.0.0.1:8000/mcp)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FastMCPError(`Unsupported URL scheme ${url.protocol} (use http or https)`);
  return url;
}

function urlConnection(url: URL, settings: TransportSettings): ClientConnection {
  const kind = settings.transport ?? (/\/sse\/?$/.test(url.pathname) ? "sse" : "http");
  const requestInit: RequestInit = { headers: settings.headers };
  settings.oauth?.bind(url);
  // 403 insufficient_scope comes back to the Client, which steps up (see OAuth.stepUp).
  const auth = settings.oauth ? { authProvider: settings.oauth, onInsufficientScope: "throw" as const } : {};
  const transport = kind === "sse" ? new SSEClientTransport(url, { requestInit, ...auth }) : new StreamableHTTPClientTransport(url, { requestInit, ...auth });
  return { transport, kind, description: url.href };
}

function stdioConnection(target: StdioTarget): ClientConnection {
  const transport = new StdioClientTransport({
    command: target.command,
    args: target.args ?? [],
    ...(target.env ? { env: { ...safeEnvironment(), ...target.env } } : {}),
    ...(target.cwd ? { cwd: target.cwd } : {}),
    stderr: target.stderr ?? "inherit",
  });
  return { transport, kind: "stdio", description: [target.command, ...(target.args ?? [])].join(" ") };
}

function memoryConnection(server: Pick<FastMCP, "name" | "connect">, bearerToken: string | undefined): ClientConnection {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  return {
    transport: clientSide,
    kind: "memory",
    description: `in-memory "${server.name}"`,
    prepare: async () => { await server.connect(serverSide, bearerToken === undefined ? {} : { bearerToken }); },
  };
}

/** The variables a child needs to run, without leaking the parent's secrets. */
function safeEnvironment(): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "LANG", "NODE_OPTIONS", "SystemRoot", "APPDATA"];
  const env: Record<string, string> = {};
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return env;
}
