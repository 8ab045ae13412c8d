import * as oauth from "oauth4webapi";
import { accessToken, clientIdFromClaims, parseScopes, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { domainUrl } from "./domain-url.js";
import { refusedByUpstream, verificationFailure } from "./upstream-failure.js";

export interface WorkOSTokenVerifierOptions extends AuthProviderOptions {
  /** Your AuthKit domain, `https://your-project.authkit.app` (`https://` may be left out). */
  authkitDomain: string;
  /** Budget of each call to WorkOS. Default 10. */
  timeoutSeconds?: number;
  allowInsecureHttp?: boolean;
  /** Told when WorkOS cannot be asked (unreachable, a timeout, a 5xx). Default: stderr. */
  onError?: (error: unknown) => void;
}

const MAX_TOKEN_LENGTH = 16_384;

/**
 * Checks a WorkOS Connect (AuthKit) access token by asking WorkOS who it belongs to: `GET
 * <domain>/oauth2/userinfo` with the token. A token WorkOS answers for, with a `sub`, is
 * accepted; its claims are the userinfo (`sub`, `email`, `email_verified`, `name`...), its scopes
 * those userinfo lists in `scope` or `scopes`, if any.
 */
export class WorkOSTokenVerifier extends TokenVerifier {
  readonly userinfoUrl: URL;
  private readonly server: oauth.AuthorizationServer;
  private readonly timeoutMs: number;
  private readonly onError: (error: unknown) => void;

  constructor(options: WorkOSTokenVerifierOptions) {
    super(options);
    const domain = domainUrl(options.authkitDomain, "authkitDomain", options.allowInsecureHttp);
    this.userinfoUrl = new URL(`${domain}/oauth2/userinfo`);
    this.server = { issuer: domain, userinfo_endpoint: this.userinfoUrl.href };
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    // The userinfo call authenticates with the token alone; the client id is only a label here.
    const client: oauth.Client = { client_id: "fastmcp-ts" };
    let info: oauth.UserInfoResponse;
    try {
      const response = await oauth.userInfoRequest(this.server, client, token, {
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.userinfoUrl.protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {}),
      });
      info = await oauth.processUserInfoResponse(this.server, client, oauth.skipSubjectCheck, response);
    } catch (error) {
      if (!refusedByUpstream(error)) this.onError(verificationFailure("WorkOSTokenVerifier", this.userinfoUrl, error));
      return null;
    }
    const claims = { ...info } as Record<string, unknown>;
    return accessToken({ token, clientId: clientIdFromClaims(claims), scopes: parseScopes(claims.scope ?? claims.scopes), subject: info.sub, claims });
  }
}
