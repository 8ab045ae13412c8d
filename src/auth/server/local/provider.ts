import type { AuthRoute } from "../../provider.js";
import { withEnvironmentDefaults, type SettingSpec } from "../../settings.js";
import { AuthConfigurationError, isLoopbackUrl } from "../../urls.js";
import { CsrfTokens } from "../interaction/csrf.js";
import { KnownDevices } from "../interaction/known-devices.js";
import { LoginThrottle } from "../interaction/login-throttle.js";
import type { InteractionPort, InteractionServices } from "../interaction/port.js";
import { interactionRoutes } from "../interaction/routes.js";
import { Consents } from "../models/consents.js";
import { LoginSessions } from "../models/sessions.js";
import type { PendingAuthorization } from "../models/transactions.js";
import { StoredOAuthProvider, TRANSACTION_TTL_SECONDS, type StoredOAuthProviderOptions, type StoredRuntime } from "../stored-provider.js";
import type { AuthorizationParams, OAuthClientInformation } from "../types.js";
import { developmentUser } from "./development-user.js";
import { tableAuthenticator, type Authenticate, type LocalUser, type UserTable } from "./users.js";

export interface LocalOAuthProviderOptions extends StoredOAuthProviderOptions {
  /** Checks a username and password. Or `users` for a fixed table (development). */
  authenticate?: Authenticate;
  /** Username → password (or password and details). For development and tests. */
  users?: UserTable;
  /** Shown on the login and consent pages. Default: the host of baseUrl. */
  serverName?: string;
  /** Human descriptions of scopes, shown on the consent page. */
  scopeDescriptions?: Record<string, string>;
  /** How long a login lasts in the browser (no password again during a step-up). Default 12 h. */
  loginSessionTtlSeconds?: number;
  /** How long an approval is remembered per user and client. Default 90 days; 0 asks every time. */
  consentTtlSeconds?: number;
}

const LOCAL_SETTINGS: SettingSpec<LocalOAuthProviderOptions> = {
  baseUrl: { env: "BASE_URL", kind: "string" },
  issuerUrl: { env: "ISSUER_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  encryptionKey: { env: "ENCRYPTION_KEY", kind: "string" },
  serverName: { env: "SERVER_NAME", kind: "string" },
  accessTokenTtlSeconds: { env: "ACCESS_TOKEN_TTL_SECONDS", kind: "number" },
  refreshTokenTtlSeconds: { env: "REFRESH_TOKEN_TTL_SECONDS", kind: "number" },
};


/**
 * A complete authorization server for real use: people sign in on a login page (your
 * `authenticate`, or a `users` table for development) and approve each application on a consent
 * page; access tokens are JWTs signed with the server's own key (published at
 * `/.well-known/jwks.json`, rotated with overlap), so other resource servers can verify them.
 * State lives in a {@link KeyValueStore}: a FileStore by default, a RedisStore for several
 * instances behind a load balancer. Clients, grants, codes and refresh tokens are kept by
 * {@link StoredOAuthProvider}; the login and consent pages talk to it through a narrow port.
 */
export class LocalOAuthProvider extends StoredOAuthProvider<InteractionServices> {
  /** @internal Failed password attempts (see LoginThrottle for the policy). */
  readonly throttle = new LoginThrottle();
  private readonly options: LocalOAuthProviderOptions;
  private readonly loginSessionTtlSeconds: number;
  private readonly consentTtlSeconds: number;
  /** The password check of `authenticate` or `users` (the development user's is made at start). */
  private readonly passwordCheck: Authenticate | undefined;
  private port: InteractionPort | undefined;

  constructor(options: LocalOAuthProviderOptions = {}) {
    options = withEnvironmentDefaults("LOCALOAUTHPROVIDER", options, LOCAL_SETTINGS);
    super(options, "local-oauth");
    this.options = options;
    this.loginSessionTtlSeconds = this.positive(options.loginSessionTtlSeconds, 12 * 3600, "loginSessionTtlSeconds");
    this.consentTtlSeconds = this.nonNegative(options.consentTtlSeconds, 90 * 86_400, "consentTtlSeconds");
    if (options.authenticate && options.users) throw new AuthConfigurationError("Pass either authenticate or users to LocalOAuthProvider, not both");
    this.passwordCheck = options.authenticate ?? (options.users ? tableAuthenticator(options.users) : undefined);
    this.startIfReady();
  }

  /** Shown on the login and consent pages: `serverName`, else the host of the base URL. */
  get serverName(): string {
    return this.options.serverName ?? new URL(this.baseUrl).host;
  }

  override routes(): AuthRoute[] {
    return [...super.routes(), ...interactionRoutes(this.interactionPort())];
  }

  /** Seals the validated request into the login and consent pages' URL, and sends the browser there. */
  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    const sealed = (await this.running()).transactions.seal(client.client_id, params);
    return `${this.endpointUrl("/consent")}?txn=${encodeURIComponent(sealed)}`;
  }

  protected override checkBeforeStart(): void {
    if (!this.passwordCheck && !isLoopbackUrl(new URL(this.baseUrl))) {
      throw new AuthConfigurationError("LocalOAuthProvider needs authenticate (your user check) or users: a development user is only made for a loopback baseUrl");
    }
  }

  protected async startServices(runtime: StoredRuntime): Promise<InteractionServices> {
    const checkPassword = this.passwordCheck ?? tableAuthenticator(await developmentUser(runtime.store, runtime.box, this.serverName));
    return {
      transactions: runtime.transactions,
      sessions: new LoginSessions<LocalUser>(runtime.store, this.loginSessionTtlSeconds),
      consents: new Consents(runtime.store, this.consentTtlSeconds),
      csrf: new CsrfTokens(runtime.hmacKey, runtime.cookies, TRANSACTION_TTL_SECONDS),
      devices: new KnownDevices(runtime.hmacKey, runtime.cookies),
      checkPassword,
      approve: (user, client, pending) => this.approve(runtime, user, client, pending),
    };
  }

  /** What the login and consent pages see of this provider. */
  private interactionPort(): InteractionPort {
    if (this.port) return this.port;
    const provider = this;
    this.port = {
      get serverName() { return provider.serverName; },
      get cookies() { return provider.cookies; },
      scopeDescriptions: { ...this.options.scopeDescriptions },
      trustProxyHeaders: this.trustProxyHeaders,
      throttle: this.throttle,
      ...this.stepPort(),
    };
    return this.port;
  }

  /** A new grant for the signed-in user, its code, and the redirect carrying the code. */
  private approve(runtime: StoredRuntime, user: LocalUser, client: OAuthClientInformation, pending: PendingAuthorization): Promise<string> {
    return this.approveGrant(runtime, client, pending.params, { subject: user.subject, claims: userClaims(user) });
  }
}

function userClaims(user: LocalUser): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...user.claims };
  if (user.name !== undefined && claims.name === undefined) claims.name = user.name;
  return claims;
}
