import type { ClientCapabilities, Implementation, LoggingLevel } from "@modelcontextprotocol/server";
import type { AccessToken } from "../auth/access-token.js";

const LOG_SEVERITY: Record<LoggingLevel, number> = {
  debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7,
};

/**
 * What one MCP connection (a stdio pipe, an HTTP session, an in-memory pair) remembers between
 * requests. A stateless HTTP server has one shared, anonymous instance.
 */
export class SessionState {
  /** The level set by `logging/setLevel`; until then every message is sent. */
  logLevel: LoggingLevel | undefined;
  readonly subscriptions = new Set<string>();
  clientCapabilities: ClientCapabilities | undefined;
  clientInfo: Implementation | undefined;
  protocolVersion: string | undefined;

  constructor(
    readonly id: string | undefined,
    /** False for the shared state of a stateless HTTP server: it belongs to no client. */
    readonly belongsToClient: boolean,
    options: { enforceAccess?: boolean; auth?: AccessToken } = {},
  ) {
    this.enforceAccess = options.enforceAccess ?? true;
    this.auth = options.auth;
  }

  /** Whether component access rules apply: everywhere but stdio, which runs as its own user. */
  readonly enforceAccess: boolean;
  /** The token of a connection authenticated once for its lifetime (in-memory); HTTP sends one per request. */
  readonly auth: AccessToken | undefined;

  wantsLog(level: LoggingLevel): boolean {
    return this.logLevel === undefined || LOG_SEVERITY[level] >= LOG_SEVERITY[this.logLevel];
  }
}
