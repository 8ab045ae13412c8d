/**
 * The parts of oidc-provider@8 the test identity provider uses. The package ships no types, and
 * @types/oidc-provider is not installed; these are written from its lib/ sources (helpers/defaults.js,
 * provider.js, adapters/memory_adapter.js).
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  /** The Koa context oidc-provider hands to middleware and helper functions (what we read of it). */
  export interface ProviderContext {
    path: string;
    method: string;
    status: number;
    type: string;
    body: unknown;
    oidc?: { route?: string; params?: Record<string, unknown> };
  }

  /** The context of a grant type handler (`registerGrantType`): the authenticated client and the provider's models. */
  export interface GrantContext extends ProviderContext {
    oidc: { route?: string; params: Record<string, unknown>; client?: ProviderClient; provider: Provider };
  }

  /** A model instance that `save()` stores and names (Grant: its id; AccessToken: the token itself). */
  export interface SavedModel {
    save(): Promise<string>;
    readonly expiration: number;
  }

  export type ProviderMiddleware = (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>;

  /** What a storage adapter keeps for a model instance. */
  export interface AdapterPayload {
    [key: string]: unknown;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  /** A Resource Server as `features.resourceIndicators.getResourceServerInfo` describes it. */
  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: "opaque" | "jwt";
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  export interface ProviderClient {
    clientId: string;
    grantTypeAllowed(type: string): boolean;
  }

  /** The access token being issued, as `extraTokenClaims` sees it. */
  export interface IssuedToken {
    accountId?: string;
    clientId?: string;
    scope?: string;
    aud?: string | string[];
    resourceServer?: { identifier(): string };
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    [field: string]: unknown;
  }

  export interface Configuration {
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    cookies?: { keys?: string[] };
    jwks?: { keys: object[] };
    scopes?: string[];
    claims?: Record<string, string[] | null>;
    pkce?: { methods?: string[]; required?: () => boolean };
    ttl?: Record<string, number>;
    renderError?: (ctx: ProviderContext, out: Record<string, string>, error: Error) => Promise<void>;
    findAccount?: (ctx: ProviderContext, id: string) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> }>;
    extraTokenClaims?: (ctx: ProviderContext, token: IssuedToken) => Promise<Record<string, unknown> | undefined>;
    issueRefreshToken?: (ctx: ProviderContext, client: ProviderClient, code: { scopes: Set<string> }) => Promise<boolean>;
    rotateRefreshToken?: boolean;
    features?: {
      devInteractions?: { enabled: boolean };
      registration?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean };
      revocation?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: ProviderContext, client: ProviderClient, oneOf?: string[]) => Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: ProviderContext, model: unknown) => Promise<boolean>;
        getResourceServerInfo: (ctx: ProviderContext, resourceIndicator: string, client: ProviderClient) => Promise<ResourceServerInfo>;
      };
    };
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** A node:http request listener; mounts at the issuer's path when `req.baseUrl` names it. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    /** Adds Koa middleware that runs before oidc-provider's own. */
    use(middleware: ProviderMiddleware): void;
    /** Listens to one of its events (`grant.success`, `access_token.destroyed`...). */
    on(event: string, listener: (ctx: ProviderContext, ...rest: unknown[]) => void): void;
    /** Adds a grant type to the token endpoint, with the parameters it reads. */
    registerGrantType(type: string, handler: (ctx: GrantContext, next: () => Promise<void>) => Promise<void>, parameters?: string[]): void;
    readonly Grant: new (fields: { accountId: string; clientId: string }) => SavedModel;
    readonly AccessToken: new (fields: { accountId: string; client: ProviderClient; grantId: string; scope: string }) => SavedModel;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidGrant: new (description?: string) => Error;
  };
}
