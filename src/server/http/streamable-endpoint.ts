import { randomUUID } from "node:crypto";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/core";
import {
  createMcpHandler,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type McpHttpHandler,
  type MessageExtraInfo,
  type RequestId,
} from "@modelcontextprotocol/server";
import type { Context as HonoContext } from "hono";
import type { AccessToken } from "../../auth/access-token.js";
import { insufficientScope } from "../../auth/bearer.js";
import { toAuthInfo } from "../auth-info.js";
import type { ServerCore } from "../core.js";
import { createProtocolServer } from "../protocol-server.js";
import { SessionState } from "../session-state.js";
import { Exchange, type ResponseMode } from "./exchange.js";
import { FastLane } from "./fast-lane.js";
import { HttpSession, type StreamSettings } from "./http-session.js";
import { jsonRpcErrorResponse, readJsonBody } from "./json-rpc.js";
import { ALL_PROTOCOL_VERSIONS, LEGACY_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS, protocolEraOf, unsupportedVersionResponse } from "./protocol-version.js";
import { ownerOf, principalOf } from "./session-owner.js";
import { SessionTable, type SessionLimits } from "./session-table.js";
import { requestHeader } from "../../http/headers.js";
import { andThen, type MaybePromise } from "../maybe-promise.js";

export interface StreamableOptions extends StreamSettings, SessionLimits {
  stateless: boolean;
  responseMode: ResponseMode;
  maxBodyBytes: number;
  sessionIdleTimeoutMs: number;
  maxBatchSize: number;
}

const RETRY_LATER = { "retry-after": "30" };
const NOT_JSON_RPC = "Invalid Request: not a JSON-RPC 2.0 message";
const NOT_ACCEPTABLE_POST = "Not Acceptable: the client must accept application/json (and text/event-stream to receive streams)";

/**
 * The Streamable HTTP endpoint (`POST`/`GET`/`DELETE` on the MCP path) for the 2025 protocol
 * revisions, with sessions or without, plus the 2026-07-28 per-request era through the SDK.
 */
export class StreamableEndpoint {
  private readonly sessions: SessionTable;
  private readonly shared: HttpSession | undefined;
  private readonly fastLane: FastLane;
  private modern: McpHttpHandler | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly fastmcp: ServerCore, private readonly options: StreamableOptions) {
    this.fastLane = new FastLane(fastmcp.dispatcher);
    this.sessions = new SessionTable(options);
    if (options.stateless) {
      this.shared = new HttpSession(undefined, fastmcp, options);
      // connect() wires the transport synchronously before its first await, so no message can be missed.
      void this.shared.connect();
    }
  }

  /** Requests currently being handled, across all sessions. */
  get inFlight(): number {
    let count = this.shared?.transport.inFlight ?? 0;
    for (const session of this.sessions.values()) count += session.transport.inFlight;
    return count;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  handle = (c: HonoContext, auth: AccessToken | undefined): Response | Promise<Response> => {
    switch (c.req.method) {
      case "POST": return this.post(c, auth);
      case "GET": return this.get(c, auth);
      case "DELETE": return this.delete(c, auth);
      default: return this.methodNotAllowed();
    }
  };

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    const sessions = this.sessions.drain();
    await Promise.all([...sessions, ...(this.shared ? [this.shared] : [])].map((session) => session.close()));
    await this.modern?.close();
  }

  private async post(c: HonoContext, auth: AccessToken | undefined): Promise<Response> {
    const accept = requestHeader(c, "accept") ?? "";
    if (!acceptsJson(accept)) return jsonRpcErrorResponse(406, -32000, NOT_ACCEPTABLE_POST);
    const read = await readJsonBody(c);
    if ("response" in read) return read.response;
    const body = read.body;
    // Counted before any message is looked at: a huge batch costs nothing more than its parse.
    if (Array.isArray(body) && body.length > this.options.maxBatchSize) {
      return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, `Invalid Request: a batch may hold at most ${this.options.maxBatchSize} messages; this one has ${body.length}`);
    }
    const protocolHeader = requestHeader(c, "mcp-protocol-version");
    const era = protocolHeader === undefined ? undefined : protocolEraOf(protocolHeader);
    // initialize negotiates its version in the body; the SDK ignores the header there too.
    if (era === "unsupported" && !isInitialize(body)) {
      // A per-request-envelope request is told the versions server/discover lists; any other, every version served.
      return unsupportedVersionResponse(protocolHeader!, carriesEnvelopeClaim(body) ? MODERN_PROTOCOL_VERSIONS : ALL_PROTOCOL_VERSIONS, {}, requestIdOf(body));
    }
    if (era === "modern" || carriesEnvelopeClaim(body)) return this.postModern(c, body, auth);

    const batch = Array.isArray(body);
    const messages = this.messagesOf(body);
    if (messages instanceof Response) return messages;

    const initialize = messages.some((m) => "method" in m && m.method === "initialize");
    if (initialize && messages.length > 1) return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, "Invalid Request: initialize must be sent alone");
    const session = initialize ? await this.sessionForInitialize(c, auth) : this.sessionFor(c, auth);
    if (session instanceof Response) return session;
    session.lastSeen = Date.now();

    const requests = messages.filter((m): m is JSONRPCRequest => "method" in m && "id" in m);
    if (requests.length === 0) {
      const extra = sdkExtra(c, auth, undefined);
      for (const message of messages) session.transport.deliver(message, undefined, extra);
      return new Response(null, { status: 202, headers: session.headers });
    }

    const allowed = new Set<JSONRPCRequest>();
    const stepUp = this.stepUp(requests, auth, allowed);
    const refused = stepUp instanceof Promise ? await stepUp : stepUp;
    if (refused) return refused;

    const exchange = new Exchange({
      mode: this.options.responseMode,
      canStream: acceptsEventStream(accept),
      batch,
      headers: session.headers,
      jsonHeaders: session.jsonHeaders,
      resumable: session.primes,
      stream: () => session.newStream(),
    });
    let extra: MessageExtraInfo | undefined;
    for (const message of messages) {
      if ("method" in message && "id" in message && this.fastLane.handles(message.method)) {
        this.fastLane.run(message as JSONRPCRequest, exchange, session, c.req.raw, auth, allowed.has(message as JSONRPCRequest));
      } else {
        extra ??= sdkExtra(c, auth, exchange);
        session.transport.deliver(message, exchange, extra);
      }
    }
    exchange.seal();
    return exchange.response;
  }

  /**
   * A 2026-07-28 request goes to the SDK, after the step-up check. Only a well-formed JSON-RPC
   * request is checked; anything else is refused here or by the SDK, never half-read.
   */
  private async postModern(c: HonoContext, body: unknown, auth: AccessToken | undefined): Promise<Response> {
    // Batches are left to the SDK, which refuses them in this era.
    if (!Array.isArray(body)) {
      const parsed = JSONRPCMessageSchema.safeParse(body);
      if (!parsed.success) return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, NOT_JSON_RPC);
      const message = parsed.data as JSONRPCMessage;
      if ("method" in message && "id" in message) {
        const stepUp = this.stepUp([message], auth);
        const refused = stepUp instanceof Promise ? await stepUp : stepUp;
        if (refused) return refused;
      }
    }
    return this.servedModern(c, body, auth);
  }

  /**
   * Step-up happens here, before anything runs: a call the token lacks scopes for gets a 403
   * challenge naming them, which MCP clients answer by asking the user for a wider grant. The
   * requests found allowed are added to `allowed` (the fast lane then skips the same decision).
   * Synchronous unless an access check is: awaiting a plain value still costs a promise.
   */
  private stepUp(requests: readonly JSONRPCRequest[], auth: AccessToken | undefined, allowed?: Set<JSONRPCRequest>): MaybePromise<Response | undefined> {
    const provider = this.fastmcp.auth;
    if (!auth || !provider) return undefined;
    return andThen(this.fastmcp.dispatcher.scopeShortfall(requests, auth), (shortfall) => {
      if (shortfall.missing.length > 0) return insufficientScope(provider, auth, shortfall.missing);
      for (const request of shortfall.allowed) allowed?.add(request);
      return undefined;
    });
  }

  /** The JSON-RPC messages of a body, or the 400 refusing it. Fast-lane requests skip the full schema. */
  private messagesOf(body: unknown): JSONRPCMessage[] | Response {
    const fast = this.fastLane.request(body);
    if (fast) return [fast];
    const raw: unknown[] = Array.isArray(body) ? body : [body];
    if (raw.length === 0) return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, "Invalid Request: empty batch");
    const messages: JSONRPCMessage[] = [];
    for (const item of raw) {
      const parsed = JSONRPCMessageSchema.safeParse(item);
      if (!parsed.success) return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, NOT_JSON_RPC);
      messages.push(parsed.data as JSONRPCMessage);
    }
    return messages;
  }

  private get(c: HonoContext, auth: AccessToken | undefined): Response | Promise<Response> {
    if (this.options.stateless) return this.methodNotAllowed();
    if (!acceptsEventStream(requestHeader(c, "accept") ?? "", true)) {
      return jsonRpcErrorResponse(406, -32000, "Not Acceptable: the client must accept text/event-stream");
    }
    const session = this.sessionFor(c, auth);
    if (session instanceof Response) return session;
    const protocolHeader = requestHeader(c, "mcp-protocol-version");
    if (protocolHeader !== undefined && protocolEraOf(protocolHeader) !== "legacy") return unsupportedVersionResponse(protocolHeader, LEGACY_PROTOCOL_VERSIONS, session.headers);
    session.lastSeen = Date.now();
    const lastEventId = requestHeader(c, "last-event-id");
    if (lastEventId !== undefined) {
      return session.resume(lastEventId)
        ?? jsonRpcErrorResponse(404, -32000, "Not Found: that stream has expired or never existed; send the request again", session.headers);
    }
    return session.openStandalone()
      ?? jsonRpcErrorResponse(409, -32000, "Conflict: this session already has an open GET stream", session.headers);
  }

  private async delete(c: HonoContext, auth: AccessToken | undefined): Promise<Response> {
    if (this.options.stateless) return this.methodNotAllowed();
    const session = this.sessionFor(c, auth);
    if (session instanceof Response) return session;
    this.sessions.remove(session);
    await session.close();
    return new Response(null, { status: 204 });
  }

  private sessionFor(c: HonoContext, auth: AccessToken | undefined): HttpSession | Response {
    if (this.shared) return this.shared;
    const id = requestHeader(c, "mcp-session-id");
    if (id === undefined) return jsonRpcErrorResponse(400, -32000, "Bad Request: the Mcp-Session-Id header is required (send initialize first)");
    const session = this.sessions.get(id);
    if (!session || session.owner !== ownerOf(auth)) return jsonRpcErrorResponse(404, -32001, "Session not found: it expired or was closed; initialize a new one");
    return session;
  }

  private async sessionForInitialize(c: HonoContext, auth: AccessToken | undefined): Promise<HttpSession | Response> {
    if (this.shared) return this.shared;
    if (requestHeader(c, "mcp-session-id") !== undefined) {
      return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, "Invalid Request: initialize starts a new session and must not carry an Mcp-Session-Id");
    }
    if (this.closed) return jsonRpcErrorResponse(503, -32000, "The server is shutting down");
    const principal = principalOf(c, auth);
    const refusal = this.sessions.admit(principal);
    if (refusal === "principal") {
      return jsonRpcErrorResponse(429, -32000, `Too many open sessions for this client: all ${this.options.maxSessionsPerPrincipal} are busy; end one with DELETE or try again later`, RETRY_LATER);
    }
    if (refusal === "server") return jsonRpcErrorResponse(429, -32000, "Too many open sessions: try again later", RETRY_LATER);
    const session = new HttpSession(randomUUID(), this.fastmcp, this.options, ownerOf(auth), principal);
    this.sessions.add(session);
    session.server.onclose = chain(session.server.onclose, () => this.sessions.remove(session));
    await session.connect();
    this.startSweeper();
    return session;
  }

  /** 2026-07-28 requests go to the SDK's per-request handler, built from the same dispatcher. */
  private servedModern(c: HonoContext, body: unknown, auth: AccessToken | undefined): Promise<Response> {
    this.modern ??= createMcpHandler(
      () => createProtocolServer(this.fastmcp.identity, this.fastmcp.dispatcher, new SessionState(undefined, false)),
      { legacy: "reject", responseMode: this.options.responseMode, maxRequestBodySize: this.options.maxBodyBytes },
    );
    return this.modern.fetch(c.req.raw, auth ? { parsedBody: body, authInfo: toAuthInfo(auth) } : { parsedBody: body });
  }

  private methodNotAllowed(): Response {
    const allow = this.options.stateless ? "POST" : "GET, POST, DELETE";
    return jsonRpcErrorResponse(405, -32000, `Method Not Allowed: use ${allow}`, { allow });
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined || this.options.sessionIdleTimeoutMs <= 0) return;
    const every = Math.min(60_000, Math.max(1_000, this.options.sessionIdleTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sessions.expireIdleSince(Date.now() - this.options.sessionIdleTimeoutMs), every);
    this.sweeper.unref?.();
  }
}

/** What the SDK protocol server is told about a message's HTTP context. */
function sdkExtra(c: HonoContext, auth: AccessToken | undefined, exchange: Exchange | undefined): MessageExtraInfo {
  const extra: MessageExtraInfo = { request: c.req.raw };
  if (auth) extra.authInfo = toAuthInfo(auth);
  if (exchange) extra.closeSSEStream = () => exchange.closeStream();
  return extra;
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return () => {
    first?.();
    second();
  };
}

/** A POST may be answered with JSON when the client accepts it (or anything). */
function acceptsJson(accept: string): boolean {
  return accept === "" || accept.includes("application/json") || accept.includes("*/*") || accept.includes("application/*");
}

function acceptsEventStream(accept: string, strict = false): boolean {
  return accept.includes("text/event-stream") || (!strict && accept.includes("*/*"));
}

/** Whether a body claims the 2026-07-28 per-request envelope (a version in `params._meta`). */
function carriesEnvelopeClaim(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const params = (body as { params?: unknown }).params;
  if (typeof params !== "object" || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  return typeof meta === "object" && meta !== null && PROTOCOL_VERSION_META_KEY in meta;
}

/** The id of a single JSON-RPC request, for an error that answers it before it is parsed further. */
function requestIdOf(body: unknown): RequestId | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const { id } = body as { id?: unknown };
  return typeof id === "string" || Number.isSafeInteger(id) ? (id as RequestId) : null;
}

function isInitialize(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { method?: unknown }).method === "initialize";
}
