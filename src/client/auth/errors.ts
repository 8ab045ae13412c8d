import { FastMCPError } from "../../errors.js";

/** Login failed or was refused: by the user, the authorization server, or the MCP server. */
export class OAuthFlowError extends FastMCPError {
  override name = "OAuthFlowError";
}

/** What could not be reached while logging in, and why. */
export interface UnreachableRequest {
  /** The URL asked for. */
  url: string;
  /** What it was for, as a noun phrase: "the authorization server metadata", "the token endpoint"... */
  purpose: string;
  /** What went wrong on the network: "connection refused", "host not found"... */
  reason: string;
  /** The MCP server being logged in to. */
  serverUrl: string;
  /** Where the URL came from, when that helps the user fix it. */
  hint?: string | undefined;
}

/**
 * An OAuth request of the login (discovery, registration, the token endpoint...) could not reach
 * its URL. The MCP server itself answered: it is this URL, usually one the server's metadata named,
 * that is wrong or down.
 */
export class OAuthUnreachableError extends OAuthFlowError {
  override name = "OAuthUnreachableError";
  readonly url: string;
  readonly purpose: string;
  readonly reason: string;

  constructor(request: UnreachableRequest, options?: ErrorOptions) {
    super(`Could not reach ${request.purpose} at ${request.url} (${request.reason}) while logging in to ${request.serverUrl}${request.hint ? `: ${request.hint}` : ""}`, options);
    this.url = request.url;
    this.purpose = request.purpose;
    this.reason = request.reason;
  }
}
