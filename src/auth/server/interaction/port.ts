import type { Consents } from "../models/consents.js";
import type { LoginSessions } from "../models/sessions.js";
import type { PendingAuthorization, Transactions } from "../models/transactions.js";
import type { OAuthClientInformation } from "../types.js";
import type { CookiePolicy } from "./cookies.js";
import type { CsrfTokens } from "./csrf.js";
import type { KnownDevices } from "./known-devices.js";
import type { LoginThrottle } from "./login-throttle.js";
import type { StepPort } from "./steps.js";

/** Who signed in: what tokens carry as `sub`, plus claims for handlers (`ctx.auth.claims`). */
export interface SignedInUser {
  /** Stable identifier: the token's `sub`. */
  subject: string;
  /** Shown on the consent page ("Signed in as ..."). Default: the subject. */
  name?: string;
  /** Extra claims put into access tokens (`email`, `roles`...). Standard claims cannot be overridden. */
  claims?: Record<string, unknown>;
}

/** Checks a username and password; resolves to the user, or null when they do not match. */
export type PasswordCheck = (username: string, password: string) => SignedInUser | null | Promise<SignedInUser | null>;

/**
 * What the login and consent pages need from the authorization server behind them, and nothing
 * more: the pages never see the provider itself.
 */
export interface InteractionPort extends StepPort<InteractionServices> {
  readonly serverName: string;
  readonly scopeDescriptions: Readonly<Record<string, string>>;
  readonly cookies: CookiePolicy;
  readonly trustProxyHeaders: boolean;
  readonly throttle: LoginThrottle;
}

export interface InteractionServices {
  transactions: Transactions;
  sessions: LoginSessions<SignedInUser>;
  consents: Consents;
  csrf: CsrfTokens;
  devices: KnownDevices;
  checkPassword: PasswordCheck;
  /** Approves a transaction the user ended: a grant, its code, and the redirect carrying the code. */
  approve(user: SignedInUser, client: OAuthClientInformation, pending: PendingAuthorization): Promise<string>;
}
