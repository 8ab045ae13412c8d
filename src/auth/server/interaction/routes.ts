import type { Context as HonoContext } from "hono";
import type { AuthRoute } from "../../provider.js";
import { clientAddress } from "../../../http/client-address.js";
import { OAuthError } from "../errors.js";
import { errorPage, pageHeaders } from "../html.js";
import { readForm } from "../endpoints/request-body.js";
import { redirectResponse } from "../endpoints/responses.js";
import type { OAuthClientInformation } from "../types.js";
import type { CsrfTokens } from "./csrf.js";
import { consentPage, loginPage } from "./pages.js";
import type { LocalOAuthProvider, TransactionRecord } from "../local/provider.js";
import type { Authenticate, LocalUser } from "../local/users.js";

/** What the login and consent pages need from their provider. */
export interface Interaction {
  provider: LocalOAuthProvider;
  csrf: Promise<CsrfTokens>;
  authenticate: Promise<Authenticate>;
  scopeDescriptions: Readonly<Record<string, string>>;
}

const SESSION_COOKIE = "fastmcp_session";

/** An open transaction, its client, and the request it came with. */
interface Step {
  id: string;
  transaction: TransactionRecord;
  client: OAuthClientInformation;
}

/**
 * The pages a person sees between `/authorize` and the client's redirect URI: `/login` (username
 * and password) and `/consent` (approve or deny this application). Both are plain HTML forms that
 * work without JavaScript, with a CSRF token per transaction, and never framed.
 */
export function interactionRoutes(interaction: Interaction): AuthRoute[] {
  return [
    { method: "GET", path: "/login", handler: (c) => guard(interaction, () => showLogin(interaction, c)) },
    { method: "POST", path: "/login", handler: (c) => guard(interaction, () => submitLogin(interaction, c)) },
    { method: "GET", path: "/consent", handler: (c) => guard(interaction, () => showConsent(interaction, c)) },
    { method: "POST", path: "/consent", handler: (c) => guard(interaction, () => submitConsent(interaction, c)) },
  ];
}

async function guard(interaction: Interaction, handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof OAuthError) return errorPage(400, "Invalid request", error.description);
    interaction.provider.report(error);
    return errorPage(500, "Something went wrong", "The server could not complete this step. Try again from your application.");
  }
}

async function openStep(interaction: Interaction, id: string | null | undefined): Promise<Step | Response> {
  const transaction = id ? await interaction.provider.transaction(id) : undefined;
  if (!id || !transaction) return expired();
  const client = await interaction.provider.resolveClient(transaction.clientId);
  if (!client) return errorPage(400, "Unknown application", "The application that started this sign-in is no longer registered.");
  return { id, transaction, client };
}

function expired(): Response {
  return errorPage(400, "This sign-in has expired", "This sign-in link is no longer valid (it expired or was already used). Start again from your application.");
}

async function currentUser(interaction: Interaction, c: HonoContext): Promise<LocalUser | undefined> {
  return interaction.provider.session(interaction.provider.cookies.read(c, SESSION_COOKIE));
}

function stepUrl(interaction: Interaction, page: "/login" | "/consent", id: string): string {
  return `${interaction.provider.endpointUrl(page)}?txn=${encodeURIComponent(id)}`;
}

// ---- Login ------------------------------------------------------------------------------------

async function showLogin(interaction: Interaction, c: HonoContext): Promise<Response> {
  const step = await openStep(interaction, c.req.query("txn"));
  if (step instanceof Response) return step;
  if (await currentUser(interaction, c)) return redirectResponse(stepUrl(interaction, "/consent", step.id));
  return renderLogin(interaction, c, step, 200);
}

async function renderLogin(interaction: Interaction, c: HonoContext, step: Step, status: number, error?: { message: string; username: string }): Promise<Response> {
  const csrf = (await interaction.csrf).issue(c, step.id);
  const html = loginPage({
    serverName: interaction.provider.serverName,
    clientName: step.client.client_name ?? step.client.client_id,
    action: interaction.provider.endpointUrl("/login"),
    transaction: step.id,
    csrf: csrf.token,
    ...(error ? { error: error.message, username: error.username } : {}),
  });
  const headers = pageHeaders();
  if (csrf.setCookie) headers.append("set-cookie", csrf.setCookie);
  return new Response(html, { status, headers });
}

async function submitLogin(interaction: Interaction, c: HonoContext): Promise<Response> {
  const form = await readForm(c);
  const step = await openStep(interaction, form.get("txn"));
  if (step instanceof Response) return step;
  if (!(await interaction.csrf).verify(c, step.id, form.get("csrf"))) return sessionMismatch();
  const address = clientAddress(c, interaction.provider.trustProxyHeaders);
  const wait = interaction.provider.loginLimiter.attempt(address);
  if (wait !== undefined) {
    return renderLogin(interaction, c, step, 429, { message: `Too many sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`, username: form.get("username") ?? "" });
  }
  const username = (form.get("username") ?? "").trim();
  const password = form.get("password") ?? "";
  const user = username && password ? await (await interaction.authenticate)(username, password) : null;
  if (!user) return renderLogin(interaction, c, step, 401, { message: "Wrong username or password.", username });
  interaction.provider.loginLimiter.succeeded(address);
  const session = await interaction.provider.startSession(user);
  const response = redirectResponse(stepUrl(interaction, "/consent", step.id));
  response.headers.append("set-cookie", interaction.provider.cookies.serialize(SESSION_COOKIE, session.id, session.ttlSeconds));
  return response;
}

// ---- Consent ----------------------------------------------------------------------------------

async function showConsent(interaction: Interaction, c: HonoContext): Promise<Response> {
  const step = await openStep(interaction, c.req.query("txn"));
  if (step instanceof Response) return step;
  const user = await currentUser(interaction, c);
  if (!user) return redirectResponse(stepUrl(interaction, "/login", step.id));
  const { params } = step.transaction;
  if (await interaction.provider.hasConsent(user, step.client.client_id, params.scopes)) {
    // Approved before: nothing to ask, provided this browser still holds the transaction.
    const taken = await interaction.provider.takeTransaction(step.id);
    if (!taken) return expired();
    return redirectResponse(await interaction.provider.approve(user, step.client, taken.params));
  }
  const csrf = (await interaction.csrf).issue(c, step.id);
  const html = consentPage({
    serverName: interaction.provider.serverName,
    client: step.client,
    userName: user.name ?? user.subject,
    redirectUri: params.redirectUri,
    scopes: params.scopes,
    scopeDescriptions: interaction.scopeDescriptions,
    action: interaction.provider.endpointUrl("/consent"),
    transaction: step.id,
    csrf: csrf.token,
  });
  const headers = pageHeaders();
  if (csrf.setCookie) headers.append("set-cookie", csrf.setCookie);
  return new Response(html, { status: 200, headers });
}

async function submitConsent(interaction: Interaction, c: HonoContext): Promise<Response> {
  const form = await readForm(c);
  const id = form.get("txn");
  const step = await openStep(interaction, id);
  if (step instanceof Response) return step;
  const csrf = await interaction.csrf;
  if (!csrf.verify(c, step.id, form.get("csrf"))) return sessionMismatch();
  const user = await currentUser(interaction, c);
  if (!user) return redirectResponse(stepUrl(interaction, "/login", step.id));
  const action = form.get("action");
  if (action !== "approve" && action !== "deny") return errorPage(400, "Invalid request", "Choose Approve or Deny.");
  const taken = await interaction.provider.takeTransaction(step.id);
  if (!taken) return expired();
  const { params } = taken;
  const location = action === "deny"
    ? interaction.provider.authorizationRedirect(params, { error: "access_denied", error_description: "The user denied the request" })
    : await approveAndRemember(interaction, user, step.client, taken);
  const response = redirectResponse(location);
  response.headers.append("set-cookie", csrf.clear(step.id));
  return response;
}

async function approveAndRemember(interaction: Interaction, user: LocalUser, client: OAuthClientInformation, transaction: TransactionRecord): Promise<string> {
  await interaction.provider.rememberConsent(user, client.client_id, transaction.params.scopes);
  return interaction.provider.approve(user, client, transaction.params);
}

function sessionMismatch(): Response {
  return errorPage(403, "Request not accepted", "This form was not sent from the page this server showed you (the security token is missing or wrong). Go back to your application and start again.");
}
