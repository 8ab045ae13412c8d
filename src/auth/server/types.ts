/**
 * The records an authorization server keeps: registered clients (RFC 7591), authorization codes,
 * refresh tokens, and what `/authorize` hands to a provider. Field names of wire documents follow
 * the RFCs (snake_case); records the provider keeps for itself are camelCase.
 */

/** How a client authenticates at the token and revocation endpoints. */
export type TokenEndpointAuthMethod = "none" | "client_secret_basic" | "client_secret_post";

/** RFC 7591 §2 client metadata, as registered (or as a Client ID Metadata Document describes it). */
export interface OAuthClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  grant_types?: string[];
  response_types?: string[];
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  /** Space-separated scopes the client may ask for. */
  scope?: string;
  contacts?: string[];
  tos_uri?: string;
  policy_uri?: string;
  software_id?: string;
  software_version?: string;
  /** SEP-837: `native` (desktop, CLI, loopback redirects) or `web`. */
  application_type?: "native" | "web";
}

/**
 * A registered client. A confidential client's secret is kept as `client_secret_hash` (SHA-256,
 * hex) by the endpoints; `client_secret` in clear is accepted for clients a provider pre-registers
 * in code. The secret in clear is only ever returned once, in the registration response.
 */
export interface OAuthClientInformation extends OAuthClientMetadata {
  client_id: string;
  client_secret?: string;
  client_secret_hash?: string;
  /** Seconds since the epoch. */
  client_id_issued_at?: number;
  /** Seconds since the epoch; 0 or absent: never. */
  client_secret_expires_at?: number;
  /** Set for a client known by its Client ID Metadata Document URL. */
  metadata_document?: true;
}

/** A validated authorization request, as `/authorize` hands it to {@link OAuthProvider.authorize}. */
export interface AuthorizationParams {
  /** The client's `state`, echoed back in the redirect. */
  state: string | undefined;
  /** Requested scopes (already checked against what the server supports). */
  scopes: string[];
  /** PKCE S256 challenge. */
  codeChallenge: string;
  /** Where the code goes: the request's redirect_uri, or the client's only registered one. */
  redirectUri: string;
  /** Whether the request named redirect_uri (then the token request must repeat it, RFC 6749 §4.1.3). */
  redirectUriProvidedExplicitly: boolean;
  /** RFC 8707 resource the token is for: this server's MCP URL. */
  resource: string | undefined;
}

/** An authorization code and what it was issued for. */
export interface AuthorizationCode {
  code: string;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
  codeChallenge: string;
  redirectUri: string;
  redirectUriProvidedExplicitly: boolean;
  resource?: string | undefined;
  /** The end user who approved the request. */
  subject?: string | undefined;
}

/** A refresh token as loaded for `/token` (the token itself is not stored in clear). */
export interface RefreshToken {
  token: string;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch; undefined: never expires. */
  expiresAt?: number | undefined;
  resource?: string | undefined;
  subject?: string | undefined;
}

/** RFC 6749 §5.1 successful token response. */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
}
