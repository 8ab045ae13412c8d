import { generateKeyPair, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import { createServer, IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import Provider, { errors, type ClientMetadata, type Configuration, type IssuedToken, type ResourceServerInfo } from "oidc-provider";
import type { JWK } from "jose";
import { JWT_BEARER, registerOnBehalfOf, type OnBehalfOfIssue } from "./idp-on-behalf-of.js";
import { rootLayout, type IdpLayout } from "./idp-layouts.js";
import { memoryStore } from "./idp-store.js";

export type TokenAlgorithm = "RS256" | "ES256";

/** What an access token is being issued for, as `extraTokenClaims` sees it. */
export interface TokenInfo {
  subject: string | undefined;
  clientId: string | undefined;
  resource: string | undefined;
  /** The token's scope, space separated. */
  scope: string | undefined;
}

export interface IdentityProviderOptions {
  /** The URL layout to emulate. Default: the issuer at the origin root. */
  layout?: IdpLayout;
  /** The MCP resource's scopes. Default `mcp:read mcp:write admin`; `offline_access` is always offered. */
  scopes?: readonly string[];
  /** The scope an authorization request without one gets (AS-15). Default `mcp:read`. */
  defaultScope?: string;
  /** Resources (RFC 8707) tokens may be issued for; more with `allowResource`. Others get `invalid_target`. */
  resources?: readonly string[];
  /** The resource of an authorization request that names none (an identity provider whose scopes name the API, as Entra's do). Default: none (opaque tokens). */
  defaultResource?: string;
  /** The access tokens' signature algorithm. Default RS256. */
  algorithm?: TokenAlgorithm;
  /** How long access tokens live, in seconds. Default 600. */
  accessTokenTtl?: number;
  /** The `aud` of a token issued for `resource`. Default: the resource itself. */
  audience?: (resource: string) => string;
  /** Claims added to every access token (they never replace the standard ones). */
  extraTokenClaims?: Record<string, unknown> | ((token: TokenInfo) => Record<string, unknown>);
  /** Clients registered from the start (an OAuth proxy's confidential app, say). */
  clients?: ReadonlyArray<Record<string, unknown>>;
  /** Issue a rotating refresh token to every client allowed the grant, and serve RFC 7009 revocation. Default false. */
  refreshAndRevocation?: boolean;
  /** Serve Entra's On-Behalf-Of (the jwt-bearer grant) to the registered clients, recording what it issues in `onBehalfOf`. Default false. */
  onBehalfOf?: boolean;
  /** With refreshAndRevocation: a refresh answers with a new refresh token (else the same one stays valid). Default true. */
  rotateRefreshTokens?: boolean;
  /** Claims of every account (`sub` is the account id), for ID tokens and userinfo. */
  accountClaims?: (accountId: string) => Record<string, unknown>;
}

export interface IdentityProvider {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly issuer: string;
  readonly jwksUri: string;
  /** The first URL serving the metadata. */
  readonly metadataUrl: string;
  /** Dynamic registration requests as received (before their `scope` was dropped). */
  readonly registrations: ReadonlyArray<Record<string, unknown>>;
  /** The query of every authorization request, as the client sent it. */
  readonly authorizationRequests: readonly URLSearchParams[];
  /** The grant type of every successful token request, in order. */
  readonly grants: readonly string[];
  /** Tokens issued through On-Behalf-Of (with `onBehalfOf`). */
  readonly onBehalfOf: readonly OnBehalfOfIssue[];
  /** The kind of every token revoked at the revocation endpoint, in order (`AccessToken`, `RefreshToken`). */
  readonly revocations: readonly string[];
  /** Lets tokens be issued for one more resource. */
  allowResource(resource: string): void;
  /** A token for `resource`, minted with the client credentials grant of a built-in client. */
  mintToken(resource: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

const DEFAULT_SCOPES = ["mcp:read", "mcp:write", "admin"];

/** Lifetimes of what the provider stores (set, so it does not warn about its defaults). */
const TTL_SECONDS = {
  AccessToken: 600,
  AuthorizationCode: 60,
  ClientCredentials: 600,
  Grant: 3600,
  IdToken: 600,
  Interaction: 600,
  RefreshToken: 3600,
  Session: 3600,
};

/**
 * A real OAuth 2.1 authorization server (oidc-provider) on 127.0.0.1: open dynamic registration,
 * PKCE S256, JWT access tokens bound to an allow-listed resource, refresh tokens, and the
 * development login and consent pages. A small node:http front mounts it at the layout's issuer
 * path and serves its metadata and keys where the emulated identity provider does.
 */
export async function startIdentityProvider(options: IdentityProviderOptions = {}): Promise<IdentityProvider> {
  const layout = options.layout ?? rootLayout();
  const scopes = options.scopes ?? DEFAULT_SCOPES;
  const defaultScope = options.defaultScope ?? scopes[0] ?? "";
  const algorithm = options.algorithm ?? "RS256";
  const resources = new Set(options.resources ?? []);
  const registrations: Array<Record<string, unknown>> = [];
  const authorizationRequests: URLSearchParams[] = [];
  const minter = { id: "token-minter", secret: randomBytes(24).toString("base64url") };

  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(503).end();
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}${layout.issuerPath}`;
  const jwksUri = `${origin}${layout.jwksPath}`;

  const resourceServer = (resource: string): ResourceServerInfo => {
    if (!resources.has(resource)) throw new errors.InvalidTarget(`tokens are not issued for ${resource}`);
    return {
      scope: scopes.join(" "),
      audience: options.audience?.(resource) ?? resource,
      accessTokenFormat: "jwt",
      jwt: { sign: { alg: algorithm } },
    };
  };
  const extraClaims = async (token: IssuedToken): Promise<Record<string, unknown> | undefined> => {
    const extra = options.extraTokenClaims;
    if (typeof extra !== "function") return extra;
    return extra({ subject: token.accountId, clientId: token.clientId, resource: token.resourceServer?.identifier(), scope: "scope" in token && typeof token.scope === "string" ? token.scope : undefined });
  };

  const keys = await signingKeys(algorithm);
  const configuration: Configuration = {
    adapter: memoryStore(),
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: ["openid", "offline_access", ...scopes],
    pkce: { methods: ["S256"], required: () => true },
    ttl: { ...TTL_SECONDS, AccessToken: options.accessTokenTtl ?? TTL_SECONDS.AccessToken },
    renderError: async (ctx, out) => {
      ctx.type = "text";
      ctx.body = Object.entries(out).map(([key, value]) => `${key}: ${value}`).join("\n");
    },
    clients: [{ client_id: minter.id, client_secret: minter.secret, grant_types: ["client_credentials"], response_types: [], redirect_uris: [] }, ...((options.clients ?? []) as ClientMetadata[]).map((client) => (options.onBehalfOf ? { ...client, grant_types: [...(client.grant_types ?? []), JWT_BEARER] } : client))],
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ ...options.accountClaims?.(id), sub: id }) }),
    ...(options.refreshAndRevocation ? {
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      rotateRefreshToken: options.rotateRefreshTokens ?? true,
    } : {}),
    extraTokenClaims: async (_ctx, token) => extraClaims(token),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      ...(options.refreshAndRevocation ? { revocation: { enabled: true } } : {}),
      resourceIndicators: {
        enabled: true,
        ...(options.defaultResource !== undefined ? { defaultResource: async () => options.defaultResource! } : {}),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => resourceServer(resource),
      },
    },
  };
  const provider = withoutDevInteractionsNotice(() => new Provider(issuer, configuration));
  const onBehalfOf: OnBehalfOfIssue[] = [];
  if (options.onBehalfOf) registerOnBehalfOf(provider, issuer, keys.map(publicJwk), onBehalfOf);
  const grants: string[] = [];
  const revocations: string[] = [];
  provider.on("grant.success", (ctx) => grants.push(String(ctx.oidc?.params?.grant_type)));
  for (const kind of ["AccessToken", "RefreshToken"]) {
    provider.on(`${kind.replace(/([a-z])([A-Z])/, "$1_$2").toLowerCase()}.destroyed`, () => {
      if (pathNow.endsWith("/token/revocation")) revocations.push(kind);
    });
  }
  let pathNow = "";
  provider.use(async (ctx, next) => {
    pathNow = ctx.path;
    await next();
  });
  // The metadata names the layout's key URL instead of oidc-provider's own `<issuer>/jwks`.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === "discovery" && ctx.status === 200 && isRecord(ctx.body)) {
      ctx.body.jwks_uri = jwksUri;
      for (const [outside, inner] of Object.entries(layout.aliases ?? {})) {
        for (const [name, value] of Object.entries(ctx.body)) if (value === `${issuer}${inner}`) ctx.body[name] = `${origin}${outside}`;
      }
    }
  });
  const callback = provider.callback();

  const mount = (req: IncomingMessage, res: ServerResponse, path: string) => {
    req.url = path;
    // oidc-provider builds its endpoint URLs from the Express-style mount path.
    Object.assign(req, { baseUrl: layout.issuerPath });
    callback(req, res);
  };

  handle = (req, res) => {
    const url = new URL(req.url ?? "/", origin);
    if (layout.metadataPaths.includes(url.pathname)) return mount(req, res, "/.well-known/openid-configuration");
    if (url.pathname === layout.jwksPath) return mount(req, res, "/jwks");
    const inner = layout.aliases?.[url.pathname] ?? pathInsideIssuer(url.pathname, layout.issuerPath);
    // The provider's own discovery and key routes exist only where the layout puts them.
    if (inner === undefined || inner === "/jwks" || inner.startsWith("/.well-known/")) return void res.writeHead(404).end();
    if (inner === "/reg" && req.method === "POST") {
      return void withoutRegisteredScope(req, registrations).then((replay) => mount(replay, res, inner), () => res.writeHead(400).end());
    }
    if (inner === "/auth" && req.method === "GET") {
      authorizationRequests.push(new URLSearchParams(url.searchParams));
      // AS-15: oidc-provider refuses a request without scope; real servers grant a default one.
      if (!url.searchParams.has("scope") && defaultScope) url.searchParams.set("scope", defaultScope);
      // oidc-provider refuses prompts it does not know; with one account per login there is nothing to select.
      if (url.searchParams.get("prompt") === "select_account") url.searchParams.delete("prompt");
    }
    mount(req, res, `${inner}${url.search}`);
  };

  return {
    origin,
    issuer,
    jwksUri,
    metadataUrl: `${origin}${layout.metadataPaths[0]}`,
    registrations,
    authorizationRequests,
    grants,
    onBehalfOf,
    revocations,
    allowResource: (resource) => void resources.add(resource),
    mintToken: (resource, scope = defaultScope) => clientCredentialsToken(issuer, minter, resource, scope),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** `path` relative to the issuer's path, or undefined when it lies outside it. */
function pathInsideIssuer(path: string, issuerPath: string): string | undefined {
  if (issuerPath === "") return path;
  if (path === issuerPath) return "/";
  return path.startsWith(`${issuerPath}/`) ? path.slice(issuerPath.length) : undefined;
}

/**
 * AS-16: oidc-provider treats a registered `scope` as the client's allow-list, which would refuse
 * the wider scope of a later step-up. Public clients registering here are not locked to the scope
 * of their first authorization: the request is replayed without it.
 */
async function withoutRegisteredScope(req: IncomingMessage, log: Array<Record<string, unknown>>): Promise<IncomingMessage> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const metadata = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  log.push({ ...metadata });
  delete metadata.scope;
  const body = Buffer.from(JSON.stringify(metadata));
  const replay = new IncomingMessage(req.socket);
  replay.method = req.method;
  replay.url = req.url;
  replay.headers = { ...req.headers, "content-length": String(body.length) };
  // Complete, as the HTTP parser would mark it: an incomplete message destroys its socket when it ends.
  replay.complete = true;
  replay.push(body);
  replay.push(null);
  return replay;
}

async function clientCredentialsToken(issuer: string, client: { id: string; secret: string }, resource: string, scope: string): Promise<string> {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", resource, scope }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || typeof body.access_token !== "string") throw new Error(`token request failed: ${response.status} ${body.error ?? ""} ${body.error_description ?? ""}`);
  return body.access_token;
}

const generate = promisify(generateKeyPair);

/** Fresh signing keys: RS256 always (oidc-provider signs ID tokens with it), plus ES256 when asked. */
async function signingKeys(algorithm: TokenAlgorithm): Promise<object[]> {
  const rsa = await generate("rsa", { modulusLength: 2048 });
  const keys = [privateJwk(rsa.privateKey, "RS256")];
  if (algorithm === "ES256") keys.push(privateJwk((await generate("ec", { namedCurve: "P-256" })).privateKey, "ES256"));
  return keys;
}

/** The public half of one of `signingKeys`. */
function publicJwk(key: object): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = key as Record<string, string>;
  return rest as JWK;
}

function privateJwk(key: KeyObject, alg: TokenAlgorithm): object {
  return { ...key.export({ format: "jwk" }), kid: randomUUID(), alg, use: "sig" };
}

/** oidc-provider warns on every start that its development login pages are on: here they are the point. */
function withoutDevInteractionsNotice<T>(create: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("devInteractions is enabled")) warn(...args);
  };
  try {
    return create();
  } finally {
    console.warn = warn;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
