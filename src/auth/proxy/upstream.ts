import * as oauth from "oauth4webapi";
import { FastMCPError } from "../../errors.js";

/** How the proxy authenticates to the upstream token and revocation endpoints (RFC 6749 §2.3). */
export type UpstreamAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

export interface UpstreamSettings {
  authorizationEndpoint: URL;
  tokenEndpoint: URL;
  revocationEndpoint: URL | undefined;
  /** The upstream's issuer identifier, when known: checked in its callbacks (RFC 9207) and ID tokens. */
  issuer: string | undefined;
  /** Refuse a callback without `iss` (the upstream's metadata says it always sends one). */
  issRequired: boolean;
  clientId: string;
  clientSecret: string | undefined;
  authMethod: UpstreamAuthMethod;
  extraAuthorizeParams: Readonly<Record<string, string>>;
  extraTokenParams: Readonly<Record<string, string>>;
  /** Budget of one upstream request. */
  timeoutMs: number;
}

/** What the upstream's token endpoint answered, as the proxy keeps it. */
export interface UpstreamTokens {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  idToken?: string;
  /** Milliseconds since the epoch; absent when the upstream did not say. */
  expiresAt?: number;
  scope?: string;
}

/**
 * A failed upstream call: `unavailable` when the upstream could not be reached or failed on its
 * side (a network error, a timeout, a 5xx: the user did nothing wrong, and must not be logged out
 * for it), `refused` when it answered with an OAuth error (a code or refresh token it no longer
 * accepts). The upstream's own error text stays in `detail`, for logs, never for clients.
 */
export class UpstreamError extends FastMCPError {
  override name = "UpstreamError";
  constructor(readonly kind: "unavailable" | "refused", message: string, readonly detail?: string, options?: { cause?: unknown }) {
    // The detail is for the logs (the reporter shows the message): clients only ever see our own words.
    super(detail === undefined ? message : `${message} (${detail.slice(0, 200)})`, options);
  }
}

/**
 * The proxy's side of the upstream identity provider, where it is a confidential (or public)
 * client with one pre-registered app: the authorization URL, the callback's checks, the code
 * exchange, refresh and revocation, all through oauth4webapi.
 */
export class UpstreamServer {
  private readonly server: oauth.AuthorizationServer;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;
  private readonly insecure: boolean;

  constructor(private readonly settings: UpstreamSettings) {
    this.server = {
      // Without an issuer, nothing is compared with one (see validateCallback).
      issuer: settings.issuer ?? settings.authorizationEndpoint.origin,
      authorization_endpoint: settings.authorizationEndpoint.href,
      token_endpoint: settings.tokenEndpoint.href,
      ...(settings.revocationEndpoint ? { revocation_endpoint: settings.revocationEndpoint.href } : {}),
    };
    this.client = { client_id: settings.clientId };
    this.clientAuth = clientAuthentication(settings.authMethod, settings.clientSecret);
    // Configuration checked the URLs: plain http only for loopback or when explicitly allowed.
    this.insecure = [settings.authorizationEndpoint, settings.tokenEndpoint, settings.revocationEndpoint].some((url) => url?.protocol === "http:");
  }

  get revocationSupported(): boolean {
    return this.settings.revocationEndpoint !== undefined;
  }

  /** The upstream authorization URL for one sign-in: `extraAuthorizeParams` last, so they win. */
  authorizationUrl(parameters: Record<string, string | undefined>): string {
    const url = new URL(this.settings.authorizationEndpoint);
    const query = { response_type: "code", client_id: this.settings.clientId, ...parameters, ...this.settings.extraAuthorizeParams };
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") url.searchParams.set(name, value);
    return url.href;
  }

  /**
   * The callback's parameters checked (state, RFC 9207 `iss` when the upstream has an issuer) and
   * the code exchanged. An upstream `error` is thrown as `refused` with its code only.
   */
  async exchangeCallback(parameters: URLSearchParams, expected: { state: string; codeVerifier: string | undefined; redirectUri: string; nonce?: string }): Promise<UpstreamTokens> {
    let checked: URLSearchParams;
    try {
      checked = oauth.validateAuthResponse(this.callbackServer(parameters), this.client, parameters, expected.state);
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError) throw new UpstreamError("refused", "the upstream sign-in ended with an error", error.error);
      throw new UpstreamError("refused", "the upstream callback is not valid", error instanceof Error ? error.message : String(error));
    }
    const response = await this.call("token", () =>
      oauth.authorizationCodeGrantRequest(this.server, this.client, this.clientAuth, checked, expected.redirectUri, expected.codeVerifier ?? oauth.nopkce, this.requestOptions(this.settings.extraTokenParams)),
    );
    return this.tokens("token", () =>
      oauth.processAuthorizationCodeResponse(this.server, this.client, response, expected.nonce !== undefined ? { expectedNonce: expected.nonce } : undefined),
    );
  }

  /** A new access token for `refreshToken`; an upstream that does not rotate keeps the old refresh token. */
  async refresh(refreshToken: string, scope?: string): Promise<UpstreamTokens> {
    const parameters = { ...this.settings.extraTokenParams, ...(scope ? { scope } : {}) };
    const response = await this.call("refresh", () => oauth.refreshTokenGrantRequest(this.server, this.client, this.clientAuth, refreshToken, this.requestOptions(parameters)));
    const tokens = await this.tokens("refresh", () => oauth.processRefreshTokenResponse(this.server, this.client, response));
    return { refreshToken, ...tokens };
  }

  /**
   * Another grant at the upstream's token endpoint (or `tokenEndpoint`), authenticated as the
   * proxy's app: RFC 8693 token exchange, Entra's On-Behalf-Of. `extraTokenParams` are not sent:
   * they belong to the sign-in's own requests.
   */
  async grant(grantType: string, parameters: Record<string, string>, tokenEndpoint?: URL): Promise<UpstreamTokens> {
    const server = tokenEndpoint === undefined ? this.server : { ...this.server, token_endpoint: tokenEndpoint.href };
    const insecure = this.insecure || tokenEndpoint?.protocol === "http:";
    const options = { ...this.requestOptions(), ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}) };
    const response = await this.call("token", () => oauth.genericTokenEndpointRequest(server, this.client, this.clientAuth, grantType, parameters, options));
    return this.tokens("token", () => oauth.processGenericTokenEndpointResponse(server, this.client, response));
  }

  /** Revokes an upstream token (RFC 7009); a no-op without a revocation endpoint. */
  async revoke(token: string, hint: "access_token" | "refresh_token"): Promise<void> {
    if (!this.settings.revocationEndpoint) return;
    const response = await this.call("revocation", () =>
      oauth.revocationRequest(this.server, this.client, this.clientAuth, token, { ...this.requestOptions(), additionalParameters: { token_type_hint: hint } }),
    );
    try {
      await oauth.processRevocationResponse(response);
    } catch (error) {
      throw classify("revocation", error);
    }
  }

  private requestOptions(additionalParameters?: Record<string, string>): oauth.TokenEndpointRequestOptions {
    return {
      signal: AbortSignal.timeout(this.settings.timeoutMs),
      ...(additionalParameters && Object.keys(additionalParameters).length > 0 ? { additionalParameters } : {}),
      ...(this.insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  /** The callback is checked against the configured issuer, or, without one, against what it says itself. */
  private callbackServer(parameters: URLSearchParams): oauth.AuthorizationServer {
    if (this.settings.issuer !== undefined) return { ...this.server, authorization_response_iss_parameter_supported: this.settings.issRequired };
    const iss = parameters.get("iss");
    return iss ? { ...this.server, issuer: iss } : this.server;
  }

  private async call(what: string, request: () => Promise<Response>): Promise<Response> {
    try {
      return await request();
    } catch (error) {
      throw new UpstreamError("unavailable", `the upstream ${what} endpoint could not be reached`, error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  private async tokens(what: string, process: () => Promise<oauth.TokenEndpointResponse>): Promise<UpstreamTokens> {
    let result: oauth.TokenEndpointResponse;
    try {
      result = await process();
    } catch (error) {
      throw classify(what, error);
    }
    if (result.expires_in !== undefined && result.expires_in <= 0) {
      throw new UpstreamError("refused", `the upstream ${what} endpoint issued a token that has already expired`, `expires_in ${result.expires_in}`);
    }
    const tokens: UpstreamTokens = { accessToken: result.access_token, tokenType: result.token_type };
    if (result.refresh_token !== undefined) tokens.refreshToken = result.refresh_token;
    if (result.id_token !== undefined) tokens.idToken = result.id_token;
    if (result.expires_in !== undefined) tokens.expiresAt = Date.now() + result.expires_in * 1000;
    if (result.scope !== undefined) tokens.scope = result.scope;
    return tokens;
  }
}

/** An upstream answer that is not a success: its OAuth error refused it; anything else is the upstream's fault. */
function classify(what: string, error: unknown): UpstreamError {
  if (error instanceof oauth.ResponseBodyError) {
    return error.status >= 500
      ? new UpstreamError("unavailable", `the upstream ${what} endpoint failed (HTTP ${error.status})`, error.error, { cause: error })
      : new UpstreamError("refused", `the upstream ${what} endpoint refused the request`, `${error.status} ${error.error}`, { cause: error });
  }
  if (error instanceof UpstreamError) return error;
  // GitHub answers token errors with HTTP 200 (`bad_verification_code`, `bad_refresh_token`): still a refusal.
  const refusal = oauthErrorInSuccess(error);
  if (refusal !== undefined) return new UpstreamError("refused", `the upstream ${what} endpoint refused the request`, `200 ${refusal}`, { cause: error });
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamError("unavailable", `the upstream ${what} endpoint gave an answer that is not a valid token response`, detail, { cause: error });
}

/** The OAuth `error` code of a 200 answer that carries one instead of a token. */
function oauthErrorInSuccess(error: unknown): string | undefined {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.INVALID_RESPONSE) return undefined;
  const body = (error.cause as { body?: unknown } | undefined)?.body;
  const code = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof code === "string" && code !== "" ? code : undefined;
}

function clientAuthentication(method: UpstreamAuthMethod, secret: string | undefined): oauth.ClientAuth {
  if (method === "none") return oauth.None();
  if (secret === undefined) throw new Error(`upstream authentication ${method} needs a client secret`);
  return method === "client_secret_post" ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}
