import { randomUUID } from "node:crypto";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { SseConnection } from "./sse-connection.js";

export interface EventStreamOptions {
  /** Keep sent events so a client can resume with Last-Event-ID (stateful sessions). */
  resumable: boolean;
  /** Send the SEP-1699 priming event (clients on protocol 2025-11-25 and later). */
  prime: boolean;
  /** The `retry` delay to announce in the priming event. */
  retryMs: number | undefined;
  keepAliveMs: number;
  /** Response headers (Mcp-Session-Id). */
  headers: Record<string, string>;
  /** Most events kept for resumption; older ones are dropped. */
  maxBuffered: number;
  /** How long a finished stream stays resumable when its last events were not delivered live. */
  resumeWindowMs: number;
  /** Called once the stream has nothing left to resume. */
  onRelease: (stream: EventStream) => void;
}

interface BufferedEvent {
  readonly seq: number;
  readonly message: JSONRPCMessage;
}

/**
 * A logical SSE stream with event ids `<stream>_<n>`: what one POST's answer or the session's GET
 * stream carries. At most one live connection delivers it; if that connection goes away (the
 * client dropped, or the server closed it for polling), events wait in a bounded buffer until the
 * client reconnects with Last-Event-ID.
 */
export class EventStream {
  readonly id = randomUUID();
  private seq = 0;
  private readonly buffer: BufferedEvent[] = [];
  private live: SseConnection | undefined;
  private finished = false;
  private released = false;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: EventStreamOptions) {}

  get hasLiveConnection(): boolean {
    return this.live !== undefined;
  }

  /** Opens the first connection and returns its response. */
  open(): Response {
    const connection = this.connect();
    if (this.options.prime) connection.prime(this.eventId(0), this.options.retryMs);
    return connection.response;
  }

  send(message: JSONRPCMessage): void {
    const seq = ++this.seq;
    if (this.options.resumable) {
      this.buffer.push({ seq, message });
      if (this.buffer.length > this.options.maxBuffered) this.buffer.shift();
    }
    this.live?.send(message, this.options.resumable ? this.eventId(seq) : undefined);
  }

  /** Ends the live connection but keeps the stream: the client reconnects and resumes (polling). */
  detach(): void {
    const live = this.live;
    this.live = undefined;
    live?.close();
  }

  /** No more events. Released now if everything reached a live connection, later otherwise. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.live) {
      this.live.close();
      this.live = undefined;
      this.release();
    } else if (!this.options.resumable) {
      this.release();
    } else {
      this.releaseTimer = setTimeout(() => this.release(), this.options.resumeWindowMs);
      this.releaseTimer.unref?.();
    }
  }

  /**
   * Resumes after the event `lastSeq` on a new connection: replays what followed, then stays live
   * (or closes, if the stream has finished). Undefined when those events are no longer buffered.
   */
  resume(lastSeq: number): Response | undefined {
    if (this.released || lastSeq > this.seq) return undefined;
    const oldest = this.buffer[0]?.seq ?? this.seq + 1;
    if (lastSeq + 1 < oldest) return undefined;
    this.detach();
    const connection = this.connect();
    for (const event of this.buffer) if (event.seq > lastSeq) connection.send(event.message, this.eventId(event.seq));
    if (this.finished) {
      connection.close();
      this.live = undefined;
      this.release();
    }
    return connection.response;
  }

  /** Closes everything (session end). */
  close(): void {
    this.finished = true;
    this.detach();
    this.release();
  }

  private connect(): SseConnection {
    const connection = new SseConnection(this.options.headers, this.options.keepAliveMs, () => {
      if (this.live === connection) this.live = undefined;
      if (!this.options.resumable && !this.finished) this.close();
    });
    this.live = connection;
    return connection;
  }

  private eventId(seq: number): string {
    return `${this.id}_${seq}`;
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.buffer.length = 0;
    this.options.onRelease(this);
  }
}

/** Splits a Last-Event-ID into the stream it belongs to and the event's position. */
export function parseEventId(eventId: string): { streamId: string; seq: number } | undefined {
  const at = eventId.lastIndexOf("_");
  if (at <= 0) return undefined;
  const seq = Number(eventId.slice(at + 1));
  if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { streamId: eventId.slice(0, at), seq };
}
