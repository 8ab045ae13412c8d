import type { JSONRPCMessage } from "@modelcontextprotocol/server";

const encoder = new TextEncoder();

export const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
} as const;

/**
 * One HTTP response body of Server-Sent Events. Knows nothing about resumption: it writes frames
 * until it is closed by us or the client goes away.
 */
export class SseConnection {
  readonly response: Response;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private open = true;

  constructor(headers: Record<string, string>, keepAliveMs: number, private readonly onDisconnect: () => void) {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => { this.controller = controller; },
      cancel: () => this.dropped(),
    });
    this.response = new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
    if (keepAliveMs > 0) {
      this.keepAlive = setInterval(() => this.write(": keepalive\n\n"), keepAliveMs);
      this.keepAlive.unref?.();
    }
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(message: JSONRPCMessage, eventId?: string): void {
    this.write(`event: message\n${eventId === undefined ? "" : `id: ${eventId}\n`}data: ${JSON.stringify(message)}\n\n`);
  }

  /** A named event with raw data (the legacy SSE transport's `endpoint` event). */
  event(name: string, data: string): void {
    this.write(`event: ${name}\ndata: ${data}\n\n`);
  }

  /** The SEP-1699 priming event: an id to resume from, empty data, and the reconnection delay. */
  prime(eventId: string, retryMs: number | undefined): void {
    this.write(`id: ${eventId}\n${retryMs === undefined ? "" : `retry: ${retryMs}\n`}data: \n\n`);
  }

  close(): void {
    if (!this.open) return;
    this.stop();
    try {
      this.controller.close();
    } catch {
      // already closed by the runtime
    }
  }

  private write(frame: string): void {
    if (!this.open) return;
    try {
      this.controller.enqueue(encoder.encode(frame));
    } catch {
      this.dropped();
    }
  }

  private dropped(): void {
    if (!this.open) return;
    this.stop();
    this.onDisconnect();
  }

  private stop(): void {
    this.open = false;
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
  }
}
