import { OAuthError } from "../errors.js";
import { errorPage } from "../html.js";
import type { PendingAuthorization, Transactions } from "../models/transactions.js";
import type { AuthorizationParams, OAuthClientInformation } from "../types.js";

/** What every page between `/authorize` and the client's redirect URI needs of the server behind it. */
export interface StepPort<Services extends { transactions: Transactions }> {
  endpointUrl(path: string): string;
  resolveClient(clientId: string): Promise<OAuthClientInformation | undefined>;
  authorizationRedirect(params: Pick<AuthorizationParams, "redirectUri" | "state">, fields: { code: string } | { error: string; error_description?: string }): string;
  report(error: unknown): void;
  /** The parts that need the server's secrets, once they are loaded. */
  services(): Promise<Services>;
}

/** An open transaction and its client, with the services of the pages. */
export interface Step<Services> {
  /** The sealed transaction, as the `txn` parameter carries it. */
  txn: string;
  pending: PendingAuthorization;
  client: OAuthClientInformation;
  services: Services;
}

/** Runs a page's handler: a refused request becomes a 400 page, anything else is reported and a 500 page. */
export async function guard(port: Pick<StepPort<never>, "report">, handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof OAuthError) return errorPage(400, "Invalid request", error.description);
    port.report(error);
    return errorPage(500, "Something went wrong", "The server could not complete this step. Try again from your application.");
  }
}

/** The step `txn` names, or the page saying why there is none (expired, used, or its client gone). */
export async function openStep<Services extends { transactions: Transactions }>(port: StepPort<Services>, txn: string | null | undefined): Promise<Step<Services> | Response> {
  const services = await port.services();
  const pending = services.transactions.open(txn);
  if (!txn || !pending) return expired();
  const client = await port.resolveClient(pending.clientId);
  if (!client) return unknownClient();
  return { txn, pending, client, services };
}

/** The client that started the sign-in was deleted (or its metadata document is gone) since. */
export function unknownClient(): Response {
  return errorPage(400, "Unknown application", "The application that started this sign-in is no longer registered.");
}

export function expired(): Response {
  return errorPage(400, "This sign-in has expired", "This sign-in link is no longer valid (it expired or was already used). Start again from your application.");
}

/** A form posted without this browser's CSRF cookie or token. */
export function sessionMismatch(): Response {
  return errorPage(403, "Request not accepted", "This form was not sent from the page this server showed you (the security token is missing or wrong). Go back to your application and start again.");
}
