/**
 * Microsoft Entra's On-Behalf-Of flow on the oidc-provider stand-in: the jwt-bearer grant
 * (RFC 7523) with `requested_token_use=on_behalf_of`, the user's access token (one this provider
 * issued, checked against its own keys and issuer) as `assertion`, and the downstream API's scope.
 * The answer is a new access token for the same user with that scope, as Entra answers.
 */
import { createLocalJWKSet, jwtVerify, type JWK } from "jose";
import type Provider from "oidc-provider";
import { errors } from "oidc-provider";

export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** One token the stand-in issued on a user's behalf. */
export interface OnBehalfOfIssue {
  readonly subject: string;
  readonly scope: string;
  readonly assertion: string;
  readonly token: string;
}

export function registerOnBehalfOf(provider: Provider, issuer: string, publicKeys: JWK[], issued: OnBehalfOfIssue[]): void {
  const keys = createLocalJWKSet({ keys: publicKeys });
  provider.registerGrantType(JWT_BEARER, async (ctx, next) => {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const { assertion, scope } = params;
    if (params.requested_token_use !== "on_behalf_of" || !assertion || !scope) {
      throw new errors.InvalidRequest("On-Behalf-Of needs assertion, requested_token_use=on_behalf_of and scope");
    }
    let subject: string;
    try {
      const { payload } = await jwtVerify(assertion, keys, { issuer });
      if (typeof payload.sub !== "string") throw new Error("no sub");
      subject = payload.sub;
    } catch {
      throw new errors.InvalidGrant("the assertion is not a valid access token of this tenant");
    }
    const client = ctx.oidc.client!;
    const grant = new ctx.oidc.provider.Grant({ accountId: subject, clientId: client.clientId });
    const accessToken = new ctx.oidc.provider.AccessToken({ accountId: subject, client, grantId: await grant.save(), scope });
    const token = await accessToken.save();
    issued.push({ subject, scope, assertion, token });
    ctx.body = { access_token: token, token_type: "Bearer", expires_in: accessToken.expiration, scope };
    await next();
  }, ["assertion", "requested_token_use", "scope"]);
}
