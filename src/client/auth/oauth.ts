import {
  auth,
  computeScopeUnion,
  extractWWWAuthenticateParams,
  isStrictScopeSuperset,
  type AuthProvider as SdkAuthProvider,
  type FetchLike,
} from "@modelcontextprotocol/client";
import { FastMCPError } from "../../errors.js";
import { MemoryStore } from "../../storage/memory.js";
import type { KeyValueStore } from "../../storage/store.js";
import { assertWebUrl, openSystemBrowser, type OpenBrowser } from "./browser.js";
import { CallbackServer } from "./callback-server.js";
import { NoOAuthMetadataError, OAuthFlowError, OAuthUnreachableError } from "./errors.js";
import { oauthFetch, purposeOf, requestFailureIn, type OAuthFetch } from "./oauth-fetch.js";
import { StoredClientProvider } from "./sdk-provider.js";
import { defaultTokenStore, ServerTokenStore, type ServerRecord } from "./token-store.js";

/** What the transport passes on a 401 (the SDK does not export its name). */
type UnauthorizedContext = Parameters<NonNullable<SdkAuthProvider["onUnauthorized"]>>[0];

export interface OAuthOptions {
  /** Scopes to ask for. Default: what the server's challenge or metadata names (MCP scope selection). */
  scopes?: string | readonly string[];
  /** How this client introduces itself when it registers. Default "fastmcp-ts". */
  clientName?: string;
  /** Pre-registered credentials at the authorization server (a secret makes a confidential client). */
  clientId?: string;
  clientSecret?: string;
  /** The https URL of this client's Client ID Metadata Document, used where the server supports them. */
  clientMetadataUrl?: string;
  /** Where the browser is sent back to. Default 127.0.0.1 on a free port (the port of an earlier registration when free). */
  callbackHost?: string;
  callbackPort?: number;
  /**
   * Where tokens and registrations are kept, per server URL and authorization server: "memory"
   * (the default for the library), "file" (the user's config directory, 0600; the CLI's default),
   * or any KeyValueStore.
   */
  tokenStorage?: "memory" | "file" | KeyValueStore;
  /** Takes the user to the authorization URL. Default: the system browser. Tests and headless hosts pass their own. */
  openBrowser?: OpenBrowser;
  /** How long to wait for the user to finish logging in. Default 5 minutes. */
  loginTimeoutMs?: number;
  /** Re-authorizations per request when the server asks for more scope (403 insufficient_scope). Default 2. */
  maxStepUps?: number;
  /** Refresh this long before the access token expires (at most half its lifetime). Default 60 s. */
  refreshSkewSeconds?: number;
  /** fetch for every OAuth request (discovery, registration, token). */
  fetch?: FetchLike;
}

/**
 * OAuth for the client: `new Client(url, { auth: "oauth" })` or `{ auth: new OAuth({...}) }`.
 * Discovery from the server's 401 (RFC 9728, then RFC 8414 / OpenID Connect), registration (a
 * Client ID Metadata Document, pre-registered credentials, or dynamic registration), PKCE S256
 * with a loopback callback, the RFC 8707 resource on every request, tokens kept per server and
 * issuer and refreshed before they expire, and step-up when the server asks for more scope.
 * The protocol steps run on the official SDK's `auth()`; the browser, the callback, storage and
 * step-up are ours.
 */
export class OAuth implements SdkAuthProvider {
  readonly options: OAuthOptions;
  private bound: { serverUrl: URL; storage: ServerTokenStore; provider: StoredClientProvider } | undefined;
  private store: KeyValueStore | undefined;
  /** One login or refresh at a time: concurrent requests wait for it instead of starting their own. */
  private inFlight: Promise<void> | undefined;
  /**
   * Dynamic registrations this instance has seen work (a code exchanged with them): never probed
   * again. Each probe is one more request to the authorization endpoint, and servers count those.
   */
  private readonly workingClients = new Set<string>();

  constructor(options: OAuthOptions = {}) {
    this.options = options;
    if (options.clientSecret !== undefined && options.clientId === undefined) throw new TypeError("OAuth clientSecret needs clientId");
    if (options.clientMetadataUrl !== undefined) checkMetadataUrl(options.clientMetadataUrl);
  }

  /** @internal Ties this instance to one MCP server (the Client does it). */
  bind(serverUrl: URL): void {
    if (this.bound) {
      if (this.bound.serverUrl.href !== serverUrl.href) throw new FastMCPError(`This OAuth instance is already used for ${this.bound.serverUrl.href}: create one per server`);
      return;
    }
    const storage = new ServerTokenStore(this.tokenStore(), serverUrl.href);
    const identity = { clientName: this.options.clientName ?? "fastmcp-ts", clientId: this.options.clientId, clientSecret: this.options.clientSecret, clientMetadataUrl: this.options.clientMetadataUrl };
    this.bound = { serverUrl, storage, provider: new StoredClientProvider(storage, identity) };
  }

  // ---- What the transport calls ----------------------------------------------------------------

  /** The access token to send; refreshed first when it is about to expire. */
  async token(): Promise<string | undefined> {
    const { storage } = this.binding();
    await this.inFlight?.catch(() => undefined);
    let tokens = await this.currentTokens(storage);
    if (tokens?.expires_at !== undefined && tokens.refresh_token && tokens.expires_at - this.refreshSkewMs(tokens) <= Date.now()) {
      await this.once(() => this.refresh()).catch(() => undefined);
      tokens = await this.currentTokens(storage);
    }
    return tokens?.access_token;
  }

  /**
   * A 401: refresh, or log in again (the server's challenge says where, and with which scopes).
   * The OAuth requests go through the `fetch` option, not the transport's `ctx.fetchFn`: that one
   * carries the Client's `headers`, meant for the MCP server, to the authorization server too.
   * Discovery starts over: the server may trust another authorization server since it was cached,
   * and the client must then register there (MCP 2026-07-28) instead of refreshing at the old one.
   */
  async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(ctx.response);
    await this.once(async () => {
      // The token was refused: whatever worked before (the server's registrations, its authorization server) may not any more.
      this.workingClients.clear();
      await this.binding().provider.invalidateCredentials("discovery");
      await this.authorize({ scope: this.configuredScope() ?? scope, resourceMetadataUrl });
    });
  }

  // ---- What the Client and the CLI call --------------------------------------------------------

  /** Logs in now (discovery, registration, the browser), unless stored tokens still work. */
  async login(options: { force?: boolean } = {}): Promise<void> {
    await this.once(() => this.authorize({ scope: this.configuredScope(), forceReauthorization: options.force === true }));
  }

  /**
   * Forgets this server's tokens and registrations. First, where the authorization server has a
   * revocation endpoint (RFC 7009), asks it to revoke the refresh and access tokens: best effort,
   * a failure there (unreachable, refused) never stops the logout. `revoked`: it accepted one.
   */
  async logout(): Promise<{ revoked: boolean }> {
    const { storage, provider } = this.binding();
    const revoked = await revokeStoredTokens(await storage.read(), provider, this.options.fetch ?? fetch).catch(() => false);
    await storage.clear();
    return { revoked };
  }

  /** Whether tokens are stored for the server (they may still be refused). */
  async hasTokens(): Promise<boolean> {
    return (await this.currentTokens(this.binding().storage)) !== undefined;
  }

  /**
   * The server answered 403 insufficient_scope: authorize again for the union of what was asked
   * for, what is held and what the server now requires (SEP-2350), skipping the refresh grant
   * when that adds scopes (a refresh cannot widen a grant).
   */
  async stepUp(requiredScope: string | undefined, resourceMetadataUrl?: URL): Promise<void> {
    const tokens = await this.currentTokens(this.binding().storage);
    const scope = computeScopeUnion(tokens?.requested_scope, tokens?.scope, requiredScope);
    const force = isStrictScopeSuperset(scope, tokens?.scope);
    await this.once(() => this.authorize({ scope, resourceMetadataUrl, forceReauthorization: force || requiredScope === undefined }));
  }

  get maxStepUps(): number {
    return this.options.maxStepUps ?? 2;
  }

  // ---- The flow ---------------------------------------------------------------------------------

  /** Refreshes with the stored refresh token (no browser); throws when that is not possible. */
  private async refresh(): Promise<void> {
    const { serverUrl, provider, storage } = this.binding();
    const issuer = (await storage.read()).latestIssuer;
    const client = issuer ? await provider.clientInformation({ issuer }) : undefined;
    if (!client) throw new OAuthFlowError("The stored tokens could not be refreshed: no client registration is kept for them");
    // auth() refreshes only on its interactive path, with a redirect URL (without one it wants a
    // client-credentials style token request and fails). The registered redirect URI stands in;
    // nothing is opened: a refused refresh ends in redirectToAuthorization, which only records a URL.
    provider.redirectUri = (client as { redirect_uris?: string[] }).redirect_uris?.[0] ?? "http://127.0.0.1/callback";
    let result: Awaited<ReturnType<typeof auth>>;
    try {
      result = await auth(provider, { serverUrl, fetchFn: oauthFetch(this.options.fetch) });
    } finally {
      provider.redirectUri = undefined;
      provider.pending = undefined;
    }
    if (result !== "AUTHORIZED") throw new OAuthFlowError("The stored tokens could not be refreshed");
  }

  private async authorize(request: { scope?: string | undefined; resourceMetadataUrl?: URL | undefined; fetchFn?: FetchLike; forceReauthorization?: boolean }): Promise<void> {
    const { serverUrl, provider, storage } = this.binding();
    const before = await storage.read();
    const callback = await this.startCallbackServer(before);
    provider.redirectUri = callback.redirectUri;
    provider.requestedScope = request.scope;
    const fetchFn = oauthFetch(request.fetchFn ?? this.options.fetch);
    const options = {
      serverUrl,
      ...(request.scope ? { scope: request.scope } : {}),
      ...(request.resourceMetadataUrl ? { resourceMetadataUrl: request.resourceMetadataUrl } : {}),
      fetchFn,
      ...(request.forceReauthorization ? { forceReauthorization: true } : {}),
    };
    try {
      for (let attempt = 1; ; attempt++) {
        provider.pending = undefined;
        if ((await auth(provider, options)) === "AUTHORIZED") return;
        const pending = provider.pending!;
        const clientId = pending.url.searchParams.get("client_id");
        if (attempt === 1 && this.mayBeStale(clientId, before) && (await this.registrationIsStale(pending.url, fetchFn))) {
          // The server forgot this client (a restart without storage, an expired registration): register once more.
          await provider.invalidateCredentials("client");
          continue;
        }
        const metadata = (await storage.read()).discovery?.authorizationServerMetadata;
        // Listening for the answer before the browser goes: a fast browser may come back at once.
        const waiting = callback.wait({
          state: pending.state,
          ...(metadata?.issuer ? { issuer: metadata.issuer } : {}),
          requireIssuer: metadata?.authorization_response_iss_parameter_supported === true,
        });
        waiting.catch(() => undefined);
        await this.sendUserTo(pending.url);
        const answer = await waiting;
        const exchanged = await auth(provider, { ...options, authorizationCode: answer.code, ...(answer.iss !== undefined ? { iss: answer.iss } : {}) });
        if (exchanged !== "AUTHORIZED") throw new OAuthFlowError("The authorization server did not issue tokens for the authorization code");
        if (clientId !== null) this.workingClients.add(clientId);
        return;
      }
    } catch (error) {
      throw await this.explained(error, fetchFn);
    } finally {
      provider.requestedScope = undefined;
      provider.redirectUri = undefined;
      await callback.close();
    }
  }

  /**
   * The SDK's errors, said plainly where they leave the user guessing: which URL could not be
   * reached, which metadata document is broken, or that the server publishes no OAuth metadata at
   * all (the SDK then falls back to POST /register on the server's origin, and reports its 404).
   */
  private async explained(error: unknown, fetchFn: OAuthFetch): Promise<unknown> {
    if (error instanceof FastMCPError) return error;
    const { serverUrl, storage } = this.binding();
    const discovery = (await storage.read()).discovery;
    const failed = requestFailureIn(error);
    if (failed) {
      const purpose = purposeOf(failed.url, discovery?.authorizationServerMetadata);
      const hint = new URL(failed.url).origin === serverUrl.origin ? undefined : UNREACHABLE_HINTS[purpose];
      return new OAuthUnreachableError({ url: failed.url, purpose, reason: failed.reason, serverUrl: serverUrl.href, hint }, { cause: error });
    }
    if (discovery && !discovery.authorizationServerMetadata) {
      return new NoOAuthMetadataError(serverUrl.href, discovery.resourceMetadata ? discovery.authorizationServerUrl : undefined, { cause: error });
    }
    if (!discovery && fetchFn.lastUrl && (error instanceof SyntaxError || (error as Error | undefined)?.name === "ZodError")) {
      return new OAuthFlowError(`The OAuth metadata at ${fetchFn.lastUrl} is not valid: ${describeInvalid(error)}`, { cause: error });
    }
    return error;
  }

  /**
   * Whether a registration is worth probing: only one read from storage (kept from an earlier run,
   * possibly forgotten by the server since) that this instance has not yet seen work. Not one that
   * auth() has just made, nor pre-registered credentials or a metadata document URL (configuration,
   * never saved, and registering again would not replace them).
   */
  private mayBeStale(clientId: string | null, before: ServerRecord): boolean {
    if (clientId === null || this.workingClients.has(clientId)) return false;
    return Object.values(before.clients).some((client) => client.client_id === clientId);
  }

  /**
   * Asks the authorization endpoint, without a browser, whether it knows this client and its
   * redirect URI: an unknown client gets an error page (4xx), never a redirect. A redirect or a
   * login page means it does.
   */
  private async registrationIsStale(url: URL, fetchFn: FetchLike | undefined): Promise<boolean> {
    try {
      const response = await (fetchFn ?? fetch)(url, { redirect: "manual", headers: { accept: "text/html" } });
      await response.body?.cancel();
      return response.status === 400 || response.status === 401;
    } catch {
      return false;
    }
  }

  private async sendUserTo(url: URL): Promise<void> {
    assertWebUrl(url.href);
    await (this.options.openBrowser ?? openSystemBrowser)(url.href);
  }

  /**
   * The loopback server the browser comes back to: on `callbackPort`, else on the port of an
   * earlier registration's redirect URI (so it keeps matching at servers that compare ports),
   * else on a free port.
   */
  private async startCallbackServer(record: ServerRecord): Promise<CallbackServer> {
    const settings = { host: this.options.callbackHost ?? "127.0.0.1", timeoutMs: this.options.loginTimeoutMs ?? 300_000 };
    if (this.options.callbackPort !== undefined) return CallbackServer.start({ ...settings, port: this.options.callbackPort });
    const previous = registeredPort(record);
    if (previous !== undefined) {
      try {
        return await CallbackServer.start({ ...settings, port: previous });
      } catch {
        // Taken by something else now: a new port (loopback redirect URIs match any port, RFC 8252 §7.3).
      }
    }
    return CallbackServer.start(settings);
  }

  private async once(step: () => Promise<void>): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const running = step().finally(() => { if (this.inFlight === running) this.inFlight = undefined; });
    this.inFlight = running;
    return running;
  }

  /** `refreshSkewSeconds`, but never more than half the token's life: a short-lived token is not refreshed on every request. */
  private refreshSkewMs(tokens: { expires_in?: number | undefined }): number {
    const skew = (this.options.refreshSkewSeconds ?? 60) * 1000;
    return tokens.expires_in !== undefined && tokens.expires_in > 0 ? Math.min(skew, (tokens.expires_in * 1000) / 2) : skew;
  }

  private configuredScope(): string | undefined {
    const { scopes } = this.options;
    if (scopes === undefined) return undefined;
    return typeof scopes === "string" ? scopes : scopes.join(" ");
  }

  private async currentTokens(storage: ServerTokenStore) {
    const record = await storage.read();
    return record.latestIssuer ? record.tokens[record.latestIssuer] : undefined;
  }

  private tokenStore(): KeyValueStore {
    if (this.store) return this.store;
    const setting = this.options.tokenStorage ?? "memory";
    this.store = setting === "memory" ? new MemoryStore() : setting === "file" ? defaultTokenStore() : setting;
    return this.store;
  }

  private binding(): NonNullable<OAuth["bound"]> {
    if (!this.bound) throw new FastMCPError("OAuth is not bound to a server: pass it to new Client(url, { auth })");
    return this.bound;
  }
}

/** Where a URL on another origin than the MCP server's came from, by what it was for. */
const UNREACHABLE_HINTS: Record<string, string> = {
  "the protected resource metadata": "the MCP server's 401 response names that URL; is the server's base URL right?",
  "the authorization server metadata": "the MCP server's protected resource metadata names that authorization server; is it running, and is that address right?",
};

/** A schema (zod) or JSON error, in a line. */
function describeInvalid(error: unknown): string {
  const issues = (error as { issues?: Array<{ path?: unknown[]; message?: string }> }).issues;
  if (Array.isArray(issues) && issues.length > 0) return issues.map((issue) => `${(issue.path ?? []).join(".") || "(document)"}: ${issue.message ?? "invalid"}`).join("; ");
  return error instanceof Error ? error.message : String(error);
}

/** The port of the first loopback redirect URI a stored registration names. */
function registeredPort(record: ServerRecord): number | undefined {
  for (const client of Object.values(record.clients)) {
    const uri = (client as { redirect_uris?: string[] }).redirect_uris?.[0];
    const port = uri ? Number(new URL(uri).port) : 0;
    if (port > 0) return port;
  }
  return undefined;
}

/** RFC 7009 revocation of the tokens of the issuer in the stored discovery state, refresh token first. */
async function revokeStoredTokens(record: ServerRecord, provider: StoredClientProvider, fetchFn: FetchLike): Promise<boolean> {
  const metadata = record.discovery?.authorizationServerMetadata;
  const issuer = metadata?.issuer;
  // Typed on the RFC 8414 shape only, but OpenID Connect metadata may carry it too.
  const endpoint = (metadata as { revocation_endpoint?: unknown } | undefined)?.revocation_endpoint;
  const tokens = issuer ? record.tokens[issuer] : undefined;
  if (!issuer || typeof endpoint !== "string" || !tokens || !isSecureEndpoint(endpoint)) return false;
  const client = await provider.clientInformation({ issuer });
  if (!client) return false;
  const method = (client as { token_endpoint_auth_method?: string }).token_endpoint_auth_method ?? (client.client_secret ? "client_secret_basic" : "none");
  let revoked = false;
  for (const [token, hint] of [[tokens.refresh_token, "refresh_token"], [tokens.access_token, "access_token"]] as const) {
    if (!token) continue;
    const body = new URLSearchParams({ token, token_type_hint: hint });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (client.client_secret !== undefined && method === "client_secret_basic") {
      // RFC 6749 §2.3.1: both halves form-urlencoded before the Base64.
      headers.authorization = `Basic ${Buffer.from(`${formEncode(client.client_id)}:${formEncode(client.client_secret)}`).toString("base64")}`;
    } else {
      body.set("client_id", client.client_id);
      if (client.client_secret !== undefined && method === "client_secret_post") body.set("client_secret", client.client_secret);
    }
    try {
      const response = await fetchFn(endpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) revoked = true;
    } catch {
      // Unreachable or too slow: the tokens are forgotten all the same.
    }
  }
  return revoked;
}

/** Tokens go to https endpoints only, or to loopback ones (local development), as the SDK's token endpoint check. */
function isSecureEndpoint(endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    return url.protocol === "https:" || (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname));
  } catch {
    return false;
  }
}

function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, "+");
}

function checkMetadataUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`clientMetadataUrl must be an https URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:" || parsed.pathname === "/" || parsed.hash) throw new TypeError(`clientMetadataUrl must be an https URL with a path, got ${url}`);
}
