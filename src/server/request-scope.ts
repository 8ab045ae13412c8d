import type { ProgressToken, RequestId, ServerNotification, StandardSchemaV1 } from "@modelcontextprotocol/server";
import type { AccessToken } from "../auth/access-token.js";
import type { SessionState } from "./session-state.js";

/**
 * Everything one in-flight MCP request needs from the transport that carries it. Both ways a
 * request reaches the dispatcher (the SDK protocol server, and the HTTP fast lane) build one.
 */
export interface RequestScope {
  readonly requestId: RequestId;
  readonly sessionId: string | undefined;
  readonly signal: AbortSignal;
  readonly auth: AccessToken | undefined;
  readonly httpRequest: Request | undefined;
  readonly progressToken: ProgressToken | undefined;
  readonly session: SessionState;
  /** The transport already decided this caller may use the component (it checks before dispatch). */
  readonly accessChecked?: boolean;
  /** Sends a notification tied to this request (progress, log messages). */
  notify(notification: ServerNotification): Promise<void>;
  /** Sends a request to the client tied to this request (sampling, elicitation, roots). */
  request<S extends StandardSchemaV1>(
    request: { method: string; params?: Record<string, unknown> },
    resultSchema: S,
  ): Promise<StandardSchemaV1.InferOutput<S>>;
  /** Closes this request's SSE stream so the client reconnects and resumes (SEP-1699 polling). */
  closeStream(): void;
}
