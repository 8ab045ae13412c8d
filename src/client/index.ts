export { Client, type CallToolOptions, type ClientOptions, type ToolCallResult } from "./client.js";
export type { ClientTarget, StdioTarget } from "./target.js";
export { ToolError } from "../errors.js";
