import type { Context as HonoContext } from "hono";
import type { AuthRoute } from "../provider.js";
import { readForm } from "../server/endpoints/request-body.js";
import { redirectResponse } from "../server/endpoints/responses.js";
import { errorPage, pageHeaders, PAGE_CSP } from "../server/html.js";
import { consentPage, redirectTarget } from "../server/interaction/pages.js";
import { expired, guard, openStep as openAnyStep, sessionMismatch, unknownClient, type Step as AnyStep } from "../server/interaction/steps.js";
import { matchesRegisteredRedirectUri } from "../server/clients/redirect-uri.js";
import type { ConsentView, ProxyPort, ProxyServices } from "./port.js";

type Step = AnyStep<ProxyServices>;

/**
 * The proxy's pages: `/consent` (approve or deny the MCP client before signing in upstream; a
 * remembered approval goes straight on) and the upstream's callback, which turns the upstream
 * sign-in into a code for the MCP client.
 */
export function proxyRoutes(port: ProxyPort, callbackPath: string): AuthRoute[] {
  return [
    { method: "GET", path: "/consent", handler: (c) => guard(port, () => showConsent(port, c)) },
    { method: "POST", path: "/consent", handler: (c) => guard(port, () => submitConsent(port, c)) },
    { method: "GET", path: callbackPath, handler: (c) => guard(port, () => callback(port, c)) },
  ];
}

/** A step whose client may still be sent to its redirect URI (the allow-list may have narrowed since /authorize). */
async function openStep(port: ProxyPort, txn: string | null | undefined): Promise<Step | Response> {
  const step = await openAnyStep(port, txn);
  if (step instanceof Response) return step;
  if (!matchesRegisteredRedirectUri(step.pending.params.redirectUri, step.client.redirect_uris)) return redirectWithdrawn();
  return step;
}

/** The client no longer has (or may no longer use) the redirect URI: nothing is sent there. */
function redirectWithdrawn(): Response {
  return errorPage(400, "Invalid authorization request", "The application's redirect URI is no longer allowed by this server.");
}

function approvalOf(step: Step) {
  return { clientId: step.client.client_id, redirectUri: step.pending.params.redirectUri, scopes: step.pending.params.scopes };
}

// ---- Consent ----------------------------------------------------------------------------------

async function showConsent(port: ProxyPort, c: HonoContext): Promise<Response> {
  const step = await openStep(port, c.req.query("txn"));
  if (step instanceof Response) return step;
  const remembered = port.consentMode === "remember" && step.services.consents.covers(c, approvalOf(step));
  if (port.consentMode === "never" || remembered) {
    if (!(await step.services.transactions.consume(step.pending))) return expired();
    return toUpstream(c, step);
  }
  const csrf = step.services.csrf.issue(c, step.pending.id);
  const view = consentView(port, step, csrf.token);
  const html = port.renderConsent ? await port.renderConsent(view) : defaultConsentPage(port, step, view);
  const headers = pageHeaders({ "content-security-policy": port.consentCsp ?? PAGE_CSP });
  if (port.consentCsp === "") headers.delete("content-security-policy");
  for (const cookie of csrf.setCookies) headers.append("set-cookie", cookie);
  return new Response(html, { status: 200, headers });
}

async function submitConsent(port: ProxyPort, c: HonoContext): Promise<Response> {
  const form = await readForm(c);
  const step = await openStep(port, form.get("txn"));
  if (step instanceof Response) return step;
  const { services, pending } = step;
  // A second submission after the first ended it (its CSRF cookie is gone by then) is told so.
  if (!services.csrf.verify(c, pending.id, form.get("csrf"))) return (await services.transactions.ended(pending)) ? expired() : sessionMismatch();
  const action = form.get("action");
  if (action !== "approve" && action !== "deny") return errorPage(400, "Invalid request", "Choose Approve or Deny.");
  if (!(await services.transactions.consume(pending))) return expired();
  const response = action === "deny"
    ? redirectResponse(port.authorizationRedirect(pending.params, { error: "access_denied", error_description: "The user denied the request" }))
    : toUpstream(c, step);
  if (action === "approve" && port.consentMode === "remember") {
    const remember = services.consents.remember(c, approvalOf(step));
    if (remember) response.headers.append("set-cookie", remember);
  }
  response.headers.append("set-cookie", services.csrf.clear(pending.id));
  return response;
}

/** Sends the browser to the upstream, holding the sign-in it starts. */
function toUpstream(c: HonoContext, step: Step): Response {
  const started = step.services.begin(c, step.pending);
  if (!started) return errorPage(400, "Invalid authorization request", "The authorization request is too large to carry through the sign-in (its state or redirect URI is too long).");
  const response = redirectResponse(started.location);
  for (const cookie of started.setCookies) response.headers.append("set-cookie", cookie);
  return response;
}

function consentView(port: ProxyPort, step: Step, csrf: string): ConsentView {
  const { client, pending } = step;
  const clientView: ConsentView["client"] = { id: client.client_id, name: client.client_name ?? client.client_id };
  if (client.client_uri) clientView.uri = client.client_uri;
  if (client.logo_uri) clientView.logoUri = client.logo_uri;
  if (client.metadata_document) clientView.verifiedHost = new URL(client.client_id).host;
  return {
    serverName: port.serverName,
    identityProvider: port.identityProvider,
    client: clientView,
    redirectUri: pending.params.redirectUri,
    redirectHost: redirectTarget(pending.params.redirectUri),
    scopes: pending.params.scopes.map((scope) => (port.scopeDescriptions[scope] ? { scope, description: port.scopeDescriptions[scope] } : { scope })),
    form: { action: port.endpointUrl("/consent"), fields: { txn: step.txn, csrf } },
  };
}

function defaultConsentPage(port: ProxyPort, step: Step, view: ConsentView): string {
  return consentPage({
    serverName: port.serverName,
    client: step.client,
    signInWith: port.identityProvider,
    redirectUri: view.redirectUri,
    scopes: step.pending.params.scopes,
    scopeDescriptions: port.scopeDescriptions,
    action: view.form.action,
    transaction: view.form.fields.txn!,
    csrf: view.form.fields.csrf!,
  });
}

// ---- The upstream's callback ------------------------------------------------------------------

async function callback(port: ProxyPort, c: HonoContext): Promise<Response> {
  const parameters = new URL(c.req.url).searchParams;
  const state = parameters.get("state");
  if (!state || (!parameters.has("code") && !parameters.has("error"))) {
    return errorPage(400, "Invalid sign-in response", "The identity provider's answer is missing its state, or carries neither a code nor an error.");
  }
  const services = await port.services();
  const signIn = await services.signIns.finish(c, state);
  if (signIn === "missing") {
    return errorPage(403, "Sign-in not recognised", "This browser did not start this sign-in (or it expired). Start again from your application, in this browser.");
  }
  if (signIn === "used") return errorPage(400, "This sign-in has already completed", "This sign-in link was already used. Start again from your application.");
  const client = await port.resolveClient(signIn.pending.clientId);
  if (!client) return unknownClient();
  if (!matchesRegisteredRedirectUri(signIn.pending.params.redirectUri, client.redirect_uris)) return redirectWithdrawn();
  const response = redirectResponse(await services.complete(signIn, client, parameters));
  response.headers.append("set-cookie", services.signIns.clear(state));
  return response;
}
