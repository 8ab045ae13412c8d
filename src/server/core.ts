import type { Server, Transport } from "@modelcontextprotocol/server";
import type { Handler } from "hono/types";
import type { AuthProvider } from "../auth/provider.js";
import type { Dispatcher } from "./dispatcher.js";
import type { HttpAppOptions } from "./http/options.js";
import type { ServerIdentity } from "./protocol-server.js";
import type { SessionState } from "./session-state.js";

/**
 * What the transports (`run()`, the HTTP app and its endpoints) need of a server. FastMCP has it;
 * the transports know nothing else of FastMCP, so imports point one way: FastMCP on top.
 */
export interface ServerCore {
  readonly name: string;
  readonly auth: AuthProvider | undefined;
  readonly statelessHttp: boolean;
  readonly dispatcher: Dispatcher;
  readonly identity: ServerIdentity;
  readonly httpDefaults: Omit<HttpAppOptions, "transport">;
  readonly customRoutes: ReadonlyArray<{ method: string; path: string; handler: Handler }>;
  /** Connects a protocol server for one connection (stdio, in-memory) to `transport`. */
  connect(transport: Transport, options?: { sessionId?: string; bearerToken?: string; stdio?: boolean }): Promise<Server>;
  /** Registers a protocol server so it receives list_changed and resource update notifications. */
  track(server: Server, session: SessionState): void;
}
