import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { EventStream, type EventStreamOptions } from "./event-stream.js";

/**
 * How a POST is answered: `auto` sends one JSON body unless something must be streamed before the
 * result (progress, logs, a request to the client), `sse` always streams, `json` never does.
 */
export type ResponseMode = "auto" | "json" | "sse";

export interface ExchangeOptions {
  mode: ResponseMode;
  /** The client listed text/event-stream in Accept. */
  canStream: boolean;
  /** The body was a JSON-RPC batch: answer with an array. */
  batch: boolean;
  /** Headers of every answer: the session id. */
  headers: Record<string, string>;
  /** Headers of a JSON answer: the content type and the session id. */
  jsonHeaders: Record<string, string>;
  /** The client can resume a closed stream (a session whose streams are primed), so closing one mid-request loses nothing. */
  resumable: boolean;
  /** Builds the event stream if the exchange upgrades to SSE. */
  stream: () => EventStream;
}

/**
 * The answer to one POST carrying requests. It resolves `response` either with a JSON body once
 * every request is answered or cancelled, or with an SSE stream as soon as something must be
 * streamed.
 */
export class Exchange {
  readonly response: Promise<Response>;
  private settle!: (response: Response) => void;
  private settled = false;
  private expected = 0;
  /** False while requests are still being added: answers that come early must not end the exchange. */
  private sealed = false;
  private readonly answers: JSONRPCMessage[] = [];
  private stream: EventStream | undefined;

  constructor(private readonly options: ExchangeOptions) {
    this.response = new Promise((resolve) => { this.settle = resolve; });
    if (options.mode === "sse" && options.canStream) this.upgrade();
  }

  get done(): boolean {
    return this.sealed && this.answers.length === this.expected;
  }

  /** Registers one more request this exchange must answer. */
  expect(): void {
    this.expected++;
  }

  /** Every request has been registered: the exchange may end once they are all answered. */
  seal(): void {
    this.sealed = true;
    if (this.done) this.finish();
  }

  /**
   * One of the exchange's requests was cancelled: it is never answered (the spec's rule), and the
   * exchange stops waiting for it, so the POST ends once the others are answered.
   */
  withdraw(): void {
    this.expected--;
    if (this.done) this.finish();
  }

  /** Delivers the final response to one of the exchange's requests. */
  respond(message: JSONRPCMessage): void {
    this.answers.push(message);
    this.stream?.send(message);
    if (this.done) this.finish();
  }

  private finish(): void {
    if (this.stream) this.stream.finish();
    else this.settleJson();
  }

  /**
   * Streams a message sent while a request runs. Returns false when it cannot be delivered on this
   * exchange (the client does not accept SSE, the mode is `json`, or the exchange is over).
   */
  emit(message: JSONRPCMessage): boolean {
    if (this.done) return false;
    if (!this.stream && !this.upgrade()) return false;
    this.stream!.send(message);
    return true;
  }

  /** Closes the client's connection mid-request so it reconnects and resumes (SEP-1699 polling). */
  closeStream(): void {
    if (this.done || !this.options.resumable) return;
    if (!this.stream && !this.upgrade()) return;
    this.stream!.detach();
  }

  private upgrade(): boolean {
    if (this.settled || !this.options.canStream || this.options.mode === "json") return false;
    this.stream = this.options.stream();
    this.settled = true;
    this.settle(this.stream.open());
    return true;
  }

  private settleJson(): void {
    if (this.settled) return;
    this.settled = true;
    // Every request was cancelled: nothing to say, as for a POST of notifications.
    if (this.answers.length === 0) {
      this.settle(new Response(null, { status: 202, headers: this.options.headers }));
      return;
    }
    const body = this.options.batch ? this.answers : this.answers[0];
    this.settle(new Response(JSON.stringify(body), { status: 200, headers: this.options.jsonHeaders }));
  }
}

export type { EventStreamOptions };
