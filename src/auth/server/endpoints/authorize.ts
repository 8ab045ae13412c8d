import type { Context as HonoContext } from "hono";
import { parseScopes } from "../../access-token.js";
import { OAuthError } from "../errors.js";
import { errorPage } from "../html.js";
import { isValidCodeChallenge } from "../pkce.js";
import type { AuthorizationServer } from "../contract.js";
import { redirectResponse } from "./responses.js";
import { readForm, repeatedParameters } from "./request-body.js";
import { resolveRedirectUri } from "../clients/redirect-uri.js";
import type { AuthorizationParams, OAuthClientInformation } from "../types.js";

/**
 * `/authorize` (GET, or POST with a form): validates the request, then lets the provider take the
 * user through login and consent. Until the client and its redirect URI are known to be genuine,
 * errors are shown as a page: redirecting them would make this server an open redirector.
 * Afterwards every error goes back to the client with `state` and `iss`.
 */
export function authorizeEndpoint(provider: AuthorizationServer): (c: HonoContext) => Promise<Response> {
  return async (c) => {
    let params: URLSearchParams;
    try {
      params = c.req.method === "POST" ? await readForm(c, { allowRepeated: true }) : new URL(c.req.url).searchParams;
    } catch (error) {
      return errorPage(400, "Invalid authorization request", error instanceof OAuthError ? error.description : "The request could not be read");
    }
    // A repeated parameter is invalid_request (RFC 6749 §4.1.2.1), sent to the client like any
    // other error, unless it is one that says which client, where to redirect, or which state to
    // echo: which copy to trust is exactly what parameter pollution plays on.
    const repeated = repeatedParameters(params);
    const ambiguous = repeated.find((name) => name === "client_id" || name === "redirect_uri" || name === "state");
    if (ambiguous !== undefined) return errorPage(400, "Invalid authorization request", `The parameter ${ambiguous} is repeated.`);
    const clientId = params.get("client_id");
    if (!clientId) return errorPage(400, "Invalid authorization request", "The request names no client (client_id is missing).");
    const client = await provider.resolveClient(clientId);
    if (!client) return unknownClient(provider);
    const redirect = resolveRedirectUri(params.get("redirect_uri") ?? undefined, client);
    if (!redirect) {
      const reason = params.has("redirect_uri") ? "The redirect_uri is not one this application registered." : "The request must name a redirect_uri: this application registered several.";
      return errorPage(400, "Invalid authorization request", reason);
    }
    const state = params.get("state") ?? undefined;
    const fail = (error: OAuthError) => {
      try {
        return redirectResponse(provider.authorizationRedirect({ redirectUri: redirect.uri, state }, { error: error.error, error_description: error.description }));
      } catch (problem) {
        // The redirect URI cannot carry the answer (a client registered in code with state or iss already in its query).
        if (!(problem instanceof OAuthError)) throw problem;
        return errorPage(400, "Invalid authorization request", problem.description);
      }
    };
    try {
      if (repeated.length > 0) throw new OAuthError("invalid_request", `The parameter ${repeated[0]} is repeated`);
      const request = validate(provider, client, params, { redirectUri: redirect.uri, redirectUriProvidedExplicitly: redirect.explicit, state });
      return redirectResponse(await provider.authorize(client, request));
    } catch (error) {
      if (error instanceof OAuthError) return fail(error);
      provider.report(error);
      return fail(new OAuthError("server_error", "The authorization server failed to handle the request"));
    }
  };
}

function validate(provider: AuthorizationServer, client: OAuthClientInformation, params: URLSearchParams, target: Pick<AuthorizationParams, "redirectUri" | "redirectUriProvidedExplicitly" | "state">): AuthorizationParams {
  const responseType = params.get("response_type");
  if (responseType !== "code") {
    throw new OAuthError(responseType ? "unsupported_response_type" : "invalid_request", responseType ? `response_type ${responseType} is not supported: use code` : "response_type is missing: use code");
  }
  if (client.response_types && !client.response_types.includes("code")) throw new OAuthError("unauthorized_client", "This client did not register the code response type");
  if (client.grant_types && !client.grant_types.includes("authorization_code")) throw new OAuthError("unauthorized_client", "This client did not register the authorization_code grant");
  const codeChallenge = params.get("code_challenge");
  if (!codeChallenge) throw new OAuthError("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
  const method = params.get("code_challenge_method");
  if (method !== "S256") throw new OAuthError("invalid_request", method ? `code_challenge_method ${method} is not supported: use S256` : "code_challenge_method is missing: only S256 is supported");
  if (!isValidCodeChallenge(codeChallenge)) throw new OAuthError("invalid_request", "code_challenge is not a base64url SHA-256 value (43 characters)");
  return {
    ...target,
    codeChallenge,
    scopes: requestedScopes(provider, client, params.get("scope")),
    resource: provider.resourceFor(params.get("resource")),
  };
}

/**
 * The scopes to grant: those asked for, else the client's registered ones, else the server's
 * required scopes. Checked against what the server supports, not against the client's first
 * registration: MCP clients register the scopes of their first challenge and later step up.
 */
export function requestedScopes(provider: AuthorizationServer, client: OAuthClientInformation, scope: string | null): string[] {
  const asked = scope === null ? parseScopes(client.scope ?? provider.registration.defaultScopes?.join(" ") ?? provider.requiredScopes.join(" ")) : parseScopes(scope);
  const scopes = [...new Set(asked)].filter((s) => s !== "offline_access");
  const supported = provider.scopesSupported;
  if (supported.length > 0) {
    const unknown = scopes.filter((s) => !supported.includes(s));
    if (unknown.length > 0) throw new OAuthError("invalid_scope", `Unknown scope${unknown.length > 1 ? "s" : ""}: ${unknown.join(" ")}`);
  }
  return scopes;
}

function unknownClient(provider: AuthorizationServer): Response {
  const hint = provider.registration.enabled ? " If you use an MCP client, remove this server and add it again so the client registers anew." : "";
  const response = errorPage(400, "Unknown application", `This application is not registered with this server (or its registration expired).${hint}`);
  if (provider.registration.enabled) response.headers.set("link", `<${provider.endpointUrl("/register")}>; rel="registration"`);
  return response;
}
