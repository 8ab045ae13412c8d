export { FastMCP, type FastMCPOptions } from "./server/fastmcp.js";
export { Context, getAccessToken, getContext, type ContextLogger, type ElicitResult, type SampleOptions } from "./server/context.js";
export { ToolResult, type ToolOptions, type ToolReturn } from "./server/components/tool.js";
export type { ResourceOptions, ResourceTemplateOptions, ResourceReturn, TemplateVariables, Completer } from "./server/components/resource.js";
export type { PromptOptions, PromptReturn, PromptMessageInput } from "./server/components/prompt.js";
export type { SchemaInput, InferSchema, JsonSchema } from "./server/components/schema.js";
export type { ComponentOptions } from "./server/components/common.js";
export { audioContent, embeddedResource, imageContent, resourceLink } from "./server/components/content.js";
export type { HttpAppOptions } from "./server/http/app.js";
export type { ResponseMode } from "./server/http/exchange.js";
export type { RunOptions, RunningServer, TransportName } from "./server/run.js";
export type { AccessToken } from "./auth/access-token.js";
export {
  ComponentDefinitionError,
  FastMCPError,
  NoActiveContextError,
  PortInUseError,
  PromptError,
  ResourceError,
  ToolError,
} from "./errors.js";
