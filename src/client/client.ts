import {
  Client as SdkClient,
  type CallToolResult,
  type ClientCapabilities,
  type CompleteResult,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type GetPromptResult,
  type Implementation,
  type LoggingLevel,
  type LoggingMessageNotification,
  type Progress,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type Root,
  type ServerCapabilities,
  type Tool,
  InsufficientScopeError,
} from "@modelcontextprotocol/client";
import { FastMCPError, ToolError } from "../errors.js";
import { OAuthFlowError } from "./auth/errors.js";
import { OAuth } from "./auth/oauth.js";
import { connectionFor, type ClientConnection, type ClientTarget, type TransportSettings } from "./target.js";
import { networkReason } from "./network-errors.js";

export interface ClientOptions {
  /**
   * A bearer token (sent as `Authorization: Bearer <token>`), or `"oauth"` / `new OAuth({...})`:
   * the client then logs in by itself (discovery, registration, the browser, refresh, step-up).
   */
  auth?: string | OAuth;
  /** Extra HTTP headers for every request. */
  headers?: Record<string, string>;
  /** Force Streamable HTTP or SSE for a URL instead of guessing from its path. */
  transport?: "http" | "sse";
  /** How this client introduces itself. */
  name?: string;
  version?: string;
  /** Per-request timeout. Default 60 s. */
  timeoutMs?: number;
  /** Receives the server's log messages. */
  onLog?: (params: LoggingMessageNotification["params"]) => void;
  /** Answers the server's sampling requests; declaring it advertises the sampling capability. */
  sampling?: (params: CreateMessageRequest["params"]) => CreateMessageResult | Promise<CreateMessageResult>;
  /** Answers the server's elicitation requests; declaring it advertises the elicitation capability. */
  elicitation?: (params: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
  /** Roots to expose; declaring them advertises the roots capability. */
  roots?: Root[];
}

export interface CallToolOptions {
  /** Throw a {@link ToolError} when the tool reports an error (default true). */
  raiseOnError?: boolean;
  timeoutMs?: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** A tool's result; `data` is its structured content when it has one. */
export type ToolCallResult = CallToolResult & { data: Record<string, unknown> | undefined };

/**
 * A client for any MCP server: over Streamable HTTP or SSE (a URL), stdio (a command), or in
 * memory (a FastMCP instance, for tests). Built on the official SDK client.
 */
export class Client {
  private readonly options: ClientOptions;
  private readonly target: ClientTarget;
  private sdk: SdkClient | undefined;
  private connecting: Promise<void> | undefined;
  /** Built at construction so that a bad target fails there, not at first use; consumed by connect(). */
  private next: ClientConnection | undefined;
  private readonly progressListeners = new Map<string, (progress: Progress) => void>();
  private progressTokens = 0;
  /** OAuth, when `auth` asked for it. */
  readonly oauth: OAuth | undefined;

  constructor(target: ClientTarget, options: ClientOptions = {}) {
    this.target = target;
    this.options = options;
    this.oauth = options.auth instanceof OAuth ? options.auth : options.auth === "oauth" ? new OAuth() : undefined;
    this.next = connectionFor(target, this.transportSettings());
  }

  get isConnected(): boolean {
    return this.sdk !== undefined && this.connecting === undefined;
  }

  /** What the server said about itself at initialize. */
  get serverInfo(): Implementation | undefined {
    return this.sdk?.getServerVersion();
  }

  get serverCapabilities(): ServerCapabilities | undefined {
    return this.sdk?.getServerCapabilities();
  }

  get instructions(): string | undefined {
    return this.sdk?.getInstructions();
  }

  /** Connects and initializes the session. Calling it again is a no-op. */
  async connect(): Promise<this> {
    if (this.sdk && !this.connecting) return this;
    this.connecting ??= this.open().finally(() => { this.connecting = undefined; });
    await this.connecting;
    return this;
  }

  async close(): Promise<void> {
    const sdk = this.sdk;
    this.sdk = undefined;
    await sdk?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async ping(): Promise<void> {
    await this.call((sdk) => sdk.ping(this.requestOptions()));
  }

  async listTools(): Promise<Tool[]> {
    return this.paginate((cursor) => this.call((sdk) => sdk.listTools(cursor ? { cursor } : undefined, this.requestOptions())), (page) => page.tools);
  }

  async callTool(name: string, args: Record<string, unknown> = {}, options: CallToolOptions = {}): Promise<ToolCallResult> {
    const progressToken = options.onProgress ? `fastmcp-ts-progress-${++this.progressTokens}` : undefined;
    if (progressToken) this.progressListeners.set(progressToken, options.onProgress!);
    let result: CallToolResult;
    try {
      result = (await this.call((sdk) => sdk.callTool(
        { name, arguments: args, ...(progressToken ? { _meta: { progressToken } } : {}) },
        { ...this.requestOptions(options.timeoutMs), ...(options.signal ? { signal: options.signal } : {}) },
      ))) as CallToolResult;
    } finally {
      if (progressToken) this.progressListeners.delete(progressToken);
    }
    if (result.isError && (options.raiseOnError ?? true)) throw new ToolError(textOf(result) || `Tool "${name}" failed`);
    return { ...result, data: result.structuredContent as Record<string, unknown> | undefined };
  }

  async listResources(): Promise<Resource[]> {
    return this.paginate((cursor) => this.call((sdk) => sdk.listResources(cursor ? { cursor } : undefined, this.requestOptions())), (page) => page.resources);
  }

  async listResourceTemplates(): Promise<ResourceTemplateType[]> {
    return this.paginate((cursor) => this.call((sdk) => sdk.listResourceTemplates(cursor ? { cursor } : undefined, this.requestOptions())), (page) => page.resourceTemplates);
  }

  async readResource(uri: string): Promise<ReadResourceResult["contents"]> {
    return (await this.call((sdk) => sdk.readResource({ uri }, this.requestOptions()))).contents;
  }

  async listPrompts(): Promise<Prompt[]> {
    return this.paginate((cursor) => this.call((sdk) => sdk.listPrompts(cursor ? { cursor } : undefined, this.requestOptions())), (page) => page.prompts);
  }

  async getPrompt(name: string, args: Record<string, string> = {}): Promise<GetPromptResult> {
    return this.call((sdk) => sdk.getPrompt({ name, arguments: args }, this.requestOptions()));
  }

  async complete(ref: { type: "ref/prompt"; name: string } | { type: "ref/resource"; uri: string }, argument: { name: string; value: string }, context?: Record<string, string>): Promise<CompleteResult["completion"]> {
    const result = await this.call((sdk) => sdk.complete({ ref, argument, ...(context ? { context: { arguments: context } } : {}) }, this.requestOptions()));
    return result.completion;
  }

  async setLogLevel(level: LoggingLevel): Promise<void> {
    await this.call((sdk) => sdk.setLoggingLevel(level, this.requestOptions()));
  }

  async subscribeResource(uri: string): Promise<void> {
    await this.call((sdk) => sdk.subscribeResource({ uri }, this.requestOptions()));
  }

  async unsubscribeResource(uri: string): Promise<void> {
    await this.call((sdk) => sdk.unsubscribeResource({ uri }, this.requestOptions()));
  }

  /** The official SDK client underneath, for anything this class does not wrap. */
  get raw(): SdkClient {
    return this.client();
  }

  private async open(): Promise<void> {
    const connection = this.next ?? connectionFor(this.target, this.transportSettings());
    this.next = undefined;
    const sdk = new SdkClient(
      { name: this.options.name ?? "fastmcp-ts-client", version: this.options.version ?? "0.1.0" },
      { capabilities: this.capabilities() },
    );
    this.installHandlers(sdk);
    await connection.prepare?.();
    try {
      await this.withStepUp(() => sdk.connect(connection.transport, { timeout: this.options.timeoutMs ?? 60_000 }));
    } catch (error) {
      await sdk.close().catch(() => undefined);
      if (error instanceof OAuthFlowError || isAuthorizationFailure(error)) throw error;
      throw new FastMCPError(`Could not connect to ${connection.description}: ${describe(error)}`, { cause: error });
    }
    this.interceptProgress(connection);
    this.sdk = sdk;
  }

  /**
   * Delivers progress notifications synchronously, in arrival order. The SDK dispatches
   * notifications a tick later than responses, so progress that arrives in the same chunk as the
   * result (common on stdio) would otherwise be dropped once the result removed its handler.
   */
  private interceptProgress(connection: ClientConnection): void {
    const transport = connection.transport;
    const forward = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if ("method" in message && message.method === "notifications/progress" && !("id" in message)) {
        const params = message.params as (Progress & { progressToken?: unknown }) | undefined;
        const listener = typeof params?.progressToken === "string" ? this.progressListeners.get(params.progressToken) : undefined;
        if (listener && params) {
          const { progressToken: _token, _meta: _ignored, ...progress } = params as Progress & { progressToken: string; _meta?: unknown };
          listener(progress);
          return;
        }
      }
      forward?.(message, extra);
    };
  }

  private capabilities(): ClientCapabilities {
    const capabilities: ClientCapabilities = {};
    if (this.options.sampling) capabilities.sampling = {};
    if (this.options.elicitation) capabilities.elicitation = { form: {} };
    if (this.options.roots) capabilities.roots = { listChanged: false };
    return capabilities;
  }

  private installHandlers(sdk: SdkClient): void {
    const { onLog, sampling, elicitation, roots } = this.options;
    if (onLog) sdk.setNotificationHandler("notifications/message", (notification) => onLog(notification.params));
    if (sampling) sdk.setRequestHandler("sampling/createMessage", (request) => sampling(request.params) as never);
    if (elicitation) sdk.setRequestHandler("elicitation/create", (request) => elicitation(request.params));
    if (roots) sdk.setRequestHandler("roots/list", () => ({ roots }));
  }

  private transportSettings(): TransportSettings {
    return { headers: this.headers(), transport: this.options.transport, bearerToken: this.bearerToken(), oauth: this.oauth };
  }

  private bearerToken(): string | undefined {
    return typeof this.options.auth === "string" && !this.oauth ? this.options.auth : undefined;
  }

  private headers(): Record<string, string> {
    const headers = { ...this.options.headers };
    const token = this.bearerToken();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  private requestOptions(timeoutMs?: number): { timeout: number } {
    return { timeout: timeoutMs ?? this.options.timeoutMs ?? 60_000 };
  }

  /** A request on the SDK client, stepping up when the server asks for more scope. */
  private call<T>(run: (sdk: SdkClient) => Promise<T>): Promise<T> {
    const sdk = this.client();
    return this.withStepUp(() => run(sdk));
  }

  /**
   * Runs `run`; on 403 insufficient_scope (with OAuth), authorizes again for the wider scope and
   * retries, at most `maxStepUps` times. Without OAuth the error goes to the caller as it is.
   */
  private async withStepUp<T>(run: () => Promise<T>): Promise<T> {
    const oauth = this.oauth;
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const challenge = insufficientScope(error);
        if (!oauth || !challenge) throw error;
        if (attempt >= oauth.maxStepUps) {
          throw new OAuthFlowError(`The server still refuses after ${attempt} re-authorization(s): it requires ${challenge.requiredScope ?? "more scope"}${challenge.errorDescription ? ` (${challenge.errorDescription})` : ""}`, { cause: error });
        }
        await oauth.stepUp(challenge.requiredScope, challenge.resourceMetadataUrl);
      }
    }
  }

  private client(): SdkClient {
    if (!this.sdk || this.connecting) throw new FastMCPError("The client is not connected: call `await client.connect()` first");
    return this.sdk;
  }

  private async paginate<P extends { nextCursor?: string }, T>(fetchPage: (cursor: string | undefined) => Promise<P>, items: (page: P) => T[]): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1_000; page++) {
      const result = await fetchPage(cursor);
      all.push(...items(result));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return all;
  }
}

/** The 403 insufficient_scope challenge behind an error, if that is what it is. */
function insufficientScope(error: unknown): InsufficientScopeError | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof InsufficientScopeError) return current;
  }
  return undefined;
}

/** An error of the login itself (denied, failed, timed out): shown as it is, not as a connection failure. */
function isAuthorizationFailure(error: unknown): boolean {
  return error instanceof FastMCPError && /^(Authorization|Callback)/.test(error.name);
}

function textOf(result: CallToolResult): string {
  return result.content.filter((block) => block.type === "text").map((block) => (block as { text: string }).text).join("\n");
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (code === "ECONNREFUSED") return `${networkReason(code)} (is the server running?)`;
  const http = (error as { data?: { status?: unknown; text?: unknown } }).data;
  if (typeof http?.status === "number") return `HTTP ${http.status}${describeErrorBody(http.text)}`;
  return error.message;
}

/** `: <error_description>` from an OAuth or JSON-RPC error body, when there is one. */
function describeErrorBody(text: unknown): string {
  if (typeof text !== "string") return "";
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error_description === "string") return `: ${body.error_description}`;
    const rpc = body.error as { message?: unknown } | undefined;
    if (typeof rpc?.message === "string") return `: ${rpc.message}`;
  } catch {
    // not JSON: the status says enough
  }
  return "";
}
