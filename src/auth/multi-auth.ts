import { accessToken, type AccessToken } from "./access-token.js";
import { DownstreamTokenError, isDownstreamTokenSource, type DownstreamTokenRequest, type DownstreamTokenSource } from "./downstream.js";
import { challengeScopes } from "./challenge.js";
import { protectedResourceMetadataUrl, protectedResourceRoutes, WELL_KNOWN_PRM, type ProtectedResourceMetadata } from "./metadata.js";
import { AuthProvider, type AuthProviderOptions, type AuthRoute } from "./provider.js";
import { RemoteAuthProvider } from "./remote.js";
import { reportToStderr } from "./report.js";
import { OAuthProvider } from "./server/provider.js";
import { AuthConfigurationError, parseUrl } from "./urls.js";
import { JWTVerifier } from "./verifiers/jwt.js";

export interface MultiAuthOptions extends AuthProviderOptions {
  /**
   * The provider that serves this server's OAuth routes (a proxy, LocalOAuthProvider, a remote
   * preset): asked first, and the only source of routes. Its baseUrl, resourceBaseUrl and
   * required scopes are the defaults of this one. Its source name is `server`.
   */
  server?: AuthProvider;
  /**
   * Further token sources, asked in order after the server: a list (named `verifier1`,
   * `verifier2`...) or an object whose keys name them (`{ machines: new JWTVerifier(...) }`).
   */
  verifiers?: AuthProvider | readonly AuthProvider[] | Readonly<Record<string, AuthProvider>>;
  /**
   * Authorization servers to list in the protected resource metadata besides those the sources
   * name (an OAuthProvider's issuer, a RemoteAuthProvider's servers, a JWTVerifier's issuer).
   */
  authorizationServers?: ReadonlyArray<string | URL>;
  /** Where a source that throws is reported (it counts as a refusal). Default: stderr. */
  onError?: (error: unknown) => void;
}

/** One provider MultiAuth asks, under the name that qualifies the client ids it vouches for. */
interface Source {
  readonly name: string;
  readonly provider: AuthProvider;
}

const SERVER_SOURCE = "server";

/**
 * One MCP server accepting tokens from several sources: people signing in through a proxy,
 * machines with JWTs from another issuer. The server is asked first, then each verifier in order;
 * the first that accepts a token wins. `ctx.auth.clientId` is qualified by the source
 * (`machines:ci-bot`) and `ctx.auth.source` names it, so two sources that happen to use the same
 * client id never share sessions or anything else owned per client. The protected resource
 * metadata lists every source's authorization server.
 */
export class MultiAuth extends AuthProvider implements DownstreamTokenSource {
  readonly sources: readonly Source[];
  private readonly server: AuthProvider | undefined;
  private readonly extraAuthorizationServers: readonly string[];
  private readonly onError: (error: unknown) => void;
  /** Each source's token as this provider serves it (qualified), built once per verified token. */
  private readonly qualified = new WeakMap<AccessToken, AccessToken>();

  constructor(options: MultiAuthOptions) {
    const server = options.server;
    super({
      ...options,
      baseUrl: options.baseUrl ?? server?.baseUrl,
      resourceBaseUrl: options.resourceBaseUrl ?? server?.resourceBaseUrl,
      requiredScopes: options.requiredScopes ?? server?.requiredScopes,
    });
    this.sources = Object.freeze([...(server ? [{ name: SERVER_SOURCE, provider: server }] : []), ...namedVerifiers(options.verifiers)]);
    if (this.sources.length === 0) throw new AuthConfigurationError("MultiAuth needs a server, verifiers, or both");
    const names = this.sources.map((source) => source.name);
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) throw new AuthConfigurationError(`MultiAuth has two sources named ${repeated}`);
    this.server = server;
    this.extraAuthorizationServers = (options.authorizationServers ?? []).map((url) => withoutTrailingSlash(parseUrl(url, "authorizationServers").href));
    this.onError = options.onError ?? reportToStderr;
  }

  /** It publishes protected resource metadata naming this server's URL: left out, `run()` sets it. */
  protected override get needsBaseUrl(): boolean {
    return true;
  }

  override serveAt(origin: string | undefined): void {
    super.serveAt(origin);
    for (const { provider } of this.sources) provider.serveAt(this.baseUrl ?? origin);
  }

  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    for (const { provider } of this.sources) provider.bind(mcpPath);
  }

  override async ready(): Promise<void> {
    await Promise.all(this.sources.map(({ provider }) => provider.ready()));
  }

  override get scopesSupported(): readonly string[] {
    return [...new Set([...(this.server?.scopesSupported ?? []), ...this.requiredScopes])];
  }

  /** As the server names scopes: a client steps up at the first authorization server the metadata lists, the server's. */
  override challengeScope(scope: string): string {
    return this.server?.challengeScope(scope) ?? scope;
  }

  override get resourceMetadataUrl(): string {
    return protectedResourceMetadataUrl(this.resourceUrl!);
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    for (const source of this.sources) {
      let verified: AccessToken | null;
      try {
        verified = await source.provider.verifyToken(token);
      } catch (error) {
        this.onError(error);
        continue;
      }
      if (verified) return this.qualify(source, verified);
    }
    return null;
  }

  override cachedToken(token: string): AccessToken | undefined {
    for (const source of this.sources) {
      const cached = source.provider.cachedToken(token);
      if (cached !== undefined) return this.qualify(source, cached);
    }
    return undefined;
  }

  /** A downstream token from the source that accepted the caller's token. */
  async downstreamToken(auth: AccessToken | undefined, request?: DownstreamTokenRequest): Promise<string> {
    const source = this.sources.find(({ name }) => name === auth?.source);
    if (!source) throw new DownstreamTokenError("not_signed_in", "This request carries no token MultiAuth accepted");
    if (!isDownstreamTokenSource(source.provider)) throw new DownstreamTokenError("not_supported", `The source ${source.name} cannot get tokens for other APIs`);
    return source.provider.downstreamToken(auth, request);
  }

  /** The server's routes, with this provider's protected resource metadata in place of the server's own. */
  override routes(): AuthRoute[] {
    const serverRoutes = (this.server?.routes() ?? []).filter((route) => !route.path.startsWith(WELL_KNOWN_PRM));
    return [...protectedResourceRoutes(() => this.protectedResourceMetadata()), ...serverRoutes];
  }

  /** RFC 9728: this server, and every authorization server a client may get a token from. */
  protectedResourceMetadata(): ProtectedResourceMetadata {
    const document: ProtectedResourceMetadata = {
      resource: this.resourceUrl!,
      authorization_servers: this.authorizationServers(),
      bearer_methods_supported: ["header"],
    };
    const scopes = challengeScopes(this.scopesSupported);
    if (scopes.length > 0) document.scopes_supported = scopes;
    return document;
  }

  /** The server's authorization server first (clients that pick one take the first), then the others'. */
  authorizationServers(): string[] {
    const named = this.sources.flatMap(({ provider }) => authorizationServersOf(provider));
    return [...new Set([...named, ...this.extraAuthorizationServers])];
  }

  private qualify(source: Source, verified: AccessToken): AccessToken {
    let served = this.qualified.get(verified);
    if (served === undefined) {
      served = accessToken({ ...verified, clientId: `${source.name}:${verified.clientId}`, source: source.name });
      this.qualified.set(verified, served);
    }
    return served;
  }
}

function namedVerifiers(verifiers: MultiAuthOptions["verifiers"]): Source[] {
  if (verifiers === undefined) return [];
  if (verifiers instanceof AuthProvider) return [{ name: "verifier1", provider: verifiers }];
  if (Array.isArray(verifiers)) return (verifiers as readonly AuthProvider[]).map((provider, index) => ({ name: `verifier${index + 1}`, provider }));
  return Object.entries(verifiers as Readonly<Record<string, AuthProvider>>).map(([name, provider]) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new AuthConfigurationError(`MultiAuth source name ${JSON.stringify(name)} must be letters, digits, "_", "." or "-" (it prefixes client ids)`);
    return { name, provider };
  });
}

/** The authorization servers a source's tokens come from, as far as it says. */
function authorizationServersOf(provider: AuthProvider): readonly string[] {
  if (provider instanceof MultiAuth) return provider.authorizationServers();
  if (provider instanceof OAuthProvider) return [provider.issuerUrl];
  if (provider instanceof RemoteAuthProvider) return provider.authorizationServers;
  if (provider instanceof JWTVerifier) {
    const issuers = provider.issuer === undefined ? [] : typeof provider.issuer === "string" ? [provider.issuer] : provider.issuer;
    return issuers.map(withoutTrailingSlash);
  }
  return [];
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/$/, "");
}
