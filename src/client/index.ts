export { Client, type CallToolOptions, type ClientOptions, type ToolCallResult } from "./client.js";
export type { ClientTarget, StdioTarget } from "./target.js";
export { OAuth, type OAuthOptions } from "./auth/oauth.js";
export { NoOAuthMetadataError, OAuthFlowError, OAuthUnreachableError } from "./auth/errors.js";
export type { OpenBrowser } from "./auth/browser.js";
export {
  AuthorizationDeniedError,
  AuthorizationFailedError,
  CallbackIssuerMismatchError,
  CallbackServerClosedError,
  CallbackTimeoutError,
} from "./auth/callback-server.js";
export { ToolError } from "../errors.js";
