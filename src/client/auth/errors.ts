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

/**
 * The MCP server asks for a token but publishes nowhere how to log in: its tokens come from
 * elsewhere (a JWTVerifier server, say). `missing` says which metadata is absent: all of it, or
 * that of the authorization server its protected resource metadata names. The message ends with
 * the library's advice (`auth: "<token>"`); `problem` is the same without it, for callers that
 * pass tokens another way (the CLI's --token).
 */
export class NoOAuthMetadataError extends OAuthFlowError {
  override name = "NoOAuthMetadataError";
  readonly serverUrl: string;
  readonly missing: "oauth-metadata" | "authorization-server-metadata";
  /** The authorization server the protected resource metadata names (with `authorization-server-metadata`). */
  readonly authorizationServerUrl: string | undefined;

  constructor(serverUrl: string, authorizationServerUrl: string | undefined, options?: ErrorOptions) {
    super("", options);
    this.serverUrl = serverUrl;
    this.missing = authorizationServerUrl === undefined ? "oauth-metadata" : "authorization-server-metadata";
    this.authorizationServerUrl = authorizationServerUrl;
    this.message = `${this.problem}. Get a token from whoever issues them and pass it as auth: "<token>"`;
  }

  /** What is wrong, in a sentence, without advice. */
  get problem(): string {
    const where = this.authorizationServerUrl === undefined
      ? "it publishes no OAuth metadata (no RFC 9728 protected resource metadata, no RFC 8414 / OpenID Connect authorization server metadata)"
      : `its protected resource metadata names ${this.authorizationServerUrl}, which publishes no OAuth metadata (RFC 8414 / OpenID Connect)`;
    return `${this.serverUrl} asks for a token but says nowhere how to log in: ${where}`;
  }
}
