import { randomUUID } from "node:crypto";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/core";
import { ProtocolErrorCode, type JSONRPCMessage, type JSONRPCRequest, type MessageExtraInfo, type Transport } from "@modelcontextprotocol/server";
import type { Context as HonoContext } from "hono";
import type { AccessToken } from "../../auth/access-token.js";
import { toAuthInfo } from "../auth-info.js";
import type { ServerCore } from "../core.js";
import { createProtocolServer } from "../protocol-server.js";
import { SessionState } from "../session-state.js";
import { jsonRpcErrorResponse, readJsonBody } from "./json-rpc.js";
import { ownerOf } from "./session-owner.js";
import { insufficientScope } from "../../auth/bearer.js";
import { SseConnection } from "./sse-connection.js";

/** One legacy SSE connection: server messages go down the stream, client messages come by POST. */
class SseServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private closed = false;

  constructor(readonly sessionId: string, private readonly connection: SseConnection, readonly owner: string | undefined) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    this.connection.send(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.close();
    this.onclose?.();
  }
}

/**
 * The HTTP+SSE transport of protocol 2024-11-05 (`GET /sse` then `POST /messages/?session_id=`),
 * for clients that predate Streamable HTTP.
 */
export class SseEndpoint {
  private readonly connections = new Map<string, SseServerTransport>();

  constructor(private readonly fastmcp: ServerCore, private readonly messagePath: string, private readonly keepAliveMs: number) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  open = async (c: HonoContext, auth: AccessToken | undefined): Promise<Response> => {
    const sessionId = randomUUID().replaceAll("-", "");
    let transport: SseServerTransport | undefined;
    const connection = new SseConnection({}, this.keepAliveMs, () => void transport?.close());
    transport = new SseServerTransport(sessionId, connection, ownerOf(auth));
    const session = new SessionState(sessionId, true);
    const server = createProtocolServer(this.fastmcp.identity, this.fastmcp.dispatcher, session);
    this.fastmcp.track(server, session);
    await server.connect(transport);
    transport.onclose = chainClose(transport.onclose, () => this.connections.delete(sessionId));
    this.connections.set(sessionId, transport);
    connection.event("endpoint", `${this.messagePath}?session_id=${sessionId}`);
    return connection.response;
  };

  post = async (c: HonoContext, auth: AccessToken | undefined): Promise<Response> => {
    const sessionId = c.req.query("session_id");
    if (!sessionId) return jsonRpcErrorResponse(400, -32000, "Bad Request: the session_id query parameter is required");
    const transport = this.connections.get(sessionId);
    if (!transport || transport.owner !== ownerOf(auth)) return jsonRpcErrorResponse(404, -32001, "Session not found: open a new SSE connection");
    const read = await readJsonBody(c);
    if ("response" in read) return read.response;
    const body = read.body;
    const parsed = JSONRPCMessageSchema.safeParse(body);
    if (!parsed.success) return jsonRpcErrorResponse(400, ProtocolErrorCode.InvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message");
    const message = parsed.data as JSONRPCMessage;
    if (auth && this.fastmcp.auth && "method" in message && "id" in message) {
      const shortfall = await this.fastmcp.dispatcher.scopeShortfall([message as JSONRPCRequest], auth);
      if (shortfall.missing.length > 0) return insufficientScope(this.fastmcp.auth, auth, shortfall.missing);
    }
    const extra: MessageExtraInfo = { request: c.req.raw };
    if (auth) extra.authInfo = toAuthInfo(auth);
    transport.onmessage?.(message, extra);
    return new Response("Accepted", { status: 202, headers: { "content-type": "text/plain" } });
  };

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((transport) => transport.close()));
  }
}

function chainClose(first: (() => void) | undefined, second: () => void): () => void {
  return () => {
    first?.();
    second();
  };
}
