import { Server, type Implementation, type RequestId, type ServerCapabilities, type ServerContext } from "@modelcontextprotocol/server";
import { fromAuthInfo } from "./auth-info.js";
import type { Dispatcher } from "./dispatcher.js";
import type { RequestScope } from "./request-scope.js";
import type { SessionState } from "./session-state.js";

/** What the server publishes at initialize, computed once per FastMCP instance. */
export interface ServerIdentity {
  readonly info: Implementation;
  readonly instructions: string | undefined;
  readonly capabilities: ServerCapabilities;
}

export interface ProtocolServerOptions {
  /** Maps the id the SDK sees back to the id the client sent (transports that rewrite ids). */
  originalRequestId?: (id: RequestId) => RequestId;
}

/**
 * Builds an SDK protocol `Server` whose handlers are the dispatcher's methods. The SDK owns the
 * protocol (initialize, negotiation, cancellation, server-to-client requests); we own the methods.
 * Construction does no schema compilation: every component was compiled at registration.
 */
export function createProtocolServer(identity: ServerIdentity, dispatcher: Dispatcher, session: SessionState, options: ProtocolServerOptions = {}): Server {
  const server = new Server(identity.info, { capabilities: identity.capabilities, instructions: identity.instructions });
  const scope = (ctx: ServerContext) => scopeFromSdk(ctx, session, options.originalRequestId);

  server.setRequestHandler("tools/list", (_request, ctx) => dispatcher.listTools(scope(ctx)));
  server.setRequestHandler("tools/call", async (request, ctx) => dispatcher.callTool(request.params, scope(ctx)));
  server.setRequestHandler("resources/list", (_request, ctx) => dispatcher.listResources(scope(ctx)));
  server.setRequestHandler("resources/templates/list", (_request, ctx) => dispatcher.listResourceTemplates(scope(ctx)));
  server.setRequestHandler("resources/read", (request, ctx) => dispatcher.readResource(request.params.uri, scope(ctx)));
  server.setRequestHandler("resources/subscribe", (request, ctx) => dispatcher.subscribe(request.params, scope(ctx)));
  server.setRequestHandler("resources/unsubscribe", (request, ctx) => dispatcher.unsubscribe(request.params, scope(ctx)));
  server.setRequestHandler("prompts/list", (_request, ctx) => dispatcher.listPrompts(scope(ctx)));
  server.setRequestHandler("prompts/get", (request, ctx) => dispatcher.getPrompt(request.params, scope(ctx)));
  server.setRequestHandler("completion/complete", (request, ctx) => dispatcher.complete(request.params, scope(ctx)));
  server.setRequestHandler("logging/setLevel", (request, ctx) => dispatcher.setLogLevel(request.params, scope(ctx)));

  server.oninitialized = () => {
    if (!session.belongsToClient) return;
    session.clientCapabilities = server.getClientCapabilities();
    session.clientInfo = server.getClientVersion();
    session.protocolVersion = server.getNegotiatedProtocolVersion();
  };
  return server;
}

function scopeFromSdk(ctx: ServerContext, session: SessionState, originalRequestId?: (id: RequestId) => RequestId): RequestScope {
  const request = ctx.mcpReq;
  return {
    requestId: originalRequestId ? originalRequestId(request.id) : request.id,
    sessionId: ctx.sessionId ?? session.id,
    signal: request.signal,
    auth: fromAuthInfo(ctx.http?.authInfo) ?? session.auth,
    httpRequest: ctx.http?.req,
    progressToken: request._meta?.progressToken,
    session,
    notify: (notification) => request.notify(notification),
    request: (message, schema) => request.send(message as never, schema),
    closeStream: () => ctx.http?.closeSSE?.(),
  };
}
