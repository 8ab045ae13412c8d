import { accessToken, type AccessToken } from "../access-token.js";
import { JWTVerifier, type JWTVerifierOptions } from "../verifiers/jwt.js";
import { perVerifiedToken } from "./refine-token.js";

export interface AWSCognitoTokenVerifierOptions extends Omit<JWTVerifierOptions, "audience" | "publicKey"> {
  /** The app client id(s) whose access tokens are accepted (the tokens' `client_id` claim). */
  clientId: string | readonly string[];
}

/** The claims of a Cognito identity kept in the verified token. */
const IDENTITY_CLAIMS = ["sub", "username", "cognito:groups"] as const;

/**
 * Cognito user pool access tokens: JWTs with no `aud`. The app client they were issued to is in
 * `client_id`, which must be one of `clientId`; `token_use` must be `access` (an ID token is not
 * a credential for an API). The verified token keeps only the identity: `sub`, `username` and
 * `cognito:groups`.
 */
export class AWSCognitoTokenVerifier extends JWTVerifier {
  readonly clientIds: readonly string[];
  private readonly refine = perVerifiedToken((token) => this.accessTokenOfClient(token));

  constructor(options: AWSCognitoTokenVerifierOptions) {
    super({ ...options, audience: false });
    this.clientIds = Object.freeze(typeof options.clientId === "string" ? [options.clientId] : [...options.clientId]);
  }

  override async verifyToken(token: string): Promise<AccessToken | null> {
    return this.refine(await super.verifyToken(token));
  }

  override cachedToken(token: string): AccessToken | undefined {
    return this.refine(super.cachedToken(token)) ?? undefined;
  }

  private accessTokenOfClient(token: AccessToken): AccessToken | null {
    const { claims } = token;
    if (claims.token_use !== "access" || typeof claims.client_id !== "string" || !this.clientIds.includes(claims.client_id)) return null;
    const identity: Record<string, unknown> = {};
    for (const name of IDENTITY_CLAIMS) if (claims[name] !== undefined) identity[name] = claims[name];
    return accessToken({ ...token, clientId: claims.client_id, claims: identity });
  }
}
