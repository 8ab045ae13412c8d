import type { Context as HonoContext } from "hono";
import type { OAuthClientInformation } from "../server/types.js";
import type { CookiePolicy } from "../server/interaction/cookies.js";
import type { CsrfTokens } from "../server/interaction/csrf.js";
import type { PendingAuthorization, Transactions } from "../server/models/transactions.js";
import type { RememberedConsents } from "./remembered-consents.js";
import type { UpstreamSignIn, UpstreamSignIns } from "./sign-ins.js";
import type { StepPort } from "../server/interaction/steps.js";

/** When the proxy asks the person to approve a client before sending them upstream. */
export type ConsentMode = "always" | "remember" | "never";

/** What a consent page shows, for an application that renders its own page (`renderConsent`). */
export interface ConsentView {
  serverName: string;
  /** Where the person signs in after approving. */
  identityProvider: string;
  client: {
    id: string;
    /** Its `client_name`, else its id. */
    name: string;
    uri?: string;
    logoUri?: string;
    /** For a client identified by its metadata document URL: the host that vouches for it. */
    verifiedHost?: string;
  };
  redirectUri: string;
  /** The host the browser is sent to with the code: who gets access. */
  redirectHost: string;
  scopes: Array<{ scope: string; description?: string }>;
  /**
   * The form the page must post: to `action`, method POST, with every one of `fields` as a hidden
   * input, and a submit button named `action` whose value is `approve` or `deny`. The CSRF token
   * is in `fields`; its cookie is set with the page.
   */
  form: { action: string; fields: Record<string, string> };
}

/** Renders the consent page's HTML, given what it must show and the form it must post. */
export type RenderConsent = (view: ConsentView) => string | Promise<string>;

/** What the proxy's pages (consent, upstream callback) need from the proxy. */
export interface ProxyPort extends StepPort<ProxyServices> {
  readonly serverName: string;
  readonly identityProvider: string;
  readonly scopeDescriptions: Readonly<Record<string, string>>;
  readonly cookies: CookiePolicy;
  readonly consentMode: ConsentMode;
  readonly renderConsent: RenderConsent | undefined;
  /** The Content-Security-Policy of the consent page (a rendered one may need more than the default). */
  readonly consentCsp: string | undefined;
}

export interface ProxyServices {
  transactions: Transactions;
  csrf: CsrfTokens;
  consents: RememberedConsents;
  signIns: UpstreamSignIns;
  /**
   * Starts the upstream sign-in of an approved request: the upstream URL to send the browser to,
   * and the cookies to set (the one binding the sign-in to this browser, and the removal of this
   * browser's oldest open sign-ins beyond their budget); undefined when the request is too large.
   */
  begin(c: HonoContext, pending: PendingAuthorization): { location: string; setCookies: string[] } | undefined;
  /**
   * Completes a sign-in from the upstream's callback parameters: the client's redirect URI with a
   * code, or with an error the client can act on.
   */
  complete(signIn: UpstreamSignIn, client: OAuthClientInformation, callback: URLSearchParams): Promise<string>;
}

export type { PendingAuthorization };
