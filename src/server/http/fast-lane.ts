import {
  CallToolRequestParamsSchema,
  GetPromptRequestParamsSchema,
  PaginatedRequestParamsSchema,
  ReadResourceRequestParamsSchema,
} from "@modelcontextprotocol/core";
import {
  ProtocolErrorCode,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type ProgressToken,
  type RequestId,
  type ServerNotification,
  type StandardSchemaV1,
} from "@modelcontextprotocol/server";
import type * as z from "zod";
import type { AccessToken } from "../../auth/access-token.js";
import type { Dispatcher } from "../dispatcher.js";
import type { RequestScope } from "../request-scope.js";
import type { SessionState } from "../session-state.js";
import type { Exchange } from "./exchange.js";
import type { HttpSession } from "./http-session.js";
import { jsonRpcError } from "./json-rpc.js";

type Handler = (dispatcher: Dispatcher, params: unknown, scope: RequestScope) => unknown;

interface Route {
  readonly params: z.ZodType;
  readonly handle: Handler;
}

const optionalPaging = PaginatedRequestParamsSchema.optional();

/**
 * The methods the fast lane answers: the ones an MCP server serves all day. The rest (initialize,
 * completion, subscriptions, logging level...) go through the SDK protocol server.
 */
const ROUTES: Record<string, Route> = {
  "tools/call": { params: CallToolRequestParamsSchema, handle: (d, p, s) => d.callTool(p as never, s) },
  "tools/list": { params: optionalPaging, handle: (d, _p, s) => d.listTools(s) },
  "resources/list": { params: optionalPaging, handle: (d, _p, s) => d.listResources(s) },
  "resources/templates/list": { params: optionalPaging, handle: (d, _p, s) => d.listResourceTemplates(s) },
  "resources/read": { params: ReadResourceRequestParamsSchema, handle: (d, p, s) => d.readResource((p as { uri: string }).uri, s) },
  "prompts/list": { params: optionalPaging, handle: (d, _p, s) => d.listPrompts(s) },
  "prompts/get": { params: GetPromptRequestParamsSchema, handle: (d, p, s) => d.getPrompt(p as never, s) },
  ping: { params: optionalPaging, handle: () => ({}) },
};

/**
 * Runs the everyday MCP methods straight from the HTTP layer into the dispatcher, skipping the
 * SDK protocol layer's per-request machinery (context objects, abort controllers, re-validation),
 * which costs more than the rest of a request put together. The dispatcher is the same one the
 * SDK path calls, so both paths answer identically; the SDK server is still used for requests to
 * the client (sampling, elicitation) so their responses are matched as usual.
 */
export class FastLane {
  constructor(private readonly dispatcher: Dispatcher) {}

  handles(method: string): boolean {
    return Object.hasOwn(ROUTES, method);
  }

  /**
   * The request, if `value` is a JSON-RPC request for a fast-lane method. Only the envelope is
   * checked here; `run` validates the params with the method's own schema, so the message is not
   * parsed twice.
   */
  request(value: unknown): JSONRPCRequest | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const { jsonrpc, id, method, params } = value as Record<string, unknown>;
    if (jsonrpc !== "2.0" || typeof method !== "string" || !Object.hasOwn(ROUTES, method)) return undefined;
    if (typeof id !== "string" && !Number.isSafeInteger(id)) return undefined;
    if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params))) return undefined;
    return value as JSONRPCRequest;
  }

  run(message: JSONRPCRequest, exchange: Exchange, session: HttpSession, httpRequest: Request, auth: AccessToken | undefined, accessChecked: boolean): void {
    const route = ROUTES[message.method]!;
    const abort = new LazyAbort();
    const id = session.transport.track(exchange, message.id, abort);
    const parsed = route.params.safeParse(message.params);
    if (!parsed.success) {
      session.transport.complete(id, jsonRpcError(message.id, ProtocolErrorCode.InvalidParams, `Invalid params for ${message.method}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ")}`));
      return;
    }
    const params = parsed.data as { _meta?: { progressToken?: ProgressToken } } | undefined;
    const scope = new FastLaneScope(id, message.id, session, exchange, httpRequest, auth, params?._meta?.progressToken, abort, accessChecked);
    let result: unknown;
    try {
      result = route.handle(this.dispatcher, parsed.data, scope);
    } catch (error) {
      session.transport.complete(id, errorResponse(message.id, error));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => session.transport.complete(id, { jsonrpc: "2.0", id: message.id, result: value as Record<string, unknown> }),
        (error) => session.transport.complete(id, errorResponse(message.id, error)),
      );
    } else {
      session.transport.complete(id, { jsonrpc: "2.0", id: message.id, result: result as Record<string, unknown> });
    }
  }
}

/** The error the SDK protocol layer would send for the same thrown value. */
function errorResponse(id: RequestId, error: unknown): JSONRPCMessage & { id: RequestId } {
  const { code, message, data } = error as { code?: unknown; message?: unknown; data?: unknown };
  return jsonRpcError(
    id,
    Number.isSafeInteger(code) ? (code as number) : ProtocolErrorCode.InternalError,
    typeof message === "string" && message ? message : "Internal error",
    data,
  );
}

/** An AbortController made only if a handler looks at `ctx.signal` or the request is cancelled. */
class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

class FastLaneScope implements RequestScope {
  readonly sessionId: string | undefined;
  readonly session: SessionState;

  constructor(
    private readonly internalId: number,
    readonly requestId: RequestId,
    private readonly httpSession: HttpSession,
    private readonly exchange: Exchange,
    readonly httpRequest: Request,
    readonly auth: AccessToken | undefined,
    readonly progressToken: ProgressToken | undefined,
    private readonly abort: LazyAbort,
    readonly accessChecked: boolean,
  ) {
    this.sessionId = httpSession.id;
    this.session = httpSession.state;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Routed as the SDK path routes it: on this request's stream, else (a JSON answer, or after it) the session's GET stream. */
  notify(notification: ServerNotification): Promise<void> {
    return this.httpSession.transport.send({ jsonrpc: "2.0", ...notification } as JSONRPCMessage, { relatedRequestId: this.internalId });
  }

  request<S extends StandardSchemaV1>(request: { method: string; params?: Record<string, unknown> }, resultSchema: S): Promise<StandardSchemaV1.InferOutput<S>> {
    return this.httpSession.server.request(request as never, resultSchema, { relatedRequestId: this.internalId, signal: this.signal });
  }

  closeStream(): void {
    this.exchange.closeStream();
  }
}
