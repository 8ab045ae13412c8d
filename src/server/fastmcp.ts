import { Hono } from "hono";
import type { Handler } from "hono/types";
import type { Icon, PromptArgument, Server, Transport } from "@modelcontextprotocol/server";
import type { AccessToken } from "../auth/access-token.js";
import { authFromEnvironment } from "../auth/env.js";
import type { AuthProvider } from "../auth/provider.js";
import { FastMCPError } from "../errors.js";
import { definePrompt, type PromptOptions } from "./components/prompt.js";
import { defineResource, defineResourceTemplate, type ResourceOptions, type ResourceTemplateOptions } from "./components/resource.js";
import type { SchemaInput } from "./components/schema.js";
import { defineTool, type ToolOptions } from "./components/tool.js";
import { getContext, type Context } from "./context.js";
import { Dispatcher } from "./dispatcher.js";
import { createHttpApp, type HttpApp, type HttpAppOptions } from "./http/app.js";
import { createProtocolServer, type ServerIdentity } from "./protocol-server.js";
import { Registry, type ComponentKind } from "./registry.js";
import { runServer, type RunOptions, type RunningServer } from "./run.js";
import { SessionState } from "./session-state.js";

export interface FastMCPOptions {
  name: string;
  version?: string;
  title?: string;
  websiteUrl?: string;
  icons?: Icon[];
  /** Told to clients at initialize: how to use this server. */
  instructions?: string;
  /**
   * Protects the HTTP transports: a token verifier or auth provider. stdio is never authenticated.
   * When omitted, `FASTMCP_SERVER_AUTH` may configure one; `null` turns auth off explicitly.
   */
  auth?: AuthProvider | null;
  /** Streamable HTTP without sessions, for horizontally scaled deployments. Default false. */
  statelessHttp?: boolean;
  /** Hide the messages of unexpected handler errors from clients (ToolError & co. still pass). Default false. */
  maskErrorDetails?: boolean;
  /** Called with every unexpected error a handler throws. Default: one line on stderr. */
  onError?: (error: unknown, where: string) => void;
  /** Defaults for the HTTP transports (path, limits, DNS-rebinding protection...). */
  http?: Omit<HttpAppOptions, "transport">;
}

/** A live MCP connection the server can push notifications to. */
interface Connection {
  readonly session: SessionState;
  readonly server: Server;
}

const NOTIFICATION_FOR: Record<ComponentKind, "notifications/tools/list_changed" | "notifications/resources/list_changed" | "notifications/prompts/list_changed"> = {
  tool: "notifications/tools/list_changed",
  resource: "notifications/resources/list_changed",
  resourceTemplate: "notifications/resources/list_changed",
  prompt: "notifications/prompts/list_changed",
};

/**
 * An MCP server: register tools, resources, resource templates and prompts, then serve them over
 * stdio, Streamable HTTP or SSE with {@link FastMCP.run}, or mount {@link FastMCP.httpApp} anywhere.
 */
export class FastMCP {
  readonly name: string;
  readonly auth: AuthProvider | undefined;
  readonly statelessHttp: boolean;
  /** @internal */ readonly dispatcher: Dispatcher;
  /** @internal */ readonly identity: ServerIdentity;
  /** @internal */ readonly httpDefaults: Omit<HttpAppOptions, "transport">;
  /** @internal */ readonly customRoutes: Array<{ method: string; path: string; handler: Handler }> = [];
  private readonly registry: Registry;
  private readonly connections = new Set<Connection>();
  private readonly running = new Set<RunningServer>();
  private readonly httpApps = new Set<HttpApp>();
  private started: RunningServer | Promise<RunningServer> | undefined;

  constructor(options: FastMCPOptions) {
    if (typeof options?.name !== "string" || options.name.trim() === "") throw new TypeError("new FastMCP({ name }) needs a non-empty name");
    this.name = options.name;
    this.auth = options.auth === undefined ? authFromEnvironment() : options.auth ?? undefined;
    this.statelessHttp = options.statelessHttp ?? false;
    this.httpDefaults = options.http ?? {};
    this.registry = new Registry((kind) => this.broadcastListChanged(kind));
    this.dispatcher = new Dispatcher(options.name, this.registry, {
      maskErrorDetails: options.maskErrorDetails ?? false,
      onError: options.onError ?? reportToStderr,
      auth: this.auth,
    });
    const info: ServerIdentity["info"] = { name: options.name, version: options.version ?? "0.0.0" };
    if (options.title !== undefined) info.title = options.title;
    if (options.websiteUrl !== undefined) info.websiteUrl = options.websiteUrl;
    if (options.icons !== undefined) info.icons = options.icons;
    this.identity = {
      info,
      instructions: options.instructions,
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
      },
    };
  }

  /** Registers a tool. Its schemas are compiled now, so a bad schema fails here, not at call time. */
  tool<P extends SchemaInput | undefined = undefined>(options: ToolOptions<P>): this {
    this.registry.addTool(defineTool(options as ToolOptions<SchemaInput | undefined>));
    return this;
  }

  resource(options: ResourceOptions): this {
    this.registry.addResource(defineResource(options));
    return this;
  }

  resourceTemplate<P extends SchemaInput | undefined = undefined>(options: ResourceTemplateOptions<P>): this {
    this.registry.addResourceTemplate(defineResourceTemplate(options as ResourceTemplateOptions<SchemaInput | undefined>));
    return this;
  }

  prompt<A extends SchemaInput | PromptArgument[] | undefined = undefined>(options: PromptOptions<A>): this {
    this.registry.addPrompt(definePrompt(options as PromptOptions<SchemaInput | PromptArgument[] | undefined>));
    return this;
  }

  removeTool(name: string): boolean {
    return this.registry.remove("tool", name);
  }

  removeResource(uri: string): boolean {
    return this.registry.remove("resource", uri);
  }

  removeResourceTemplate(uriTemplate: string): boolean {
    return this.registry.remove("resourceTemplate", uriTemplate);
  }

  removePrompt(name: string): boolean {
    return this.registry.remove("prompt", name);
  }

  /** Adds an HTTP route next to the MCP endpoint (health checks, webhooks...). Served by httpApp() and run(). */
  route(method: string, path: string, handler: Handler): this {
    if (!path.startsWith("/")) throw new TypeError(`route path must start with "/", got ${JSON.stringify(path)}`);
    this.customRoutes.push({ method: method.toUpperCase(), path, handler });
    return this;
  }

  /** The HTTP app (Hono): mount it in another app, or serve `app.fetch` on any runtime. */
  httpApp(options: HttpAppOptions = {}): Hono {
    const http = createHttpApp(this, { ...this.httpDefaults, ...options });
    this.httpApps.add(http);
    return http.app;
  }

  /**
   * Serves the server: `stdio` (the default), `http` (Streamable HTTP) or `sse`. Resolves once the
   * server is listening. A second call returns the first server (a CLI-run file that also calls run()).
   */
  run(options: RunOptions = {}): Promise<RunningServer> {
    if (!this.started) {
      const starting = runServer(this, options).then((server) => {
        this.started = server;
        this.running.add(server);
        return server;
      });
      starting.catch(() => { this.started = undefined; });
      this.started = starting;
    }
    return Promise.resolve(this.started);
  }

  /**
   * Connects an MCP transport (stdio, in-memory, custom) to a fresh protocol server for this
   * instance. `bearerToken` authenticates the whole connection (verified by the server's auth
   * provider); `stdio` marks a local process connection, where component access rules do not apply.
   */
  async connect(transport: Transport, options: { sessionId?: string; bearerToken?: string; stdio?: boolean } = {}): Promise<Server> {
    const auth = options.bearerToken === undefined ? undefined : await this.verifyConnectionToken(options.bearerToken);
    const session = new SessionState(options.sessionId ?? transport.sessionId, true, { enforceAccess: !options.stdio, ...(auth ? { auth } : {}) });
    const server = createProtocolServer(this.identity, this.dispatcher, session);
    this.track(server, session);
    await server.connect(transport);
    return server;
  }

  /** The Hono app with only the discovery documents, to mount at the origin root when httpApp() is mounted under a prefix. */
  wellKnownApp(options: { path?: string } = {}): Hono {
    const app = new Hono();
    if (!this.auth) return app;
    this.auth.bind(options.path ?? this.httpDefaults.path ?? "/mcp");
    for (const route of this.auth.routes()) if (route.path.startsWith("/.well-known/")) app.on(route.method, route.path, route.handler);
    return app;
  }

  private async verifyConnectionToken(token: string): Promise<AccessToken> {
    if (!this.auth) throw new FastMCPError(`Server "${this.name}" has no auth provider to verify the connection's token`);
    const verified = await this.auth.verifyToken(token);
    if (!verified) throw new FastMCPError("The connection's token was refused by the server's auth provider");
    return verified;
  }

  /** @internal Registers a protocol server so it receives list_changed and resource update notifications. */
  track(server: Server, session: SessionState): void {
    const connection = { server, session };
    this.connections.add(connection);
    const previous = server.onclose;
    server.onclose = () => {
      this.connections.delete(connection);
      previous?.();
    };
  }

  /** Tells subscribed clients that a resource changed (`notifications/resources/updated`). */
  async notifyResourceUpdated(uri: string): Promise<void> {
    await Promise.all([...this.connections].filter(({ session }) => session.subscriptions.has(uri)).map(({ server }) =>
      server.notification({ method: "notifications/resources/updated", params: { uri } }).catch(() => undefined),
    ));
  }

  /** The context of the request being handled; throws outside a request. */
  getContext(): Context {
    return getContext();
  }

  /** Stops every server started by run() and closes every live connection. */
  async close(): Promise<void> {
    await Promise.all([...this.running].map((server) => server.close()));
    this.running.clear();
    await Promise.all([...this.httpApps].map((http) => http.close()));
    this.httpApps.clear();
    this.started = undefined;
    await Promise.all([...this.connections].map(({ server }) => server.close().catch(() => undefined)));
  }

  /** How many components of each kind are registered. */
  counts(): Record<ComponentKind, number> {
    return this.registry.counts();
  }

  private broadcastListChanged(kind: ComponentKind): void {
    const method = NOTIFICATION_FOR[kind];
    for (const { server, session } of this.connections) {
      if (!session.belongsToClient || !session.clientCapabilities) continue;
      server.notification({ method }).catch(() => undefined);
    }
  }
}

function reportToStderr(error: unknown, where: string): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[fastmcp-ts] ${where}: ${detail}\n`);
}
