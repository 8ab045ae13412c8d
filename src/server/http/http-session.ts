import type { Server } from "@modelcontextprotocol/server";
import type { ServerCore } from "../core.js";
import { createProtocolServer } from "../protocol-server.js";
import { SessionState } from "../session-state.js";
import { EventStream, parseEventId } from "./event-stream.js";
import { HttpSessionTransport } from "./session-transport.js";

export interface StreamSettings {
  retryMs: number | undefined;
  keepAliveMs: number;
  maxBuffered: number;
  resumeWindowMs: number;
}

/**
 * One Streamable HTTP session: its protocol server, transport and resumable streams. A stateless
 * server has a single anonymous instance whose streams are never resumable.
 */
export class HttpSession {
  readonly state: SessionState;
  readonly transport: HttpSessionTransport;
  readonly server: Server;
  readonly headers: Record<string, string>;
  readonly jsonHeaders: Record<string, string>;
  lastSeen = Date.now();
  private readonly streams = new Map<string, EventStream>();

  constructor(
    readonly id: string | undefined,
    fastmcp: ServerCore,
    private readonly settings: StreamSettings,
    /** The identity that opened the session (see session-owner.ts). */
    readonly owner: string | undefined = undefined,
    /** Whom the session counts against for the per-principal limit (see session-owner.ts). */
    readonly principal: string | undefined = undefined,
  ) {
    this.state = new SessionState(id, id !== undefined);
    this.transport = new HttpSessionTransport(id);
    this.server = createProtocolServer(fastmcp.identity, fastmcp.dispatcher, this.state, {
      originalRequestId: (requestId) => this.transport.originalId(requestId),
    });
    this.transport.setProtocolVersion = (version) => { this.state.protocolVersion = version; };
    this.headers = id === undefined ? {} : { "mcp-session-id": id };
    this.jsonHeaders = { "content-type": "application/json", ...this.headers };
    if (id !== undefined) fastmcp.track(this.server, this.state);
  }

  get resumable(): boolean {
    return this.id !== undefined;
  }

  /**
   * Streams start with a priming event (protocol 2025-11-25 on): only then does a client hold an
   * event id to resume from, so only then may the server close a stream mid-request.
   */
  get primes(): boolean {
    return this.resumable && (this.state.protocolVersion ?? "") >= "2025-11-25";
  }

  /** True while nothing runs and no GET stream is connected: the session may expire. */
  get idle(): boolean {
    return this.transport.inFlight === 0 && !this.transport.standalone?.hasLiveConnection;
  }

  async connect(): Promise<void> {
    await this.server.connect(this.transport);
  }

  /** A new event stream for this session (a POST answer or the GET stream). */
  newStream(): EventStream {
    const stream = new EventStream({
      resumable: this.resumable,
      prime: this.primes,
      retryMs: this.settings.retryMs,
      keepAliveMs: this.settings.keepAliveMs,
      headers: this.headers,
      maxBuffered: this.settings.maxBuffered,
      resumeWindowMs: this.settings.resumeWindowMs,
      onRelease: (released) => {
        this.streams.delete(released.id);
        if (this.transport.standalone === released) this.transport.standalone = undefined;
      },
    });
    if (this.resumable) this.streams.set(stream.id, stream);
    return stream;
  }

  /** Opens the GET stream for server-initiated messages; undefined if one is already connected. */
  openStandalone(): Response | undefined {
    const current = this.transport.standalone;
    if (current?.hasLiveConnection) return undefined;
    current?.close();
    const stream = this.newStream();
    this.transport.standalone = stream;
    return stream.open();
  }

  /** Resumes a stream after `lastEventId`; undefined if that stream or event is gone. */
  resume(lastEventId: string): Response | undefined {
    const parsed = parseEventId(lastEventId);
    if (!parsed) return undefined;
    return this.streams.get(parsed.streamId)?.resume(parsed.seq);
  }

  async close(): Promise<void> {
    for (const stream of [...this.streams.values()]) stream.close();
    await this.server.close();
  }
}
