import type { Context as HonoContext } from "hono";
import type { AccessToken } from "./access-token.js";
import { reportToStderr } from "./report.js";
import { AuthConfigurationError, baseUrlOf, joinUrl, loopbackPortMismatch } from "./urls.js";

export interface AuthProviderOptions {
  /** The server's public URL, without the MCP path (`https://mcp.example.com`). */
  baseUrl?: string | URL;
  /**
   * Where the MCP endpoint's resource URL is rooted, when it differs from `baseUrl`: a server
   * mounted under a prefix (`https://example.com/api`) while its OAuth routes stay at the root.
   */
  resourceBaseUrl?: string | URL;
  /** Scopes every request must carry, whatever it calls (403 insufficient_scope otherwise). */
  requiredScopes?: readonly string[];
}

/** An HTTP route a provider serves at the origin root (discovery documents, OAuth endpoints). */
export interface AuthRoute {
  readonly method: "GET" | "POST" | "OPTIONS";
  readonly path: string;
  readonly handler: (c: HonoContext) => Response | Promise<Response>;
}

/**
 * What authenticates requests on the HTTP transports: `verifyToken` turns a bearer token into an
 * {@link AccessToken} or `null`, and never throws for a bad token. Subclasses may serve routes
 * (metadata, OAuth endpoints) and describe where clients get tokens.
 */
export abstract class AuthProvider {
  readonly resourceBaseUrl: string | undefined;
  readonly requiredScopes: readonly string[];
  private mcpPath = "/mcp";
  #baseUrl: string | undefined;

  constructor(options: AuthProviderOptions = {}) {
    this.#baseUrl = options.baseUrl === undefined ? undefined : baseUrlOf(options.baseUrl, "baseUrl");
    this.resourceBaseUrl = options.resourceBaseUrl === undefined ? undefined : baseUrlOf(options.resourceBaseUrl, "resourceBaseUrl");
    this.requiredScopes = Object.freeze([...(options.requiredScopes ?? [])]);
  }

  /** The server's public URL: as configured, or where `run()` listens when it was left out. */
  get baseUrl(): string | undefined {
    return this.#baseUrl;
  }

  /**
   * Whether this provider cannot serve without a public URL (it publishes discovery documents or
   * OAuth endpoints). Such a provider without `baseUrl` gets it from `run()`, and mounting its
   * app elsewhere without one is an error.
   */
  protected get needsBaseUrl(): boolean {
    return false;
  }

  /**
   * Called by `run()` once it listens, with the URL it listens at (`http://127.0.0.1:8001`), or
   * undefined for a wildcard address, which is no URL a client can use. A provider without a
   * `baseUrl` takes this one; one whose loopback `baseUrl` names another port warns: clients
   * would be sent where nothing listens.
   */
  serveAt(origin: string | undefined): void {
    const configured = this.#baseUrl;
    if (configured === undefined) {
      if (origin !== undefined) this.#baseUrl = baseUrlOf(origin, "the address run() listens at");
      else if (this.needsBaseUrl) throw new AuthConfigurationError(`${this.constructor.name} needs baseUrl: the server listens on a wildcard address, which is not a URL clients can reach`);
      return;
    }
    const mismatch = origin === undefined ? undefined : loopbackPortMismatch(configured, origin);
    if (mismatch) reportToStderr(`warning: ${this.constructor.name} baseUrl ${configured} names port ${mismatch.configured}, but the server listens on port ${mismatch.listening}: clients will be sent to a port where nothing answers (leave baseUrl out to use the port run() listens on)`);
  }

  /** The token's identity and grants, or null when the token is not acceptable. */
  abstract verifyToken(token: string): Promise<AccessToken | null>;

  /**
   * Optional fast path: the token's AccessToken, synchronously, when this provider verified this
   * exact token string before and still accepts it; undefined otherwise, which only means "ask
   * `verifyToken`". The HTTP transports try it before `verifyToken`, so a request with a token
   * already seen is authenticated without a promise. The default answers undefined (no cache);
   * JWTVerifier answers from its verified-token cache, and RemoteAuthProvider (with the presets)
   * asks its verifier.
   *
   * An implementation must apply every check a remembered answer needs (expiry, keys removed
   * from the JWKS, revocation) and may only return tokens in RFC 6750 `b64token` syntax (as
   * VerifiedTokenCache stores): when it answers, the Authorization header is not parsed again.
   */
  cachedToken(_token: string): AccessToken | undefined {
    return undefined;
  }

  /**
   * The name a client must ask its authorization server for, for one of this server's scopes, as
   * 403 step-up challenges write it. The same by default; Entra's verifier prefixes its API's
   * identifier (`mcp:write` → `api://<app>/mcp:write`).
   */
  challengeScope(scope: string): string {
    return scope;
  }

  /** Scopes advertised to clients (`scopes_supported`). */
  get scopesSupported(): readonly string[] {
    return this.requiredScopes;
  }

  /**
   * The MCP endpoint's URL: what clients ask tokens for (RFC 8707 `resource`) and what tokens
   * must be bound to. Undefined when the provider does not know the server's public URL.
   */
  get resourceUrl(): string | undefined {
    const base = this.resourceBaseUrl ?? this.baseUrl;
    return base === undefined ? undefined : joinUrl(base, this.mcpPath);
  }

  /**
   * Where clients find how to get a token (RFC 9728), advertised in every 401 challenge.
   * Undefined for providers that publish no protected resource metadata.
   */
  get resourceMetadataUrl(): string | undefined {
    return undefined;
  }

  /** Tells the provider the MCP endpoint's path; the HTTP app calls it before serving. */
  bind(mcpPath: string): void {
    if (this.needsBaseUrl && this.#baseUrl === undefined) {
      throw new AuthConfigurationError(`${this.constructor.name} needs baseUrl (the public URL of this server) when its app is mounted without mcp.run(), which would set it to where it listens`);
    }
    this.mcpPath = mcpPath;
  }

  /**
   * Resolves once the provider can serve (keys loaded, configuration checked); `run()` awaits it
   * before listening, so a broken configuration stops the server at startup. Nothing to wait for by default.
   */
  async ready(): Promise<void> {}

  /** Routes served at the origin root. None by default. */
  routes(): AuthRoute[] {
    return [];
  }
}

/**
 * A provider that only validates tokens issued elsewhere: no discovery routes. Use
 * RemoteAuthProvider (or a preset) to also tell clients where to get tokens.
 */
export abstract class TokenVerifier extends AuthProvider {}
