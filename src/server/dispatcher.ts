import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type CallToolRequestParams,
  type CallToolResult,
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptRequestParams,
  type GetPromptResult,
  type ListPromptsResult,
  type ListResourceTemplatesResult,
  type ListResourcesResult,
  type ListToolsResult,
  type ReadResourceResult,
  type SetLevelRequestParams,
  type SubscribeRequestParams,
} from "@modelcontextprotocol/server";
import { PromptError, ResourceError, ToolError } from "../errors.js";
import { toPromptResult, type PromptEntry } from "./components/prompt.js";
import { toResourceContents, type Completer } from "./components/resource.js";
import { ToolResult, type ToolEntry } from "./components/tool.js";
import { toContentBlocks } from "./components/content.js";
import { Context, runWithContext, type ContextHost } from "./context.js";
import type { Registry } from "./registry.js";
import { andThen, isPromiseLike, type MaybePromise } from "./maybe-promise.js";
import type { RequestScope } from "./request-scope.js";

export interface DispatcherOptions {
  /** Replace the message of unexpected handler errors with a generic one (ToolError & co. still pass). */
  maskErrorDetails: boolean;
  /** Told about every unexpected error a handler throws. */
  onError: (error: unknown, where: string) => void;
}

const MAX_COMPLETIONS = 100;

/**
 * The MCP methods a FastMCP server implements, written once against a {@link RequestScope} so
 * that every transport (stdio, in-memory, SSE, Streamable HTTP) runs the same code.
 * Protocol errors are thrown as SDK `ProtocolError`s; tool failures are `isError` results.
 */
export class Dispatcher implements ContextHost {
  constructor(
    readonly name: string,
    private readonly registry: Registry,
    private readonly options: DispatcherOptions,
  ) {}

  listTools(): ListToolsResult {
    return { tools: this.registry.toolList() };
  }

  listResources(): ListResourcesResult {
    return { resources: this.registry.resourceList() };
  }

  listResourceTemplates(): ListResourceTemplatesResult {
    return { resourceTemplates: this.registry.templateList() };
  }

  listPrompts(): ListPromptsResult {
    return { prompts: this.registry.promptList() };
  }

  /** Synchronous when the arguments validate synchronously and the tool returns a plain value. */
  callTool(params: CallToolRequestParams, scope: RequestScope): MaybePromise<CallToolResult> {
    const tool = this.registry.tool(params.name);
    if (!tool) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    return andThen(tool.parameters.validate(params.arguments ?? {}), (checked) => {
      if (!checked.ok) return errorResult(`Invalid arguments for tool "${tool.name}": ${checked.message}`);
      const ctx = new Context(scope, this);
      let value: unknown;
      try {
        value = runWithContext(ctx, () => tool.execute(checked.value, ctx));
      } catch (error) {
        return this.toolFailure(tool, error);
      }
      if (!isPromiseLike(value)) return this.toolResult(tool, value);
      return Promise.resolve(value).then((settled) => this.toolResult(tool, settled), (error: unknown) => this.toolFailure(tool, error));
    });
  }

  async readResource(uri: string, scope: RequestScope): Promise<ReadResourceResult> {
    const ctx = new Context(scope, this);
    const resource = this.registry.resource(uri);
    try {
      if (resource) {
        const value = await runWithContext(ctx, () => resource.read(ctx));
        return { contents: toResourceContents(uri, resource.mimeType, value) };
      }
      const match = this.registry.matchTemplate(uri);
      if (!match) throw new ResourceNotFoundError(uri, `Unknown resource: ${uri}`);
      let args: unknown = match.variables;
      if (match.entry.parameters) {
        let checked = match.entry.parameters.validate(match.variables);
        if (checked instanceof Promise) checked = await checked;
        if (!checked.ok) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid parameters for resource ${uri}: ${checked.message}`);
        args = checked.value;
      }
      const value = await runWithContext(ctx, () => match.entry.read(args, ctx));
      return { contents: toResourceContents(uri, match.entry.mimeType, value) };
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError(ProtocolErrorCode.InternalError, this.failureMessage(error, ResourceError, `Error reading resource ${uri}`));
    }
  }

  async getPrompt(params: GetPromptRequestParams, scope: RequestScope): Promise<GetPromptResult> {
    const prompt = this.registry.prompt(params.name);
    if (!prompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${params.name}`);
    const args = await this.promptArguments(prompt, params.arguments ?? {});
    const ctx = new Context(scope, this);
    try {
      const rendered = await runWithContext(ctx, () => prompt.render(args, ctx));
      return toPromptResult(rendered, prompt.definition.description);
    } catch (error) {
      throw new ProtocolError(ProtocolErrorCode.InternalError, this.failureMessage(error, PromptError, `Error rendering prompt "${prompt.name}"`));
    }
  }

  async complete(params: CompleteRequestParams): Promise<CompleteResult> {
    const completer = this.completerFor(params);
    if (!completer) return { completion: { values: [], hasMore: false } };
    let values: string[];
    try {
      values = await completer(params.argument.value, { arguments: params.context?.arguments ?? {} });
    } catch (error) {
      throw new ProtocolError(ProtocolErrorCode.InternalError, this.failureMessage(error, undefined, `Error completing "${params.argument.name}"`));
    }
    return { completion: { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: values.length > MAX_COMPLETIONS } };
  }

  /** Stateless servers accept subscriptions but cannot deliver updates: there is no session to send them on. */
  subscribe(params: SubscribeRequestParams, scope: RequestScope): Record<string, never> {
    if (scope.session.belongsToClient) scope.session.subscriptions.add(params.uri);
    return {};
  }

  unsubscribe(params: SubscribeRequestParams, scope: RequestScope): Record<string, never> {
    scope.session.subscriptions.delete(params.uri);
    return {};
  }

  /** On a stateless server the level cannot be remembered per client, so every message is sent. */
  setLogLevel(params: SetLevelRequestParams, scope: RequestScope): Record<string, never> {
    if (scope.session.belongsToClient) scope.session.logLevel = params.level;
    return {};
  }

  /** Reports an unexpected error to the server's error handler. */
  reportError(error: unknown, where: string): void {
    this.options.onError(error, where);
  }

  private completerFor(params: CompleteRequestParams): Completer | undefined {
    const ref = params.ref;
    if (ref.type === "ref/prompt") {
      const prompt = this.registry.prompt(ref.name);
      if (!prompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${ref.name}`);
      return prompt.complete[params.argument.name];
    }
    const template = this.registry.templateByUriTemplate(ref.uri);
    if (!template) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource template: ${ref.uri}`);
    return template.complete[params.argument.name];
  }

  private async promptArguments(prompt: PromptEntry, args: Record<string, string>): Promise<unknown> {
    if (prompt.schema) {
      let checked = prompt.schema.validate(args);
      if (checked instanceof Promise) checked = await checked;
      if (!checked.ok) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid arguments for prompt "${prompt.name}": ${checked.message}`);
      return checked.value;
    }
    for (const arg of prompt.arguments) {
      if (arg.required && args[arg.name] === undefined) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Missing required argument "${arg.name}" for prompt "${prompt.name}"`);
      }
    }
    return args;
  }

  private toolFailure(tool: ToolEntry, error: unknown): CallToolResult {
    return errorResult(this.failureMessage(error, ToolError, `Error calling tool "${tool.name}"`));
  }

  private toolResult(tool: ToolEntry, value: unknown): MaybePromise<CallToolResult> {
    if (value instanceof ToolResult) {
      if (!tool.output || value.structuredContent === undefined || value.isError) return value.toWire();
      return andThen(this.outputProblem(tool, value.structuredContent), (problem) => (problem ? errorResult(problem) : value.toWire()));
    }
    if (!tool.output) return { content: toContentBlocks(value) };
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return errorResult(`Tool "${tool.name}" declares an outputSchema but returned ${Array.isArray(value) ? "an array" : typeof value}, not an object`);
    }
    return andThen(this.outputProblem(tool, value), (problem): CallToolResult => (problem
      ? errorResult(problem)
      : { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value as Record<string, unknown> }));
  }

  private outputProblem(tool: ToolEntry, value: unknown): MaybePromise<string | undefined> {
    return andThen(tool.output!.validate(value), (checked) => {
      if (checked.ok) return undefined;
      this.options.onError(new Error(`output does not match outputSchema: ${checked.message}`), `tool "${tool.name}"`);
      return `Tool "${tool.name}" returned output that does not match its outputSchema: ${checked.message}`;
    });
  }

  /** The message a client sees for a failed handler: user-facing errors verbatim, others maybe masked. */
  private failureMessage(error: unknown, userFacing: (new (...args: never[]) => Error) | undefined, prefix: string): string {
    if (userFacing && error instanceof userFacing) return error.message;
    this.options.onError(error, prefix);
    if (this.options.maskErrorDetails) return prefix;
    return `${prefix}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
