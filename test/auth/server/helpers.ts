/**
 * Shared pieces of the authorization server endpoint tests: a FastMCP server on a free loopback
 * port whose auth is an OAuthProvider, and small drivers for each endpoint over real HTTP
 * (`fetch` with `redirect: "manual"`, so every 302 is looked at, never followed).
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import * as z from "zod";
import { FastMCP, PortInUseError } from "fastmcp-ts";
import { InMemoryOAuthProvider, type InMemoryOAuthProviderOptions, type OAuthProvider } from "fastmcp-ts/auth";
import { INITIALIZE, MCP_HEADERS } from "../../helpers/http.js";
import { freePort } from "../../helpers/ports.js";
import { pkcePair, type PkcePair } from "../../helpers/pkce.js";

/** A loopback redirect URI nobody listens on: the tests read the Location header, they never follow it. */
export const REDIRECT_URI = "http://127.0.0.1:47913/callback";

/** The scopes of the default test server: `mcp:read` required everywhere, `mcp:write` for the write tool. */
export const SCOPES = { required: ["mcp:read"], valid: ["mcp:read", "mcp:write", "admin"] } as const;

/** The InMemoryOAuthProvider options every test server starts from (no registration rate limit). */
export const DEFAULT_OPTIONS: Omit<InMemoryOAuthProviderOptions, "baseUrl"> = {
  requiredScopes: SCOPES.required,
  clientRegistration: { validScopes: SCOPES.valid, rateLimit: false },
};

export interface AuthServer<P extends OAuthProvider = OAuthProvider> {
  /** `http://127.0.0.1:<port>`: the provider's baseUrl. */
  readonly baseUrl: string;
  /** The MCP endpoint, which every token is bound to. */
  readonly mcpUrl: string;
  readonly provider: P;
  /** What the provider reported through `onError` (unexpected failures). */
  readonly errors: unknown[];
  /** `baseUrl` + `path`. */
  url(path: string): string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a FastMCP server whose auth is `make(baseUrl, onError)`. The provider needs the server's
 * URL before the server listens, so a free port is found first (and the start retried should
 * another process take it in between). Tools: `read` (needs only the required scopes), `write`
 * (`scopes: ["mcp:write"]`) and `whoami` (the caller's token as the handler sees it).
 */
export async function startAuthServer<P extends OAuthProvider>(make: (baseUrl: string, onError: (error: unknown) => void) => P, run: { path?: string } = {}): Promise<AuthServer<P>> {
  for (let attempt = 1; ; attempt++) {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const errors: unknown[] = [];
    const provider = make(baseUrl, (error) => errors.push(error));
    const mcp = new FastMCP({ name: "oauth-endpoints", auth: provider, onError: (error) => errors.push(error) });
    mcp.tool({ name: "read", description: "Reads", execute: () => "read ok" });
    mcp.tool({ name: "write", description: "Writes", parameters: z.object({ text: z.string() }), scopes: ["mcp:write"], execute: ({ text }) => `wrote ${text}` });
    mcp.tool({
      name: "whoami",
      description: "What the server knows of the caller's token",
      execute: (_args, ctx) => JSON.stringify({ clientId: ctx.auth?.clientId, subject: ctx.auth?.subject, scopes: ctx.auth?.scopes, resource: ctx.auth?.resource }),
    });
    try {
      const running = await mcp.run({ transport: "http", host: "127.0.0.1", port: Number(new URL(baseUrl).port), handleSignals: false, banner: false, ...run });
      const close = () => mcp.close();
      return { baseUrl, mcpUrl: running.url!, provider, errors, url: (path) => `${baseUrl}${path}`, close, [Symbol.asyncDispose]: close };
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt === 3) throw error;
    }
  }
}

/**
 * A server with an InMemoryOAuthProvider: {@link DEFAULT_OPTIONS} overridden by `options` (or by
 * what `options(baseUrl)` returns, for settings that depend on the port).
 */
export function startInMemory(
  options: Omit<InMemoryOAuthProviderOptions, "baseUrl"> | ((baseUrl: string) => Omit<InMemoryOAuthProviderOptions, "baseUrl">) = {},
): Promise<AuthServer<InMemoryOAuthProvider>> {
  return startAuthServer((baseUrl, onError) => new InMemoryOAuthProvider({ ...DEFAULT_OPTIONS, onError, ...(typeof options === "function" ? options(baseUrl) : options), baseUrl }));
}


// ---- Registration ------------------------------------------------------------------------------

/** A client as `/register` answered (RFC 7591 §3.2.1). */
export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  grant_types: string[];
  [field: string]: unknown;
}

/** POSTs `body` to `/register` as JSON (a string is sent as is). */
export function postRegister(server: AuthServer, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(server.url("/register"), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Registers a public client (refresh tokens included) with `metadata` overriding the defaults. */
export async function registerClient(server: AuthServer, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await postRegister(server, {
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    client_name: "Endpoint tests",
    ...metadata,
  });
  const body = (await response.json()) as RegisteredClient;
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

// ---- PKCE --------------------------------------------------------------------------------------

export { pkcePair, type PkcePair };

// ---- /authorize --------------------------------------------------------------------------------

/** Authorization request parameters; `undefined` leaves one out. */
export type Params = Record<string, string | undefined>;

/** The query (or form) of an authorization request. A string is used as it is (repeated parameters). */
export function encodeParams(params: Params | string): string {
  if (typeof params === "string") return params;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.append(key, value);
  return search.toString();
}

/** A valid request for `client`: code flow, its first redirect URI, S256, a random state, this server's resource. */
export function authorizationParams(server: AuthServer, client: Pick<RegisteredClient, "client_id" | "redirect_uris">, pkce: PkcePair, overrides: Params = {}): Params {
  return {
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
    state: randomBytes(8).toString("hex"),
    resource: server.mcpUrl,
    ...overrides,
  };
}

/** GET /authorize (or POST with a form) without following the redirect. */
export function authorizeRequest(server: AuthServer, params: Params | string, method: "GET" | "POST" = "GET"): Promise<Response> {
  const encoded = encodeParams(params);
  if (method === "GET") return fetch(`${server.url("/authorize")}?${encoded}`, { redirect: "manual" });
  return fetch(server.url("/authorize"), { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: encoded });
}

/** The redirect's Location, asserting a 302 that no cache keeps. */
export function redirectLocation(response: Response): URL {
  expect(response.status).toBe(302);
  expect(response.headers.get("cache-control")).toBe("no-store");
  const location = response.headers.get("location");
  expect(location).toBeTruthy();
  return new URL(location!);
}

/** The only value of `name` in the URL's query (fails when it is missing or repeated). */
export function single(url: URL, name: string): string {
  const values = url.searchParams.getAll(name);
  expect(values, `${name} in ${url.href}`).toHaveLength(1);
  return values[0]!;
}

/** Asserts an HTML error page (never a redirect) with status `status`, and returns its text. */
export async function expectErrorPage(response: Response, status = 400): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get("location")).toBeNull();
  expect(response.headers.get("content-type")).toMatch(/^text\/html/);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("x-frame-options")).toBe("DENY");
  expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  return response.text();
}

/**
 * Asserts that an authorization error came back to `redirectUri` with `error`, the request's
 * `state` (when it had one) and this server's `iss`, each exactly once, and no code.
 */
export function expectRedirectedError(response: Response, redirectUri: string, error: string, state: string | undefined, issuer: string): URL {
  const location = redirectLocation(response);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri.split("?")[0]);
  expect(single(location, "error")).toBe(error);
  if (state === undefined) expect(location.searchParams.has("state")).toBe(false);
  else expect(single(location, "state")).toBe(state);
  expect(single(location, "iss")).toBe(issuer);
  expect(location.searchParams.has("code")).toBe(false);
  return location;
}

/** A granted authorization: the code and what the token request must repeat. */
export interface Authorization {
  code: string;
  verifier: string;
  redirectUri: string;
  state: string;
  location: URL;
}

/** Runs /authorize for `client` (InMemory approves at once) and returns the code from the redirect. */
export async function authorizationCode(server: AuthServer, client: Pick<RegisteredClient, "client_id" | "redirect_uris">, overrides: Params = {}): Promise<Authorization> {
  const pkce = pkcePair();
  const params = authorizationParams(server, client, pkce, overrides);
  const location = redirectLocation(await authorizeRequest(server, params));
  if (location.searchParams.has("error")) throw new Error(`authorization failed: ${location.href}`);
  return { code: single(location, "code"), verifier: pkce.verifier, redirectUri: params.redirect_uri ?? client.redirect_uris[0]!, state: params.state!, location };
}

// ---- /token and /revoke ------------------------------------------------------------------------

export interface ClientAuth {
  /** HTTP Basic with these (form-urlencoded inside, as RFC 6749 §2.3.1 says). */
  basic?: [clientId: string, secret: string];
  headers?: Record<string, string>;
  contentType?: string;
}

/** `Basic base64(urlencode(id):urlencode(secret))`. */
export function basicAuthorization(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

/** POSTs a form to `path` (`/token` or `/revoke`). */
export function postForm(server: AuthServer, path: string, form: Params | string, auth: ClientAuth = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": auth.contentType ?? "application/x-www-form-urlencoded", ...auth.headers };
  if (auth.basic) headers.authorization = basicAuthorization(...auth.basic);
  return fetch(server.url(path), { method: "POST", redirect: "manual", headers, body: encodeParams(form) });
}

export function tokenRequest(server: AuthServer, form: Params | string, auth: ClientAuth = {}): Promise<Response> {
  return postForm(server, "/token", form, auth);
}

/** The authorization_code token request form for `authorization` by a public client. */
export function codeForm(client: Pick<RegisteredClient, "client_id">, authorization: Authorization, overrides: Params = {}): Params {
  return {
    grant_type: "authorization_code",
    code: authorization.code,
    code_verifier: authorization.verifier,
    redirect_uri: authorization.redirectUri,
    client_id: client.client_id,
    ...overrides,
  };
}

/** RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
}

/** Asserts a 200 token response with the no-store headers and returns it. */
export async function expectTokens(response: Response): Promise<TokenResponse> {
  const body = (await response.json()) as TokenResponse;
  expect(response.status, JSON.stringify(body)).toBe(200);
  expectNoStore(response);
  expect(body.token_type).toBe("Bearer");
  expect(typeof body.access_token).toBe("string");
  return body;
}

/** Authorizes `client` and redeems the code (public client): its tokens. */
export async function tokensFor(server: AuthServer, client: RegisteredClient, overrides: Params = {}): Promise<TokenResponse> {
  const authorization = await authorizationCode(server, client, overrides);
  return expectTokens(await tokenRequest(server, codeForm(client, authorization)));
}

export function refreshForm(client: Pick<RegisteredClient, "client_id">, refreshToken: string, overrides: Params = {}): Params {
  return { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_id, ...overrides };
}

export function expectNoStore(response: Response): void {
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("pragma")).toBe("no-cache");
}

/** Asserts an RFC 6749 §5.2 JSON error: status, code, no-store, a description; returns the body. */
export async function expectOAuthError(response: Response, status: number, error: string): Promise<{ error: string; error_description?: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expectNoStore(response);
  const body = JSON.parse(text) as { error: string; error_description?: string };
  expect(body.error, text).toBe(error);
  expect(typeof body.error_description).toBe("string");
  return body;
}

// ---- The MCP endpoint ---------------------------------------------------------------------------

/** `initialize` on the MCP endpoint with `token` as a bearer (none when undefined). */
export async function callMcp(server: AuthServer, token: string | undefined): Promise<Response> {
  const response = await fetch(server.mcpUrl, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(INITIALIZE),
  });
  await response.arrayBuffer();
  return response;
}

/** The status the MCP endpoint answers `initialize` with for `token`. */
export async function mcpStatus(server: AuthServer, token: string | undefined): Promise<number> {
  return (await callMcp(server, token)).status;
}
