import { ProtocolErrorCode, type JSONRPCMessage, type MessageExtraInfo, type RequestId, type Transport, type TransportSendOptions } from "@modelcontextprotocol/server";
import type { EventStream } from "./event-stream.js";
import type { Exchange } from "./exchange.js";

interface PendingRequest {
  readonly exchange: Exchange;
  readonly originalId: RequestId;
  /** Set for requests run by the fast lane, which the SDK protocol layer cannot cancel. */
  readonly abort?: AbortController;
}

/**
 * The SDK `Transport` behind one HTTP session (or the one shared by a stateless server). Every
 * request gets a fresh internal id, so concurrent clients cannot collide and every message the
 * server sends finds the exchange it belongs to: responses by id, related messages by
 * `relatedRequestId`, the rest on the session's GET stream.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** Called by the protocol server once initialize has negotiated a version. */
  setProtocolVersion?: (version: string) => void;
  /** The session's standalone GET stream, while one is open. */
  standalone: EventStream | undefined;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private closed = false;

  constructor(readonly sessionId: string | undefined) {}

  get inFlight(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {}

  /** Registers a request answered through `exchange`; returns the id the server will see. */
  track(exchange: Exchange, originalId: RequestId, abort?: AbortController): number {
    const id = this.nextId++;
    this.pending.set(id, abort ? { exchange, originalId, abort } : { exchange, originalId });
    exchange.expect();
    return id;
  }

  /** The id the client used for the request the server knows as `id`. */
  originalId(id: RequestId): RequestId {
    const pending = typeof id === "number" ? this.pending.get(id) : undefined;
    return pending ? pending.originalId : id;
  }

  /** Routes a message to the exchange of request `id`, if it is still running. */
  emitFor(id: number, message: JSONRPCMessage): boolean {
    return this.pending.get(id)?.exchange.emit(message) ?? false;
  }

  /** Answers request `id` with `response`, which already carries the client's id, and forgets it. */
  complete(id: number, response: JSONRPCMessage): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    pending.exchange.respond(response);
  }

  /** Hands a client message to the protocol server; requests are re-numbered and tracked first. */
  deliver(message: JSONRPCMessage, exchange: Exchange | undefined, extra: MessageExtraInfo): void {
    if ("method" in message && "id" in message && exchange) {
      const id = this.track(exchange, message.id);
      this.onmessage?.({ ...message, id }, extra);
      return;
    }
    if ("method" in message && message.method === "notifications/cancelled") {
      // Without a session, a cancellation cannot be tied to the client that sent the request.
      if (this.sessionId === undefined) return;
      const internal = this.internalIdOf(message.params?.requestId as RequestId | undefined);
      if (internal === undefined) return;
      const pending = this.withdraw(internal);
      if (pending.abort) pending.abort.abort(message.params?.reason);
      else this.onmessage?.({ ...message, params: { ...message.params, requestId: internal } }, extra);
      return;
    }
    this.onmessage?.(message, extra);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return;
    if ("result" in message || "error" in message) {
      // A response to nothing pending answers a cancelled request: the client must not get it.
      const pending = typeof message.id === "number" ? this.pending.get(message.id) : undefined;
      if (pending) this.complete(message.id as number, { ...message, id: pending.originalId } as JSONRPCMessage);
      return;
    }
    const related = options?.relatedRequestId;
    if (typeof related === "number" && this.emitFor(related, message)) return;
    this.standalone?.send(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values()) {
      pending.abort?.abort(new Error("session closed"));
      pending.exchange.respond({ jsonrpc: "2.0", id: pending.originalId, error: { code: ProtocolErrorCode.InternalError, message: "The session was closed before the request finished" } });
    }
    this.pending.clear();
    this.standalone?.close();
    this.standalone = undefined;
    this.onclose?.();
  }

  /**
   * Forgets a cancelled request, as the SDK's own transports settle one on a delivered
   * cancellation: it gets no response and its POST no longer waits for it.
   */
  private withdraw(id: number): PendingRequest {
    const pending = this.pending.get(id)!;
    this.pending.delete(id);
    pending.exchange.withdraw();
    return pending;
  }

  private internalIdOf(originalId: RequestId | undefined): number | undefined {
    if (originalId === undefined) return undefined;
    for (const [id, pending] of this.pending) if (pending.originalId === originalId) return id;
    return undefined;
  }
}
