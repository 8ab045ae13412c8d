import { AsyncLocalStorage } from "node:async_hooks";
import {
  type ClientCapabilities,
  type CreateMessageRequestParamsBase,
  type CreateMessageResult,
  type ListRootsResult,
  type LoggingLevel,
  type ReadResourceResult,
  type RequestId,
  type SamplingMessage,
} from "@modelcontextprotocol/server";
import { CreateMessageResultSchema, ElicitResultSchema, ListRootsResultSchema } from "@modelcontextprotocol/core";
import type { AccessToken } from "../auth/access-token.js";
import { DownstreamTokenError, isDownstreamTokenSource, type DownstreamTokenRequest } from "../auth/downstream.js";
import type { AuthProvider } from "../auth/provider.js";
import { FastMCPError, NoActiveContextError } from "../errors.js";
import { compileSchema, type CompiledSchema, type InferSchema, type SchemaInput } from "./components/schema.js";
import type { RequestScope } from "./request-scope.js";

const storage = new AsyncLocalStorage<Context>();

/** The parts of the server a context reaches back into. */
export interface ContextHost {
  readonly name: string;
  /** The server's auth provider, if it has one. */
  readonly auth?: AuthProvider | undefined;
  readResource(uri: string, scope: RequestScope): Promise<ReadResourceResult>;
}

/** Sends MCP log messages (`notifications/message`) to the client, honouring its log level. */
export interface ContextLogger {
  debug(message: string, data?: Record<string, unknown>): Promise<void>;
  info(message: string, data?: Record<string, unknown>): Promise<void>;
  warning(message: string, data?: Record<string, unknown>): Promise<void>;
  error(message: string, data?: Record<string, unknown>): Promise<void>;
  /** Any MCP level, including notice, critical, alert and emergency. */
  at(level: LoggingLevel, message: string, data?: Record<string, unknown>): Promise<void>;
}

export type SampleOptions = Omit<CreateMessageRequestParamsBase, "messages" | "maxTokens"> & { maxTokens?: number };

export type ElicitResult<T> = { action: "accept"; content: T } | { action: "decline" } | { action: "cancel" };

/**
 * The per-request context every handler receives as `ctx`: who is calling, and how to talk back
 * to the client while the request runs.
 */
export class Context {
  readonly log: ContextLogger;

  constructor(private readonly scope: RequestScope, private readonly host: ContextHost) {
    const at = (level: LoggingLevel, message: string, data?: Record<string, unknown>) => this.sendLog(level, message, data);
    this.log = {
      debug: (message, data) => at("debug", message, data),
      info: (message, data) => at("info", message, data),
      warning: (message, data) => at("warning", message, data),
      error: (message, data) => at("error", message, data),
      at,
    };
  }

  /** The JSON-RPC id of the request being handled, as the client sent it. */
  get requestId(): RequestId {
    return this.scope.requestId;
  }

  /** The MCP session id (Streamable HTTP with sessions, SSE); undefined on stdio and stateless HTTP. */
  get sessionId(): string | undefined {
    return this.scope.sessionId;
  }

  /** The caller's validated access token; undefined when the server has no auth. */
  get auth(): AccessToken | undefined {
    return this.scope.auth;
  }

  /**
   * A token for another API on the caller's behalf (RFC 8693 token exchange, Entra On-Behalf-Of,
   * or the identity provider's own token, as the server's auth is configured): send it to that
   * API as `Authorization: Bearer ...`. Cached until shortly before it expires; never log it.
   * Fails with a {@link DownstreamTokenError} whose message the tool can pass on.
   */
  async downstreamToken(request: DownstreamTokenRequest = {}): Promise<string> {
    const provider = this.host.auth;
    if (!isDownstreamTokenSource(provider)) {
      throw new DownstreamTokenError("not_supported", provider ? `${provider.constructor.name} cannot get tokens for other APIs` : "This server has no auth: there is no caller to get a token for");
    }
    return provider.downstreamToken(this.auth, request);
  }

  /** Aborted when the client cancels the request or disconnects. */
  get signal(): AbortSignal {
    return this.scope.signal;
  }

  /** The HTTP request that carried this MCP request (headers, URL); undefined on stdio. */
  get httpRequest(): Request | undefined {
    return this.scope.httpRequest;
  }

  /** What the client declared it supports at initialize. */
  get clientCapabilities(): ClientCapabilities | undefined {
    return this.scope.session.clientCapabilities;
  }

  /** Reports progress to a client that asked for it (a no-op otherwise). */
  async reportProgress(progress: number, total?: number, message?: string): Promise<void> {
    const progressToken = this.scope.progressToken;
    if (progressToken === undefined) return;
    const params: { progressToken: typeof progressToken; progress: number; total?: number; message?: string } = { progressToken, progress };
    if (total !== undefined) params.total = total;
    if (message !== undefined) params.message = message;
    await this.scope.notify({ method: "notifications/progress", params });
  }

  /** Asks the client's LLM to generate a message (MCP sampling). */
  async sample(messages: string | Array<string | SamplingMessage>, options: SampleOptions = {}): Promise<CreateMessageResult> {
    this.requireClientCapability("sampling", "sampling");
    const list = (typeof messages === "string" ? [messages] : messages).map((message) =>
      typeof message === "string" ? { role: "user" as const, content: { type: "text" as const, text: message } } : message,
    );
    const { maxTokens = 512, ...rest } = options;
    return this.scope.request({ method: "sampling/createMessage", params: { ...rest, messages: list, maxTokens } }, CreateMessageResultSchema);
  }

  /**
   * Asks the user for structured input through the client (MCP elicitation, form mode). The
   * schema is a flat object of primitives (zod or JSON Schema); accepted content is validated.
   */
  async elicit<S extends SchemaInput>(message: string, schema: S): Promise<ElicitResult<InferSchema<S>>> {
    this.requireClientCapability("elicitation", "elicitation");
    const compiled = compiledElicitationSchema(schema);
    // The elicitation schema dialect is a restricted subset: no $schema, no additionalProperties.
    const { $schema: _dialect, additionalProperties: _closed, ...requestedSchema } = compiled.jsonSchema;
    const result = await this.scope.request(
      { method: "elicitation/create", params: { mode: "form", message, requestedSchema } },
      ElicitResultSchema,
    );
    if (result.action !== "accept") return { action: result.action };
    const checked = await compiled.validate(result.content ?? {});
    if (!checked.ok) throw new FastMCPError(`The client's elicitation response does not match the requested schema: ${checked.message}`);
    return { action: "accept", content: checked.value as InferSchema<S> };
  }

  /** The filesystem roots the client exposes. */
  async listRoots(): Promise<ListRootsResult> {
    this.requireClientCapability("roots", "roots");
    return this.scope.request({ method: "roots/list" }, ListRootsResultSchema);
  }

  /** Reads one of this server's resources, with the caller's identity. */
  async readResource(uri: string): Promise<ReadResourceResult> {
    return this.host.readResource(uri, this.scope);
  }

  /**
   * Closes this request's SSE stream; the client reconnects and receives the rest (SEP-1699
   * polling). Use it in long-running tools behind proxies that cut idle connections.
   */
  closeSSEStream(): void {
    this.scope.closeStream();
  }

  private async sendLog(level: LoggingLevel, message: string, data?: Record<string, unknown>): Promise<void> {
    if (!this.scope.session.wantsLog(level)) return;
    await this.scope.notify({
      method: "notifications/message",
      params: { level, data: data === undefined ? message : { message, ...data } },
    });
  }

  private requireClientCapability(capability: keyof ClientCapabilities, feature: string): void {
    const session = this.scope.session;
    if (!session.belongsToClient) {
      throw new FastMCPError(`${feature} needs a session: it is not available on a stateless HTTP server`);
    }
    if (!session.clientCapabilities?.[capability]) {
      throw new FastMCPError(`The client did not declare the "${capability}" capability, so it cannot handle ${feature} requests`);
    }
  }
}

const elicitationSchemas = new WeakMap<object, CompiledSchema>();

function compiledElicitationSchema(schema: SchemaInput): CompiledSchema {
  let compiled = elicitationSchemas.get(schema);
  if (!compiled) {
    compiled = compileSchema(schema, "input", "elicitation schema");
    elicitationSchemas.set(schema, compiled);
  }
  return compiled;
}

/** Runs `fn` with `ctx` as the active context (what getContext() and getAccessToken() see). */
export function runWithContext<T>(ctx: Context, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The context of the request being handled; throws outside a request. */
export function getContext(): Context {
  const ctx = storage.getStore();
  if (!ctx) throw new NoActiveContextError();
  return ctx;
}

/** The caller's access token from anywhere inside a request; undefined without auth or outside a request. */
export function getAccessToken(): AccessToken | undefined {
  return storage.getStore()?.auth;
}
