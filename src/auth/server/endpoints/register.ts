import type { Context as HonoContext } from "hono";
import { clientAddress } from "../../../http/client-address.js";
import { newClientInformation, parseRegistrationRequest } from "../clients/registration.js";
import { OAuthError, OAuthLimitError } from "../errors.js";
import type { AuthorizationServer } from "../contract.js";
import { OAUTH_CORS_HEADERS } from "./cors.js";
import { BodyError, readJsonObject } from "./request-body.js";
import { jsonResponse, oauthErrorResponse } from "./responses.js";

/** `/register` (RFC 7591): validated metadata in, a new client out (201), rate limited per address. */
export function registerEndpoint(provider: AuthorizationServer): (c: HonoContext) => Promise<Response> {
  return async (c) => {
    try {
      const wait = provider.registrationLimiter?.hit(clientAddress(c, provider.trustProxyHeaders));
      if (wait !== undefined) throw new OAuthLimitError(`Too many registrations from this address; retry in ${wait} s`, wait);
      const body = await readJsonObject(c);
      const metadata = parseRegistrationRequest(body, {
        // offline_access is how clients ask for refresh tokens: always acceptable.
        validScopes: provider.scopesSupported.length > 0 ? [...provider.scopesSupported, "offline_access"] : undefined,
        defaultScopes: provider.registration.defaultScopes,
        allowedAuthMethods: provider.registration.allowedAuthMethods,
      });
      const { stored, response } = newClientInformation(metadata);
      await provider.registerClient(stored);
      return jsonResponse(response, 201, OAUTH_CORS_HEADERS);
    } catch (error) {
      if (error instanceof BodyError) {
        return oauthErrorResponse(new OAuthError("invalid_client_metadata", error.description), { status: error.status === 413 ? 413 : 400, headers: OAUTH_CORS_HEADERS });
      }
      if (error instanceof OAuthLimitError) return oauthErrorResponse(error, { headers: OAUTH_CORS_HEADERS });
      if (error instanceof OAuthError) return oauthErrorResponse(error, { status: 400, headers: OAUTH_CORS_HEADERS });
      provider.report(error);
      return oauthErrorResponse(new OAuthError("server_error", "The client could not be registered"), { headers: OAUTH_CORS_HEADERS });
    }
  };
}
