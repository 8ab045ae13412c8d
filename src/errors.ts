/**
 * Errors a user of fastmcp-ts can catch or throw. Each carries a message meant for people;
 * none ever carries a token or secret.
 */
export class FastMCPError extends Error {
  override name = "FastMCPError";
}

/**
 * Throw from a tool to fail the call with exactly this message (`isError: true`), even when
 * `maskErrorDetails` hides the messages of other errors. The client's `callTool` raises it too.
 */
export class ToolError extends FastMCPError {
  override name = "ToolError";
}

/** Throw from a resource reader to fail the read with exactly this message. */
export class ResourceError extends FastMCPError {
  override name = "ResourceError";
}

/** Throw from a prompt renderer to fail the request with exactly this message. */
export class PromptError extends FastMCPError {
  override name = "PromptError";
}

/** A component definition that cannot be registered (bad name, bad schema, duplicate...). */
export class ComponentDefinitionError extends FastMCPError {
  override name = "ComponentDefinitionError";
}

/** `getContext()` called outside a request. */
export class NoActiveContextError extends FastMCPError {
  override name = "NoActiveContextError";
  constructor() {
    super("No active MCP request: getContext() only works while a handler is running");
  }
}

/** The HTTP server could not bind its port. */
export class PortInUseError extends FastMCPError {
  override name = "PortInUseError";
  constructor(readonly host: string, readonly port: number) {
    super(`Port ${port} on ${host} is already in use`);
  }
}
