import { metadataUrls } from "../../discovery.js";
import { jsonRoutes } from "../../metadata.js";
import type { AuthRoute } from "../../provider.js";

/** RFC 8414 authorization server metadata, as this server publishes it. */
export interface OAuthServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
  revocation_endpoint?: string;
  revocation_endpoint_auth_methods_supported?: string[];
  jwks_uri?: string;
  scopes_supported?: string[];
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  code_challenge_methods_supported: ["S256"];
  /** RFC 9207: every authorization response carries `iss`. */
  authorization_response_iss_parameter_supported: true;
  /** Client ID Metadata Documents (a URL as client_id). */
  client_id_metadata_document_supported?: boolean;
  service_documentation?: string;
  [extension: string]: unknown;
}

/**
 * The metadata at every URL an MCP client may look for it: RFC 8414 with path insertion, OIDC
 * Discovery with path insertion and with the path appended (for an issuer with a path), and the
 * root forms, which older clients (protocol 2025-03-26) read from the MCP server's origin.
 */
export function authorizationServerMetadataRoutes(issuer: string, document: () => OAuthServerMetadata): AuthRoute[] {
  const paths = new Set(metadataUrls(new URL(issuer)).map((url) => url.pathname));
  paths.add("/.well-known/oauth-authorization-server");
  paths.add("/.well-known/openid-configuration");
  return [...paths].flatMap((path) => jsonRoutes(path, document));
}
