import type { ResponseMode } from "./exchange.js";

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
