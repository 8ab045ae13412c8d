import { accessToken, parseScopes, type AccessToken } from "../access-token.js";
import type { AuthRoute, TokenVerifier } from "../provider.js";
import { reportToStderr } from "../report.js";
import { AuthConfigurationError, endpointUrl } from "../urls.js";
import { CsrfTokens } from "../server/interaction/csrf.js";
import { s256 } from "../server/pkce.js";
import { StoredOAuthProvider, TRANSACTION_TTL_SECONDS, type StoredOAuthProviderOptions, type StoredRuntime } from "../server/stored-provider.js";
import type { AuthorizationParams, OAuthClientInformation } from "../server/types.js";
import type { ConsentMode, ProxyPort, ProxyServices, RenderConsent } from "./port.js";
import { OAuthError } from "../server/errors.js";
import { RedirectAllowList } from "./redirect-allow-list.js";
import { RememberedConsents } from "./remembered-consents.js";
import { proxyRoutes } from "./routes.js";
import { UpstreamSignIns, type UpstreamSignIn } from "./sign-ins.js";
import { DownstreamTokenError, type DownstreamTokenRequest, type DownstreamTokenSource } from "../downstream.js";
import { DownstreamTokens, type DownstreamGrant, type DownstreamTokenOptions } from "./downstream-tokens.js";
import { UpstreamGrants } from "./upstream-grants.js";
import { UpstreamError, UpstreamServer, type UpstreamAuthMethod, type UpstreamTokens } from "./upstream.js";

/** What every proxy accepts, whatever tells it where the upstream is. */
export interface ProxyProviderOptions extends StoredOAuthProviderOptions {
  /** The id of the app registered at the upstream for this server (its redirect URI: `baseUrl` + `redirectPath`). */
  upstreamClientId: string;
  /** That app's secret; leave it out for a public app (PKCE only). */
  upstreamClientSecret?: string;
  /** Where the upstream sends the browser back. Default `/auth/callback`. */
  redirectPath?: string;
  /**
   * The reference's name for turning Client ID Metadata Documents on or off (`clientMetadataDocuments`,
   * which also takes the fetcher's options). Default on.
   */
  enableCimd?: boolean;
  /** Scopes clients may register and request (and what the metadata advertises). Default: the required scopes. */
  validScopes?: readonly string[];
  /**
   * URL patterns the MCP clients' redirect URIs must match (`http://localhost:*`,
   * `https://*.example.com/callback`): registrations naming another are refused, registered URIs no
   * longer matching are ignored. Default: every URI dynamic registration accepts. `[]` blocks all.
   */
  allowedClientRedirectUris?: readonly string[];
  /**
   * Asked of the upstream at every sign-in besides the client's scopes: what says who signed in
   * and gets a refresh token (`openid offline_access` for most OpenID providers). Default none.
   */
  upstreamSignInScopes?: readonly string[];
  /** Send the proxy's own PKCE challenge upstream (S256). Default true. */
  forwardPkce?: boolean;
  /** Send the client's RFC 8707 `resource` upstream. Default true; turn it off for upstreams that refuse it. */
  forwardResource?: boolean;
  /** How the proxy authenticates to the upstream token endpoint. Default `client_secret_basic` with a secret, `none` without. */
  tokenEndpointAuthMethod?: UpstreamAuthMethod;
  /** Added to every upstream authorization URL (last, so they win). */
  extraAuthorizeParams?: Record<string, string>;
  /** Added to every upstream token request (code exchange and refresh). */
  extraTokenParams?: Record<string, string>;
  /**
   * Ask the person to approve the MCP client before sending them upstream: `"remember"` (default:
   * once per browser, client, redirect URI and scope set), `true` (every time), `false` (never:
   * development only, any registered client then gets a grant from a signed-in upstream session).
   */
  requireConsent?: boolean | "remember";
  /** How long a browser remembers an approval. Default 90 days. */
  consentTtlSeconds?: number;
  /** Render the consent page yourself; CSRF and the browser binding are still handled for it. */
  renderConsent?: RenderConsent;
  /**
   * The consent page's Content-Security-Policy (a page you render may load more than the default
   * allows); `""` sends none. Framing stays refused by X-Frame-Options either way.
   */
  consentCsp?: string;
  /** Shown on the consent page. Default: the host of baseUrl. */
  serverName?: string;
  /** The upstream's name on the consent page ("you sign in with ..."). Default: its host. */
  identityProviderName?: string;
  /** Human descriptions of scopes, shown on the consent page. */
  scopeDescriptions?: Record<string, string>;
  /**
   * How tools get tokens for other APIs on the caller's behalf (`ctx.downstreamToken()`):
   * `"token-exchange"` (RFC 8693), `"on-behalf-of"` (Microsoft Entra), `"upstream-token"` (the
   * caller's upstream access token itself), optionally with the `tokenEndpoint` exchanges go to.
   * Default: none (`ctx.downstreamToken()` then fails with `not_supported`).
   */
  downstreamTokens?: DownstreamGrant | { grant: DownstreamGrant; tokenEndpoint?: string | URL };
  /** Treat an upstream access token as expired this many seconds early, refreshing it first. Default 0. */
  tokenExpiryThresholdSeconds?: number;
  /** How long an upstream token the verifier accepted is trusted without asking it again. Default 60 s. */
  upstreamVerificationCacheSeconds?: number;
  /** Verify the upstream's ID token instead of its access token (upstreams whose access tokens are opaque). Default false. */
  verifyIdToken?: boolean;
  /** Budget of one upstream request. Default 10,000 ms. */
  upstreamTimeoutMs?: number;
  /** Accept plain-http upstream endpoints that are not loopback. Only for a private network you trust. */
  allowInsecureHttp?: boolean;
}

/** Where the upstream is and how its tokens are checked, as a proxy resolves it before it serves. */
export interface ResolvedUpstream {
  authorizationEndpoint: URL;
  tokenEndpoint: URL;
  revocationEndpoint: URL | undefined;
  issuer: string | undefined;
  /** The upstream always sends RFC 9207 `iss` in its callbacks (its metadata says so): one without is refused. Default false: checked when present. */
  issRequired?: boolean;
  tokenVerifier: TokenVerifier;
}

/** A grant's upstream verdict: the access token served for it while the verdict holds. */
interface Verdict {
  /** Our token it was made for. */
  token: string;
  served: AccessToken;
  /** Milliseconds since the epoch. */
  until: number;
}

const UPSTREAM_AUTH_METHODS: readonly UpstreamAuthMethod[] = ["client_secret_basic", "client_secret_post", "none"];
const IDENTITY_SCOPES = new Set(["openid", "email", "profile", "offline_access"]);
/** Upstream error codes a client can act on; any other becomes server_error (their text never passes). */
const FORWARDED_UPSTREAM_ERRORS = new Set(["access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required"]);
/** Claims of the upstream identity copied into our tokens (`upstream_claims`), at most this large. */
const MAX_UPSTREAM_CLAIMS_BYTES = 4_096;
const MAX_VERDICTS = 10_000;
/** How long a refused upstream token stays refused without asking the upstream again, at least (with upstreamVerificationCacheSeconds 0 too). */
const MIN_REFUSAL_MS = 10_000;

/**
 * An OAuth 2.1 authorization server towards MCP clients (dynamic registration, Client ID Metadata
 * Documents, PKCE, RFC 8707, RFC 9207, consent) in front of one app registered at an identity
 * provider that has none of that (Google, GitHub, Entra, Okta...). People sign in upstream; the
 * proxy swaps codes and tokens at each hop, so upstream tokens never reach an MCP client (they
 * stay sealed in the store), and issues its own JWTs, signed by its key ring like
 * LocalOAuthProvider's. Every MCP request checks the upstream token behind the JWT with
 * `tokenVerifier` (cached), refreshing it upstream when it expires, once across instances.
 */
/** What the proxy runs once started: the pages' services and the upstream side. */
type RunningProxy = ProxyServices & { upstream: UpstreamGrants; server: UpstreamServer; verifier: TokenVerifier; downstream: DownstreamTokens | undefined };

export abstract class ProxyProvider extends StoredOAuthProvider<RunningProxy> implements DownstreamTokenSource {
  private readonly proxyOptions: ProxyProviderOptions;
  private readonly authMethod: UpstreamAuthMethod;
  private readonly timeoutMs: number;
  private readonly redirectPath: string;
  private readonly consentMode: ConsentMode;
  private readonly consentTtlSeconds: number;
  private readonly expiryThresholdMs: number;
  private readonly verificationCacheMs: number;
  private readonly verdicts = new Map<string, Verdict>();
  /**
   * Grants whose upstream token the verifier refused even after a refresh: until `until`, the same
   * token is refused without asking the upstream again, so a misconfigured verifier (a wrong
   * audience) or a revoked upstream session costs one upstream refresh per grant and period, not
   * one per request.
   */
  private readonly refusals = new Map<string, { accessToken: string; until: number }>();
  private readonly redirectAllowList: RedirectAllowList | undefined;
  private readonly downstreamOptions: DownstreamTokenOptions | undefined;
  /** The MCP endpoint's path, for a verifier that binds tokens to this server's URL. */
  private verifierPath = "/mcp";
  private port: ProxyPort | undefined;

  constructor(options: ProxyProviderOptions) {
    const registration = typeof options.clientRegistration === "object" ? options.clientRegistration : { enabled: options.clientRegistration !== false };
    super({
      ...options,
      clientRegistration: { ...registration, validScopes: registration.validScopes ?? options.validScopes ?? options.requiredScopes },
      clientMetadataDocuments: clientMetadataDocumentsOf(options),
    }, "oauth-proxy");
    this.proxyOptions = options;
    if (typeof options.upstreamClientId !== "string" || options.upstreamClientId === "") throw new AuthConfigurationError(`${this.constructor.name} needs upstreamClientId: the id of the app registered at the identity provider`);
    this.authMethod = options.tokenEndpointAuthMethod ?? (options.upstreamClientSecret ? "client_secret_basic" : "none");
    // Checked here, not only by the type: any other value would silently authenticate with client_secret_basic.
    if (!UPSTREAM_AUTH_METHODS.includes(this.authMethod)) throw new AuthConfigurationError(`${this.constructor.name} tokenEndpointAuthMethod must be one of ${UPSTREAM_AUTH_METHODS.join(", ")}, got ${String(this.authMethod)}`);
    if (this.authMethod !== "none" && !options.upstreamClientSecret) throw new AuthConfigurationError(`${this.constructor.name} tokenEndpointAuthMethod ${this.authMethod} needs upstreamClientSecret`);
    this.timeoutMs = this.positive(options.upstreamTimeoutMs, 10_000, "upstreamTimeoutMs");
    this.redirectPath = `/${(options.redirectPath ?? "/auth/callback").replace(/^\/+/, "")}`;
    this.consentMode = options.requireConsent === false ? "never" : options.requireConsent === true ? "always" : "remember";
    this.consentTtlSeconds = this.nonNegative(options.consentTtlSeconds, 90 * 86_400, "consentTtlSeconds");
    this.expiryThresholdMs = this.nonNegative(options.tokenExpiryThresholdSeconds, 0, "tokenExpiryThresholdSeconds") * 1000;
    this.verificationCacheMs = this.nonNegative(options.upstreamVerificationCacheSeconds, 60, "upstreamVerificationCacheSeconds") * 1000;
    this.redirectAllowList = options.allowedClientRedirectUris === undefined ? undefined : new RedirectAllowList(options.allowedClientRedirectUris, this.constructor.name);
    this.downstreamOptions = this.downstreamTokenOptions(options);
    if (this.redirectAllowList?.empty) this.warn(`${this.constructor.name}: allowedClientRedirectUris is empty: no client can be sent a code`);
    this.warnAboutScopes();
    if (this.consentMode === "never") {
      this.warn(`${this.constructor.name}: requireConsent is false: any client that registers gets a grant from a person's live session at the identity provider, without asking (development only)`);
    }
  }

  /** A configuration problem that does not stop the server: a line on stderr, or to onError when one is given. */
  private warn(message: string): void {
    if (this.onError === reportToStderr) reportToStderr(`warning: ${message}`);
    else this.onError(new AuthConfigurationError(message));
  }

  /** Shown on the consent page: `serverName`, else the host of the base URL. */
  get serverName(): string {
    return this.proxyOptions.serverName ?? new URL(this.baseUrl).host;
  }

  /** The URL the upstream sends the browser back to: register it with the upstream app. */
  get callbackUrl(): string {
    return this.endpointUrl(this.redirectPath);
  }

  override bind(mcpPath: string): void {
    super.bind(mcpPath);
    this.verifierPath = mcpPath;
    this.started?.services.verifier.bind(mcpPath);
  }

  override routes(): AuthRoute[] {
    return [...super.routes(), ...proxyRoutes(this.proxyPort(), this.redirectPath)];
  }

  /** A client, with only the redirect URIs `allowedClientRedirectUris` allows. */
  override async resolveClient(clientId: string): Promise<OAuthClientInformation | undefined> {
    const client = await super.resolveClient(clientId);
    const allowList = this.redirectAllowList;
    return client && allowList ? { ...client, redirect_uris: client.redirect_uris.filter((uri) => allowList.allows(uri)) } : client;
  }

  /** Refuses a registration naming a redirect URI `allowedClientRedirectUris` does not allow. */
  override async registerClient(client: OAuthClientInformation): Promise<void> {
    const refused = this.redirectAllowList && client.redirect_uris.findIndex((uri) => !this.redirectAllowList!.allows(uri));
    if (refused !== undefined && refused >= 0) throw new OAuthError("invalid_redirect_uri", `redirect_uris[${refused}]: this server does not accept that redirect URI`);
    await super.registerClient(client);
  }

  /** Seals the validated request into the consent page's URL, and sends the browser there. */
  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const sealed = (await this.running()).transactions.seal(client.client_id, params);
    return `${this.endpointUrl("/consent")}?txn=${encodeURIComponent(sealed)}`;
  }

  /**
   * The upstream access token behind a request's token (`ctx.auth`), refreshed first when it has
   * expired: for a tool that calls the identity provider's APIs for the user. Undefined when the
   * token is not one this proxy issued or its grant is gone.
   */
  async upstreamAccessToken(auth: AccessToken | undefined): Promise<string | undefined> {
    const grantId = auth?.claims.gid;
    if (typeof grantId !== "string") return undefined;
    return (await this.currentUpstreamTokens(grantId))?.accessToken;
  }

  /** The grant's upstream tokens, refreshed first when expired; undefined when it has none left (or the upstream refused the refresh). */
  private async currentUpstreamTokens(grantId: string): Promise<UpstreamTokens | undefined> {
    const { upstream } = (await this.running()).services;
    const tokens = await upstream.get(grantId);
    return tokens && this.expired(tokens) ? upstream.refresh(grantId, tokens) : tokens;
  }

  /**
   * A token for another API on behalf of the caller `auth` (a token this proxy issued), got as
   * `downstreamTokens` says and cached until shortly before it expires. Tools call it through
   * `ctx.downstreamToken()`. Fails with a {@link DownstreamTokenError}.
   */
  async downstreamToken(auth: AccessToken | undefined, request: DownstreamTokenRequest = {}): Promise<string> {
    const grantId = auth?.claims.gid;
    if (typeof grantId !== "string") throw new DownstreamTokenError("not_signed_in", "This request carries no token of a sign-in through this server");
    const { downstream } = (await this.running()).services;
    if (!downstream) throw new DownstreamTokenError("not_supported", `${this.constructor.name} is not configured to get tokens for other APIs (set downstreamTokens)`);
    let subject: UpstreamTokens | undefined;
    try {
      subject = await this.currentUpstreamTokens(grantId);
    } catch (error) {
      throw new DownstreamTokenError("unavailable", "The identity provider could not be reached to renew the user's sign-in; try again shortly", { cause: error });
    }
    if (!subject) throw new DownstreamTokenError("not_signed_in", "The user's sign-in at the identity provider is over: they must sign in again");
    return downstream.token(grantId, subject, request);
  }

  // ---- What the MCP client's flow needs ------------------------------------------------------

  /** The upstream's name for one of this server's scopes (Google's full userinfo URIs, say). Default: the same. */
  protected upstreamScopeName(scope: string): string {
    return scope;
  }

  /** The scopes a sign-in asks upstream: the sign-in scopes, then the client's (else the required ones), under the upstream's names. */
  protected upstreamScopes(scopes: readonly string[]): string[] {
    const asked = (scopes.length > 0 ? scopes : this.requiredScopes).map((scope) => this.upstreamScopeName(scope));
    return [...new Set([...(this.proxyOptions.upstreamSignInScopes ?? []), ...asked])];
  }

  /** The scopes a sign-in grants: those asked for, narrowed to what the upstream says it granted (under either name). */
  protected grantedScopes(requested: readonly string[], upstreamScope: string | undefined): string[] {
    if (upstreamScope === undefined) return [...requested];
    const granted = new Set(parseScopes(upstreamScope));
    return requested.filter((scope) => granted.has(scope) || granted.has(this.upstreamScopeName(scope)));
  }

  /** The token the verifier checks: the access token, or the ID token with `verifyIdToken`. */
  protected verificationToken(tokens: UpstreamTokens): string | undefined {
    return this.proxyOptions.verifyIdToken ? tokens.idToken : tokens.accessToken;
  }

  /** Where the upstream is and what verifies its tokens: called once, before the proxy serves. */
  protected abstract resolveUpstream(): Promise<ResolvedUpstream>;

  /** The upstream's name on the consent page, unless `identityProviderName` says. */
  protected abstract get upstreamHost(): string;

  protected async startServices(runtime: StoredRuntime): Promise<RunningProxy> {
    const resolved = await this.resolveUpstream();
    const server = new UpstreamServer({
      authorizationEndpoint: resolved.authorizationEndpoint,
      tokenEndpoint: resolved.tokenEndpoint,
      revocationEndpoint: resolved.revocationEndpoint,
      issuer: resolved.issuer,
      issRequired: resolved.issRequired ?? false,
      clientId: this.proxyOptions.upstreamClientId,
      clientSecret: this.proxyOptions.upstreamClientSecret,
      authMethod: this.authMethod,
      extraAuthorizeParams: { ...this.proxyOptions.extraAuthorizeParams },
      extraTokenParams: { ...this.proxyOptions.extraTokenParams },
      timeoutMs: this.timeoutMs,
    });
    const verifier = resolved.tokenVerifier;
    verifier.bind(this.verifierPath);
    const signIns = new UpstreamSignIns(runtime.store, runtime.box, runtime.cookies, TRANSACTION_TTL_SECONDS);
    const upstream = new UpstreamGrants(runtime.store, runtime.box, server);
    const oidc = resolved.issuer !== undefined;
    return {
      upstream,
      server,
      verifier,
      downstream: this.downstreamOptions && new DownstreamTokens(server, this.downstreamOptions),
      transactions: runtime.transactions,
      csrf: new CsrfTokens(runtime.hmacKey, runtime.cookies, TRANSACTION_TTL_SECONDS),
      consents: new RememberedConsents(runtime.hmacKey, runtime.cookies, this.consentTtlSeconds),
      signIns,
      begin: (c, pending) => {
        const scopes = this.upstreamScopes(pending.params.scopes);
        // What goes upstream as `scope`: extraAuthorizeParams win.
        const sent = parseScopes(this.proxyOptions.extraAuthorizeParams?.scope ?? scopes.join(" "));
        const started = signIns.begin(c, pending, { pkce: this.proxyOptions.forwardPkce !== false, nonce: oidc && sent.includes("openid") });
        return started && { location: this.upstreamUrl(server, started.signIn, scopes), setCookies: started.setCookies };
      },
      complete: (signIn, client, callback) => this.complete(runtime, { upstream, server, verifier }, signIn, client, callback),
    };
  }

  // ---- Per request: the upstream token behind ours -------------------------------------------

  protected override async acceptToken(runtime: StoredRuntime & { services: { upstream: UpstreamGrants; verifier: TokenVerifier } }, verified: AccessToken): Promise<AccessToken | undefined> {
    const { grants } = runtime;
    const { verifier } = runtime.services;
    const grantId = verified.claims.gid as string;
    const cached = this.acceptCachedToken(verified, Date.now());
    if (cached) return cached;
    let tokens = await runtime.services.upstream.get(grantId);
    if (!tokens) return undefined;
    const refusal = this.refusals.get(grantId);
    if (refusal && refusal.accessToken === tokens.accessToken && refusal.until > Date.now()) return undefined;
    try {
      let refreshed = false;
      if (this.expired(tokens)) [tokens, refreshed] = [await runtime.services.upstream.refresh(grantId, tokens), true];
      let identity = tokens && (await this.verifyUpstream(verifier, tokens));
      // Refused before its time: revoked upstream, or a clock that differs. One refresh settles it.
      if (tokens && !identity && !refreshed && tokens.refreshToken && tokens.expiresAt !== undefined) {
        [tokens, refreshed] = [await runtime.services.upstream.refresh(grantId, tokens), true];
        identity = tokens && (await this.verifyUpstream(verifier, tokens));
      }
      if (!tokens) {
        // The upstream session is over (no refresh token, or the upstream refused it): so is the
        // grant, on every instance, and the client learns it at its next refresh, not in a loop.
        await grants.revoke(grantId);
        return undefined;
      }
      if (!identity && refreshed && this.proxyOptions.verifyIdToken && tokens.idToken === undefined) {
        // An upstream that sends no new ID token with a refresh: the refresh it accepted says the
        // person is still signed in, and who they are is what the sign-in's ID token said. Trusted
        // until the new access token expires (then the upstream is asked again).
        return this.remember(verified, signedInIdentity(verified), tokens, { untilUpstreamExpiry: true });
      }
      if (!identity) {
        this.refuse(grantId, tokens);
        return undefined;
      }
      return this.remember(verified, identity, tokens);
    } catch (error) {
      // The upstream is down: refuse this request (the client retries), and say why in the logs.
      this.report(error);
      return undefined;
    }
  }

  protected override acceptCachedToken(verified: AccessToken, now: number): AccessToken | undefined {
    const verdict = this.verdicts.get(verified.claims.gid as string);
    return verdict && verdict.token === verified.token && verdict.until > now ? verdict.served : undefined;
  }

  protected override async grantExtended(runtime: StoredRuntime & { services: { upstream: UpstreamGrants } }, grantId: string, ttlSeconds: number): Promise<void> {
    await runtime.services.upstream.extend(grantId, ttlSeconds);
  }

  /** Revoking a grant revokes the upstream tokens behind it (not our own token, which means nothing upstream). */
  protected override async grantRevoked(runtime: StoredRuntime & { services: RunningProxy }, grantId: string): Promise<void> {
    this.verdicts.delete(grantId);
    this.refusals.delete(grantId);
    runtime.services.downstream?.forget(grantId);
    const { upstream, server } = runtime.services;
    const tokens = await upstream.remove(grantId);
    if (!tokens || !server.revocationSupported) return;
    try {
      if (tokens.refreshToken) await server.revoke(tokens.refreshToken, "refresh_token");
      await server.revoke(tokens.accessToken, "access_token");
    } catch (error) {
      this.report(error);
    }
  }

  // ---- Internals -----------------------------------------------------------------------------

  private upstreamUrl(server: UpstreamServer, signIn: UpstreamSignIn, scopes: readonly string[]): string {
    const { params } = signIn.pending;
    return server.authorizationUrl({
      redirect_uri: this.callbackUrl,
      state: signIn.state,
      scope: scopes.join(" "),
      ...(signIn.codeVerifier ? { code_challenge: s256(signIn.codeVerifier), code_challenge_method: "S256" } : {}),
      ...(signIn.nonce ? { nonce: signIn.nonce } : {}),
      ...(this.proxyOptions.forwardResource !== false && params.resource ? { resource: params.resource } : {}),
    });
  }

  /** The upstream's answer turned into a code for the MCP client, or an error it can act on. */
  private async complete(
    runtime: StoredRuntime,
    { upstream, server, verifier }: { upstream: UpstreamGrants; server: UpstreamServer; verifier: TokenVerifier },
    signIn: UpstreamSignIn,
    client: OAuthClientInformation,
    callback: URLSearchParams,
  ): Promise<string> {
    const { params } = signIn.pending;
    const fail = (error: string, description: string) => this.authorizationRedirect(params, { error, error_description: description });
    let tokens: UpstreamTokens;
    try {
      tokens = await server.exchangeCallback(callback, { state: signIn.state, codeVerifier: signIn.codeVerifier, redirectUri: this.callbackUrl, ...(signIn.nonce ? { nonce: signIn.nonce } : {}) });
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      if (error.kind === "unavailable") {
        this.report(error);
        return fail("temporarily_unavailable", "The identity provider could not be reached; try again shortly");
      }
      if (error.detail !== undefined && FORWARDED_UPSTREAM_ERRORS.has(error.detail)) return fail(error.detail, "The sign-in at the identity provider did not complete");
      this.report(error);
      return fail("server_error", "The identity provider did not accept the sign-in");
    }
    const identity = await this.verifyUpstream(verifier, tokens);
    if (!identity) {
      this.report(new Error(`${this.constructor.name}: the token verifier refused a token the identity provider just issued (check tokenVerifier's issuer, audience and scopes)`));
      return fail("server_error", "The identity provider's token was not accepted by this server");
    }
    const subject = identity.subject ?? (typeof identity.claims.sub === "string" ? identity.claims.sub : undefined);
    if (!subject) {
      this.report(new Error(`${this.constructor.name}: the token verifier accepted an upstream token without a subject`));
      return fail("server_error", "The identity provider did not say who signed in");
    }
    const granted = { ...params, scopes: this.grantedScopes(params.scopes, tokens.scope) };
    return this.approveGrant(runtime, client, granted, { subject, claims: { upstream_claims: boundedClaims(identity.claims) } }, (grantId, ttl) => upstream.save(grantId, tokens, ttl));
  }

  private verifyUpstream(verifier: TokenVerifier, tokens: UpstreamTokens): Promise<AccessToken | null> {
    const token = this.verificationToken(tokens);
    return token ? verifier.verifyToken(token) : Promise.resolve(null);
  }

  private downstreamTokenOptions(options: ProxyProviderOptions): DownstreamTokenOptions | undefined {
    const setting = options.downstreamTokens;
    if (setting === undefined) return undefined;
    const { grant, tokenEndpoint } = typeof setting === "string" ? { grant: setting, tokenEndpoint: undefined } : setting;
    if (!["token-exchange", "on-behalf-of", "upstream-token"].includes(grant)) {
      throw new AuthConfigurationError(`${this.constructor.name} downstreamTokens must be token-exchange, on-behalf-of or upstream-token, got ${String(grant)}`);
    }
    if (tokenEndpoint === undefined) return { grant };
    return { grant, tokenEndpoint: endpointUrl(tokenEndpoint, "downstreamTokens.tokenEndpoint", { allowInsecureHttp: options.allowInsecureHttp ?? false }) };
  }

  private expired(tokens: UpstreamTokens): boolean {
    return tokens.expiresAt !== undefined && tokens.expiresAt - this.expiryThresholdMs <= Date.now();
  }

  /** Remembers that the grant's current upstream token was refused (see {@link refusals}). */
  private refuse(grantId: string, tokens: UpstreamTokens): void {
    this.refusals.delete(grantId);
    if (this.refusals.size >= MAX_VERDICTS) this.refusals.delete(this.refusals.keys().next().value!);
    // Not past the token's expiry: an expired token is refreshed again, as any other.
    const until = Math.min(Date.now() + Math.max(this.verificationCacheMs, MIN_REFUSAL_MS), (tokens.expiresAt ?? Number.POSITIVE_INFINITY) - this.expiryThresholdMs);
    this.refusals.set(grantId, { accessToken: tokens.accessToken, until });
  }

  /** The token served for requests of this grant while the upstream verdict holds. */
  private remember(verified: AccessToken, identity: AccessToken, tokens: UpstreamTokens, options: { untilUpstreamExpiry?: boolean } = {}): AccessToken {
    const served = accessToken({ ...verified, claims: { ...verified.claims, upstream_claims: boundedClaims(identity.claims) } });
    const upstreamEnd = tokens.expiresAt === undefined ? Number.POSITIVE_INFINITY : tokens.expiresAt - this.expiryThresholdMs;
    const cacheEnd = options.untilUpstreamExpiry && tokens.expiresAt !== undefined ? Number.POSITIVE_INFINITY : Date.now() + this.verificationCacheMs;
    const until = Math.min(cacheEnd, upstreamEnd, (identity.expiresAt ?? Number.POSITIVE_INFINITY) * 1000);
    const grantId = verified.claims.gid as string;
    this.refusals.delete(grantId);
    this.verdicts.delete(grantId);
    if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(grantId, { token: verified.token, served, until });
    return served;
  }

  private proxyPort(): ProxyPort {
    if (this.port) return this.port;
    const proxy = this;
    this.port = {
      get serverName() { return proxy.serverName; },
      get cookies() { return proxy.cookies; },
      get identityProvider() { return proxy.proxyOptions.identityProviderName ?? proxy.upstreamHost; },
      scopeDescriptions: { ...this.proxyOptions.scopeDescriptions },
      consentMode: this.consentMode,
      renderConsent: this.proxyOptions.renderConsent,
      consentCsp: this.proxyOptions.consentCsp,
      ...this.stepPort(),
    };
    return this.port;
  }

  /**
   * Configurations that look right and break real clients, said at startup: a challenge that asks
   * only for identity scopes (clients then get tokens no tool accepts), and `offline_access` among
   * the scopes (never advertised: a client asks for refresh tokens itself).
   */
  private warnAboutScopes(): void {
    const warn = (message: string) => this.warn(message);
    const challenge = this.requiredScopes.filter((scope) => scope !== "offline_access");
    if (challenge.length > 0 && challenge.every((scope) => IDENTITY_SCOPES.has(scope))) {
      warn(`${this.constructor.name}: the 401 challenge asks only for identity scopes (${challenge.join(" ")}), so MCP clients request nothing your tools can check; set requiredScopes (or the verifier's) to the API scopes every request needs, and list the others in validScopes`);
    }
    if ([...this.requiredScopes, ...(this.registration.validScopes ?? [])].includes("offline_access")) {
      warn(`${this.constructor.name}: offline_access is among the scopes; it is never advertised in the protected resource metadata (a client asks for refresh tokens itself): remove it, and put it in upstreamSignInScopes if the identity provider needs it to issue refresh tokens`);
    }
  }
}

/** The identity the sign-in established, as the grant's tokens carry it (`upstream_claims`). */
function signedInIdentity(verified: AccessToken): AccessToken {
  const claims = (verified.claims.upstream_claims ?? {}) as Record<string, unknown>;
  return accessToken({ token: "", clientId: verified.clientId, scopes: verified.scopes, claims, ...(verified.subject !== undefined ? { subject: verified.subject } : {}) });
}

/** The upstream identity's claims as tokens carry them: at most 4 KiB, else only the standard identity claims. */
function boundedClaims(claims: Record<string, unknown>): Record<string, unknown> {
  if (Buffer.byteLength(JSON.stringify(claims)) <= MAX_UPSTREAM_CLAIMS_BYTES) return claims;
  const kept: Record<string, unknown> = {};
  for (const name of ["sub", "iss", "email", "email_verified", "name", "preferred_username"]) if (claims[name] !== undefined) kept[name] = claims[name];
  return kept;
}

/** `clientMetadataDocuments`, or the reference's `enableCimd`; both, disagreeing, is a mistake to say. */
function clientMetadataDocumentsOf(options: ProxyProviderOptions): ProxyProviderOptions["clientMetadataDocuments"] {
  const { enableCimd, clientMetadataDocuments } = options;
  if (enableCimd === undefined) return clientMetadataDocuments;
  if (clientMetadataDocuments !== undefined && (clientMetadataDocuments !== false) !== enableCimd) {
    throw new AuthConfigurationError("enableCimd and clientMetadataDocuments disagree: give one of them");
  }
  return clientMetadataDocuments ?? enableCimd;
}
