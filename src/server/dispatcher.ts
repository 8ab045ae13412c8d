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
  type JSONRPCRequest,
  type ListToolsResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type Tool,
  type SetLevelRequestParams,
  type SubscribeRequestParams,
} from "@modelcontextprotocol/server";
import { decideAccess, hasRules, type AccessDecision, type ComponentAccess, type ComponentKind as AccessKind } from "../auth/authorization.js";
import type { AccessToken } from "../auth/access-token.js";
import { PromptError, ResourceError, ToolError } from "../errors.js";
import { toPromptResult, type PromptEntry } from "./components/prompt.js";
import { toResourceContents, type Completer } from "./components/resource.js";
import { ToolResult, type ToolEntry } from "./components/tool.js";
import { toContentBlocks } from "./components/content.js";
import type { AuthProvider } from "../auth/provider.js";
import { Context, runWithContext, type ContextHost } from "./context.js";
import type { Registry } from "./registry.js";
import { andThen, isPromiseLike, type MaybePromise } from "./maybe-promise.js";
import type { RequestScope } from "./request-scope.js";

export interface DispatcherOptions {
  /** Replace the message of unexpected handler errors with a generic one (ToolError & co. still pass). */
  maskErrorDetails: boolean;
  /** Told about every unexpected error a handler throws. */
  onError: (error: unknown, where: string) => void;
  /** The server's auth provider, which handlers reach through `ctx.downstreamToken()`. */
  auth?: AuthProvider | undefined;
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

  get auth(): AuthProvider | undefined {
    return this.options.auth;
  }

  listTools(scope: RequestScope): MaybePromise<ListToolsResult> {
    return andThen(this.visible("tool", this.registry.toolList(), this.registry.toolEntries(), scope), (tools: Tool[]) => ({ tools }));
  }

  listResources(scope: RequestScope): MaybePromise<ListResourcesResult> {
    return andThen(this.visible("resource", this.registry.resourceList(), this.registry.resourceEntries(), scope), (resources: Resource[]) => ({ resources }));
  }

  listResourceTemplates(scope: RequestScope): MaybePromise<ListResourceTemplatesResult> {
    return andThen(this.visible("resourceTemplate", this.registry.templateList(), this.registry.templateEntries(), scope), (resourceTemplates: ResourceTemplateType[]) => ({ resourceTemplates }));
  }

  listPrompts(scope: RequestScope): MaybePromise<ListPromptsResult> {
    return andThen(this.visible("prompt", this.registry.promptList(), this.registry.promptEntries(), scope), (prompts: Prompt[]) => ({ prompts }));
  }

  /**
   * For the HTTP transports, before anything is dispatched: the scopes the caller lacks for any of
   * these calls (so the transport answers 403 insufficient_scope and the client steps up), and
   * the requests already found allowed. Components hidden by other checks are left to dispatch,
   * which answers as if they did not exist.
   */
  scopeShortfall(requests: readonly JSONRPCRequest[], token: AccessToken | undefined): MaybePromise<{ missing: string[]; allowed: Set<JSONRPCRequest> }> {
    const allowed = new Set<JSONRPCRequest>();
    const missing = new Set<string>();
    const pending: Promise<void>[] = [];
    for (const request of requests) {
      const target = this.componentOf(request.method, request.params);
      if (!target) continue;
      const record = (decision: AccessDecision) => {
        if (decision.allowed) allowed.add(request);
        else if ("missingScopes" in decision) for (const scope of decision.missingScopes) missing.add(scope);
      };
      const decision = decideAccess(target.access, { token, component: { kind: target.kind, name: target.name } });
      if (decision instanceof Promise) pending.push(decision.then(record));
      else record(decision);
    }
    const result = () => ({ missing: [...missing], allowed });
    return pending.length === 0 ? result() : Promise.all(pending).then(result);
  }

  /** Whether the caller may see a component; a component whose scopes cannot be had without a token is hidden too. */
  private visible<T>(kind: AccessKind, list: T[], entries: Iterable<{ access: ComponentAccess; name: string }>, scope: RequestScope): MaybePromise<T[]> {
    if (!scope.session.enforceAccess || !this.registry.hasAccessRules(kind)) return list;
    const all = [...entries];
    const verdicts = all.map((entry) => decideAccess(entry.access, { token: scope.auth, component: { kind, name: entry.name } }));
    const keep = (decisions: AccessDecision[]) => list.filter((_, index) => decisions[index]!.allowed);
    return verdicts.some((verdict) => verdict instanceof Promise) ? Promise.all(verdicts).then(keep) : keep(verdicts as AccessDecision[]);
  }

  /**
   * Enforces a component's rules on a call: hidden components answer as unknown (`unknown`), and
   * missing scopes raise an insufficient-scope error naming them (HTTP answered 403 before this).
   */
  private authorize(kind: AccessKind, name: string, access: ComponentAccess, scope: RequestScope, unknown: () => ProtocolError): MaybePromise<void> {
    if (scope.accessChecked || !scope.session.enforceAccess || !hasRules(access)) return;
    return andThen(decideAccess(access, { token: scope.auth, component: { kind, name } }), (decision) => {
      if (decision.allowed) return;
      if ("hidden" in decision || scope.auth === undefined) throw unknown();
      throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `Insufficient scope: this call needs ${decision.missingScopes.join(" ")}`, { requiredScopes: decision.missingScopes });
    });
  }

  /** The component a call targets, if any: its rules and display name. */
  private componentOf(method: string, params: unknown): { kind: AccessKind; name: string; access: ComponentAccess } | undefined {
    const p = (params ?? {}) as { name?: unknown; uri?: unknown };
    if (method === "tools/call" && typeof p.name === "string") {
      const tool = this.registry.tool(p.name);
      return tool && { kind: "tool", name: tool.name, access: tool.access };
    }
    if (method === "prompts/get" && typeof p.name === "string") {
      const prompt = this.registry.prompt(p.name);
      return prompt && { kind: "prompt", name: prompt.name, access: prompt.access };
    }
    if (method === "resources/read" && typeof p.uri === "string") {
      const resource = this.registry.resource(p.uri);
      if (resource) return { kind: "resource", name: resource.name, access: resource.access };
      const match = this.registry.matchTemplate(p.uri);
      return match && { kind: "resourceTemplate", name: match.entry.name, access: match.entry.access };
    }
    if (method === "completion/complete") return this.completionTarget((params as { ref?: unknown } | undefined)?.ref);
    return undefined;
  }

  /** What a completion request reaches: the prompt or resource template it completes an argument of, under that component's rules. */
  private completionTarget(ref: unknown): { kind: AccessKind; name: string; access: ComponentAccess } | undefined {
    const { type, name, uri } = (ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
    if (type === "ref/prompt" && typeof name === "string") {
      const prompt = this.registry.prompt(name);
      return prompt && { kind: "prompt", name: prompt.name, access: prompt.access };
    }
    if (type === "ref/resource" && typeof uri === "string") {
      const template = this.registry.templateByUriTemplate(uri);
      return template && { kind: "resourceTemplate", name: template.name, access: template.access };
    }
    return undefined;
  }

  /** Synchronous when the arguments validate synchronously and the tool returns a plain value. */
  callTool(params: CallToolRequestParams, scope: RequestScope): MaybePromise<CallToolResult> {
    const tool = this.registry.tool(params.name);
    const unknown = () => new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    if (!tool) throw unknown();
    return andThen(this.authorize("tool", tool.name, tool.access, scope, unknown), () => this.runTool(tool, params, scope));
  }

  private runTool(tool: ToolEntry, params: CallToolRequestParams, scope: RequestScope): MaybePromise<CallToolResult> {
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
    const unknown = () => new ResourceNotFoundError(uri, `Unknown resource: ${uri}`);
    try {
      if (resource) {
        await this.authorize("resource", resource.name, resource.access, scope, unknown);
        const value = await runWithContext(ctx, () => resource.read(ctx));
        return { contents: toResourceContents(uri, resource.mimeType, value) };
      }
      const match = this.registry.matchTemplate(uri);
      if (!match) throw unknown();
      await this.authorize("resourceTemplate", match.entry.name, match.entry.access, scope, unknown);
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
    const unknown = () => new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${params.name}`);
    if (!prompt) throw unknown();
    await this.authorize("prompt", prompt.name, prompt.access, scope, unknown);
    const args = await this.promptArguments(prompt, params.arguments ?? {});
    const ctx = new Context(scope, this);
    try {
      const rendered = await runWithContext(ctx, () => prompt.render(args, ctx));
      return toPromptResult(rendered, prompt.definition.description);
    } catch (error) {
      throw new ProtocolError(ProtocolErrorCode.InternalError, this.failureMessage(error, PromptError, `Error rendering prompt "${prompt.name}"`));
    }
  }

  async complete(params: CompleteRequestParams, scope: RequestScope): Promise<CompleteResult> {
    const completer = await this.completerFor(params, scope);
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

  private async completerFor(params: CompleteRequestParams, scope: RequestScope): Promise<Completer | undefined> {
    const ref = params.ref;
    if (ref.type === "ref/prompt") {
      const prompt = this.registry.prompt(ref.name);
      const unknown = () => new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${ref.name}`);
      if (!prompt) throw unknown();
      await this.authorize("prompt", prompt.name, prompt.access, scope, unknown);
      return prompt.complete[params.argument.name];
    }
    const template = this.registry.templateByUriTemplate(ref.uri);
    const unknown = () => new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource template: ${ref.uri}`);
    if (!template) throw unknown();
    await this.authorize("resourceTemplate", template.name, template.access, scope, unknown);
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
