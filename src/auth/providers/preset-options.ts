/** Options every identity-provider preset accepts besides its own. */
export interface PresetOptions {
  /** The server's public URL, without the MCP path (`https://mcp.example.com`). */
  baseUrl: string | URL;
  /** Where the MCP URL is rooted when the server is mounted under a prefix. */
  resourceBaseUrl?: string | URL;
  /** Scopes every request must carry. */
  requiredScopes?: string[];
  /** Scopes advertised in the protected resource metadata. Default: the required scopes. */
  scopesSupported?: string[];
  resourceName?: string;
  resourceDocumentation?: string;
  /** Allow plain http to a non-loopback IdP URL (tests against a private stand-in only). */
  allowInsecureHttp?: boolean;
  onError?: (error: unknown) => void;
}
