import type { Context as HonoContext } from "hono";
import { clientAddress } from "../../../http/client-address.js";
import type { AuthRoute } from "../../provider.js";
import { readForm } from "../endpoints/request-body.js";
import { redirectResponse } from "../endpoints/responses.js";
import { errorPage, pageHeaders } from "../html.js";
import { consentPage, loginPage } from "./pages.js";
import type { InteractionPort, InteractionServices, SignedInUser } from "./port.js";
import { expired, guard, openStep as openAnyStep, sessionMismatch, type Step as AnyStep } from "./steps.js";

type Step = AnyStep<InteractionServices>;
const openStep = openAnyStep<InteractionServices>;

const SESSION_COOKIE = "fastmcp_session";

/**
 * The pages a person sees between `/authorize` and the client's redirect URI: `/login` (username
 * and password) and `/consent` (approve or deny this application). Both are plain HTML forms that
 * work without JavaScript, with a CSRF token per transaction, and never framed.
 */
export function interactionRoutes(port: InteractionPort): AuthRoute[] {
  return [
    { method: "GET", path: "/login", handler: (c) => guard(port, () => showLogin(port, c)) },
    { method: "POST", path: "/login", handler: (c) => guard(port, () => submitLogin(port, c)) },
    { method: "GET", path: "/consent", handler: (c) => guard(port, () => showConsent(port, c)) },
    { method: "POST", path: "/consent", handler: (c) => guard(port, () => submitConsent(port, c)) },
  ];
}

function currentUser(port: InteractionPort, step: Step, c: HonoContext): Promise<SignedInUser | undefined> {
  return step.services.sessions.user(port.cookies.read(c, SESSION_COOKIE));
}

function stepUrl(port: InteractionPort, page: "/login" | "/consent", step: Step): string {
  return `${port.endpointUrl(page)}?txn=${encodeURIComponent(step.txn)}`;
}

// ---- Login ------------------------------------------------------------------------------------

async function showLogin(port: InteractionPort, c: HonoContext): Promise<Response> {
  const step = await openStep(port, c.req.query("txn"));
  if (step instanceof Response) return step;
  if (await currentUser(port, step, c)) return redirectResponse(stepUrl(port, "/consent", step));
  return renderLogin(port, c, step, 200);
}

function renderLogin(port: InteractionPort, c: HonoContext, step: Step, status: number, error?: { message: string; username: string }): Response {
  const csrf = step.services.csrf.issue(c, step.pending.id);
  const html = loginPage({
    serverName: port.serverName,
    clientName: step.client.client_name ?? step.client.client_id,
    action: port.endpointUrl("/login"),
    transaction: step.txn,
    csrf: csrf.token,
    ...(error ? { error: error.message, username: error.username } : {}),
  });
  const headers = pageHeaders();
  for (const cookie of csrf.setCookies) headers.append("set-cookie", cookie);
  return new Response(html, { status, headers });
}

async function submitLogin(port: InteractionPort, c: HonoContext): Promise<Response> {
  const form = await readForm(c);
  const step = await openStep(port, form.get("txn"));
  if (step instanceof Response) return step;
  const { services } = step;
  if (!services.csrf.verify(c, step.pending.id, form.get("csrf"))) return sessionMismatch();
  const username = (form.get("username") ?? "").trim();
  const password = form.get("password") ?? "";
  const attempt = { address: clientAddress(c, port.trustProxyHeaders), account: username, knownDevice: services.devices.knows(c, username) };
  const wait = port.throttle.attempt(attempt);
  if (wait !== undefined) {
    return renderLogin(port, c, step, 429, { message: `Too many sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`, username });
  }
  const user = username && password ? await services.checkPassword(username, password) : null;
  if (!user) return renderLogin(port, c, step, 401, { message: "Wrong username or password.", username });
  port.throttle.succeeded(attempt);
  const session = await services.sessions.start(user);
  const response = redirectResponse(stepUrl(port, "/consent", step));
  response.headers.append("set-cookie", port.cookies.serialize(SESSION_COOKIE, session, services.sessions.ttlSeconds));
  response.headers.append("set-cookie", services.devices.remember(username));
  return response;
}

// ---- Consent ----------------------------------------------------------------------------------

async function showConsent(port: InteractionPort, c: HonoContext): Promise<Response> {
  const step = await openStep(port, c.req.query("txn"));
  if (step instanceof Response) return step;
  const user = await currentUser(port, step, c);
  if (!user) return redirectResponse(stepUrl(port, "/login", step));
  const { params } = step.pending;
  if (await step.services.consents.covers(user.subject, step.client.client_id, params.scopes)) {
    // Approved before: nothing to ask, provided this transaction was not ended already.
    if (!(await step.services.transactions.consume(step.pending))) return expired();
    return redirectResponse(await step.services.approve(user, step.client, step.pending));
  }
  const csrf = step.services.csrf.issue(c, step.pending.id);
  const html = consentPage({
    serverName: port.serverName,
    client: step.client,
    userName: user.name ?? user.subject,
    redirectUri: params.redirectUri,
    scopes: params.scopes,
    scopeDescriptions: port.scopeDescriptions,
    action: port.endpointUrl("/consent"),
    transaction: step.txn,
    csrf: csrf.token,
  });
  const headers = pageHeaders();
  for (const cookie of csrf.setCookies) headers.append("set-cookie", cookie);
  return new Response(html, { status: 200, headers });
}

async function submitConsent(port: InteractionPort, c: HonoContext): Promise<Response> {
  const form = await readForm(c);
  const step = await openStep(port, form.get("txn"));
  if (step instanceof Response) return step;
  const { services, pending, client } = step;
  // A second submission after the first ended it (its CSRF cookie is gone by then) is told so.
  if (!services.csrf.verify(c, pending.id, form.get("csrf"))) return (await services.transactions.ended(pending)) ? expired() : sessionMismatch();
  const user = await currentUser(port, step, c);
  if (!user) return redirectResponse(stepUrl(port, "/login", step));
  const action = form.get("action");
  if (action !== "approve" && action !== "deny") return errorPage(400, "Invalid request", "Choose Approve or Deny.");
  if (!(await services.transactions.consume(pending))) return expired();
  let location: string;
  if (action === "deny") {
    location = port.authorizationRedirect(pending.params, { error: "access_denied", error_description: "The user denied the request" });
  } else {
    await services.consents.remember(user.subject, client.client_id, pending.params.scopes);
    location = await services.approve(user, client, pending);
  }
  const response = redirectResponse(location);
  response.headers.append("set-cookie", services.csrf.clear(pending.id));
  return response;
}
