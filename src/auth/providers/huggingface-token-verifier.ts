import * as oauth from "oauth4webapi";
import { accessToken, clientIdFromClaims, parseScopes, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";
import { reportToStderr } from "../report.js";
import { endpointUrl } from "../urls.js";
import { AcceptedTokens } from "../verifiers/token-cache.js";
import { refusedByUpstream, verificationFailure } from "./upstream-failure.js";

export interface HuggingFaceTokenVerifierOptions extends AuthProviderOptions {
  /** Default `https://huggingface.co/oauth/userinfo`. */
  userinfoUrl?: string | URL;
  /** The OAuth app's client id, reported as the token's `clientId`. Default: the user's `sub` (userinfo does not name the app). */
  clientId?: string;
  /** Budget of each call to Hugging Face. Default 10. */
  timeoutSeconds?: number;
  /** Remember accepted tokens this long. Default 60; 0 turns it off. */
  cacheTtlSeconds?: number;
  /** Default 10,000. */
  maxCacheSize?: number;
  allowInsecureHttp?: boolean;
  /** Told when Hugging Face cannot be asked (unreachable, a timeout, a 5xx, an answer without `sub`). Default: stderr. */
  onError?: (error: unknown) => void;
}

export const HUGGINGFACE_USERINFO_URL = "https://huggingface.co/oauth/userinfo";
const MAX_TOKEN_LENGTH = 4_096;

/**
 * Checks a Hugging Face OAuth access token by asking whom it belongs to: `GET /oauth/userinfo`
 * with the token. A token Hugging Face answers for, with a `sub`, is accepted; its claims are the
 * userinfo (`sub`, `name`, `preferred_username`, `picture`, `profile`, `email` with the email
 * scope, and Hugging Face's own: `isPro`, `orgs`...). Userinfo lists no scopes and no expiry, so
 * the token's scopes are empty here (unless userinfo lists `scope`); HuggingFaceProvider takes the
 * granted scopes from the token response instead.
 */
export class HuggingFaceTokenVerifier extends TokenVerifier {
  readonly userinfoUrl: URL;
  private readonly server: oauth.AuthorizationServer;
  private readonly client: oauth.Client;
  private readonly clientId: string | undefined;
  private readonly timeoutMs: number;
  private readonly accepted: AcceptedTokens<AccessToken>;
  private readonly onError: (error: unknown) => void;

  constructor(options: HuggingFaceTokenVerifierOptions = {}) {
    super(options);
    this.userinfoUrl = endpointUrl(options.userinfoUrl ?? HUGGINGFACE_USERINFO_URL, "userinfoUrl", { allowInsecureHttp: options.allowInsecureHttp ?? false });
    this.server = { issuer: this.userinfoUrl.origin, userinfo_endpoint: this.userinfoUrl.href };
    this.clientId = options.clientId;
    // The userinfo call authenticates with the token alone; the client id is only a label here.
    this.client = { client_id: options.clientId ?? "fastmcp-ts" };
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    this.accepted = new AcceptedTokens(options.cacheTtlSeconds ?? 60, options.maxCacheSize);
    this.onError = options.onError ?? reportToStderr;
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const cached = this.accepted.get(token);
    if (cached) return cached;
    let info: oauth.UserInfoResponse;
    try {
      const response = await oauth.userInfoRequest(this.server, this.client, token, {
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.userinfoUrl.protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {}),
      });
      info = await oauth.processUserInfoResponse(this.server, this.client, oauth.skipSubjectCheck, response);
    } catch (error) {
      if (!refusedByUpstream(error)) this.onError(verificationFailure("HuggingFaceTokenVerifier", this.userinfoUrl, error));
      return null;
    }
    const claims = { ...info } as Record<string, unknown>;
    const verified = accessToken({ token, clientId: this.clientId ?? clientIdFromClaims(claims), scopes: parseScopes(claims.scope ?? claims.scopes), subject: info.sub, claims });
    this.accepted.remember(token, verified);
    return verified;
  }
}
