import * as oauth from "oauth4webapi";
import { accessToken, parseScopes, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { AuthConfigurationError } from "../urls.js";
import { domainUrl } from "./domain-url.js";
import { refusedByUpstream, verificationFailure } from "./upstream-failure.js";

export interface ClerkTokenVerifierOptions extends AuthProviderOptions {
  /** Your Clerk instance's Frontend API domain: `your-app-12.clerk.accounts.dev`, or `clerk.example.com` in production. */
  domain: string;
  /** The client id of the Clerk OAuth application: tokens issued to another application are refused. */
  clientId: string;
  /** Its secret, sent with every introspection (HTTP Basic); without it, the client id goes in the form. */
  clientSecret?: string;
  /** Budget of each call to Clerk. Default 10. */
  timeoutSeconds?: number;
  allowInsecureHttp?: boolean;
  /** Told when Clerk cannot be asked (unreachable, a timeout, a 5xx). Default: stderr. */
  onError?: (error: unknown) => void;
}

const MAX_TOKEN_LENGTH = 16_384;

/**
 * Checks a Clerk OAuth access token with Clerk's introspection endpoint (`POST <domain>/oauth/token_info`,
 * RFC 7662): it must be `active`, issued to this application (`aud`, else `client_id`), name a
 * user (`sub`), and carry the required scopes. The user's profile (`email`, `name`, `picture`...)
 * is then read from `<domain>/oauth/userinfo` and added to the claims; a profile Clerk cannot
 * serve leaves the token accepted.
 */
export class ClerkTokenVerifier extends TokenVerifier {
  readonly tokenInfoUrl: URL;
  readonly userinfoUrl: URL;
  private readonly server: oauth.AuthorizationServer;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;
  private readonly timeoutMs: number;
  private readonly onError: (error: unknown) => void;

  constructor(options: ClerkTokenVerifierOptions) {
    super(options);
    if (typeof options.clientId !== "string" || options.clientId === "") throw new AuthConfigurationError("ClerkTokenVerifier needs clientId: the client id of your Clerk OAuth application");
    const domain = domainUrl(options.domain, "domain", options.allowInsecureHttp);
    this.tokenInfoUrl = new URL(`${domain}/oauth/token_info`);
    this.userinfoUrl = new URL(`${domain}/oauth/userinfo`);
    this.server = { issuer: domain, introspection_endpoint: this.tokenInfoUrl.href, userinfo_endpoint: this.userinfoUrl.href };
    this.client = { client_id: options.clientId };
    this.clientAuth = options.clientSecret ? oauth.ClientSecretBasic(options.clientSecret) : oauth.None();
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    let info: oauth.IntrospectionResponse;
    try {
      const response = await oauth.introspectionRequest(this.server, this.client, this.clientAuth, token, { additionalParameters: { token_type_hint: "access_token" }, ...this.requestOptions() });
      info = await oauth.processIntrospectionResponse(this.server, this.client, response);
    } catch (error) {
      // Introspection answers an unknown token with active: false; any failure is Clerk's or our credentials'.
      this.onError(verificationFailure("ClerkTokenVerifier", this.tokenInfoUrl, error));
      return null;
    }
    if (!this.acceptable(info)) return null;
    const subject = info.sub!;
    const claims = { ...(await this.profile(token, subject)), ...(info as Record<string, unknown>) };
    return accessToken({
      token,
      clientId: this.client.client_id,
      scopes: parseScopes(info.scope),
      subject,
      claims,
      ...(typeof info.exp === "number" ? { expiresAt: info.exp } : {}),
    });
  }

  /** Active, unexpired, this application's, a user's, with every required scope. */
  private acceptable(info: oauth.IntrospectionResponse): boolean {
    if (info.active !== true) return false;
    if (typeof info.exp === "number" && info.exp <= Date.now() / 1000) return false;
    const audience = info.aud ?? info.client_id;
    if (!(Array.isArray(audience) ? audience.includes(this.client.client_id) : audience === this.client.client_id)) return false;
    if (typeof info.sub !== "string" || info.sub === "") return false;
    const scopes = parseScopes(info.scope);
    return this.requiredScopes.every((scope) => scopes.includes(scope));
  }

  /** The userinfo claims; none when Clerk cannot serve them, which does not refuse the token. */
  private async profile(token: string, subject: string): Promise<Record<string, unknown>> {
    try {
      const response = await oauth.userInfoRequest(this.server, this.client, token, this.requestOptions());
      return { ...(await oauth.processUserInfoResponse(this.server, this.client, subject, response)) };
    } catch (error) {
      if (!refusedByUpstream(error)) this.onError(verificationFailure("ClerkTokenVerifier", this.userinfoUrl, error));
      return {};
    }
  }

  private requestOptions(): { signal: AbortSignal; [oauth.allowInsecureRequests]?: boolean } {
    return { signal: AbortSignal.timeout(this.timeoutMs), ...(this.tokenInfoUrl.protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {}) };
  }
}
