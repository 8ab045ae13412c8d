/**
 * What the LocalOAuthProvider tests share: a FastMCP server on 127.0.0.1 guarded by the provider,
 * a hand-driven browser (cookies, manual redirects, forms) for the login and consent pages, and
 * the client side of the flow (registration, PKCE, token requests, tool calls).
 */
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { FastMCP, PortInUseError } from "fastmcp-ts";
import type { LocalOAuthProvider } from "fastmcp-ts/auth";
import { Client } from "fastmcp-ts/client";
import type { KeyRing } from "../../../../src/auth/server/keys/key-ring.js";
import { INITIALIZE, postRaw } from "../../../helpers/http.js";
import { freePort } from "../../../helpers/ports.js";
import { pkcePair, type PkcePair } from "../../../helpers/pkce.js";
export { freePort };

export const REDIRECT_URI = "http://127.0.0.1:43117/callback";
/** Scopes of the test servers; registration unlimited (every test registers its own clients). */
export const SCOPES = { requiredScopes: ["mcp:read"], clientRegistration: { validScopes: ["mcp:read", "mcp:write"], rateLimit: false } } as const;
export const USERS = { alice: { password: "wonderland", name: "Alice Liddell", claims: { email: "alice@example.com", roles: ["reader"] } } };

export interface LocalServer {
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
  readonly provider: LocalOAuthProvider;
  close(): Promise<void>;
}

/** What the `whoami` tool returns. */
export interface WhoAmI {
  subject: string | undefined;
  clientId: string | undefined;
  scopes: string[];
  claims: Record<string, unknown>;
}

/**
 * Serves a FastMCP server (tools `whoami` and `write_note`, the latter needing `mcp:write`) guarded
 * by the provider `make` builds from the server's base URL. `port` pins the port (a restart);
 * `baseUrl` gives the provider another instance's public URL (two instances behind one name),
 * while `url` stays this instance's own endpoint.
 */
export async function startLocal(make: (baseUrl: string) => LocalOAuthProvider, options: { port?: number; baseUrl?: string } = {}): Promise<LocalServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const baseUrl = options.baseUrl ?? `http://127.0.0.1:${port}`;
    const provider = make(baseUrl);
    const mcp = new FastMCP({ name: "local-oauth-test", auth: provider });
    mcp.tool({
      name: "whoami",
      description: "The caller as the server sees it",
      execute: (_args, ctx) => JSON.stringify({ subject: ctx.auth?.subject, clientId: ctx.auth?.clientId, scopes: [...(ctx.auth?.scopes ?? [])], claims: { ...ctx.auth?.claims } } satisfies WhoAmI),
    });
    mcp.tool({
      name: "write_note",
      description: "Needs mcp:write",
      parameters: z.object({ text: z.string() }),
      scopes: ["mcp:write"],
      execute: ({ text }) => `saved: ${text}`,
    });
    try {
      const running = await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
      return { baseUrl, url: running.url!, provider, close: () => mcp.close() };
    } catch (error) {
      if (!(error instanceof PortInUseError) || options.port !== undefined || attempt === 3) throw error;
    }
  }
}


// ---- The client side ----------------------------------------------------------------------------

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  redirect_uris: string[];
  [field: string]: unknown;
}

/** Registers a public client (RFC 7591) with refresh tokens; `metadata` overrides the defaults. */
export async function register(baseUrl: string, metadata: Record<string, unknown> = {}, fetcher: Fetch = fetch): Promise<RegisteredClient> {
  const response = await fetcher(`${baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "Test Client",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...metadata,
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as RegisteredClient;
}

/** `fetch`, or a Hono app's `request` (no network). */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export type Pkce = PkcePair;
export const pkce = pkcePair;

export interface AuthorizationRequest {
  client: RegisteredClient;
  pkce: Pkce;
  state: string;
  scope?: string;
  redirectUri?: string;
  /** RFC 8707 resource; default the server's MCP endpoint. */
  resource?: string;
}

/** A fresh authorization request for `client` (new PKCE pair and state). */
export function authorizationRequest(client: RegisteredClient, options: { scope?: string; redirectUri?: string; resource?: string } = {}): AuthorizationRequest {
  return { client, pkce: pkce(), state: randomBytes(12).toString("base64url"), ...options };
}

export function authorizeUrl(baseUrl: string, request: AuthorizationRequest): string {
  const url = new URL(`${baseUrl}/authorize`);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", request.client.client_id);
  url.searchParams.set("redirect_uri", request.redirectUri ?? request.client.redirect_uris[0]!);
  url.searchParams.set("code_challenge", request.pkce.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", request.state);
  url.searchParams.set("resource", request.resource ?? `${baseUrl}/mcp`);
  if (request.scope !== undefined) url.searchParams.set("scope", request.scope);
  return url.href;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/** POSTs a form to the token endpoint; the raw response. */
export function tokenRequest(baseUrl: string, fields: Record<string, string>, fetcher: Fetch = fetch): Promise<Response> {
  return fetcher(`${baseUrl}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
}

export async function exchangeCode(baseUrl: string, request: AuthorizationRequest, code: string): Promise<TokenResponse> {
  const response = await tokenRequest(baseUrl, {
    grant_type: "authorization_code",
    code,
    code_verifier: request.pkce.verifier,
    redirect_uri: request.redirectUri ?? request.client.redirect_uris[0]!,
    client_id: request.client.client_id,
    resource: request.resource ?? `${baseUrl}/mcp`,
  });
  if (response.status !== 200) throw new Error(`code exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as TokenResponse;
}

export function refreshRequest(baseUrl: string, client: RegisteredClient, refreshToken: string): Promise<Response> {
  return tokenRequest(baseUrl, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_id });
}

/** The status of an MCP initialize carrying `token`. */
export async function mcpStatus(url: string, token: string): Promise<number> {
  const response = await postRaw(url, INITIALIZE, { authorization: `Bearer ${token}` });
  await response.body?.cancel();
  return response.status;
}

/** Calls `whoami` with `token` through the project's client. */
export async function whoami(url: string, token: string): Promise<WhoAmI> {
  await using client = await new Client(url, { auth: token }).connect();
  const result = await client.callTool("whoami");
  return JSON.parse((result.content[0] as { text: string }).text) as WhoAmI;
}

// ---- The browser ----------------------------------------------------------------------------

/** A page the authorization server showed. */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  html: string;
  /** Hidden inputs of its form (`txn`, `csrf`), when it has one. */
  hidden: Record<string, string>;
  /** Its form's action, when it has one. */
  action: string | undefined;
}

/** Where a navigation ended: a page of the server, or a redirect off it (to the client). */
export type Arrival = { page: Page; redirect?: undefined } | { page?: undefined; redirect: URL };

/**
 * A browser stand-in: one cookie jar for the authorization server's origin, redirects followed by
 * hand while they stay on that origin, and forms posted as a browser would.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, in order. */
  readonly setCookies: string[] = [];
  /** Sent with every request (an X-Forwarded-For, say). */
  readonly headers: Record<string, string> = {};

  constructor(readonly origin: string, private readonly fetcher: Fetch = fetch) {}

  /** Navigates to `url` and follows redirects on the server's origin. */
  async open(url: string): Promise<Arrival> {
    return this.follow(await this.send(url, "GET"), url);
  }

  /** Submits `page`'s form with its hidden fields and `fields`. */
  async submit(page: Page, fields: Record<string, string> = {}): Promise<Arrival> {
    if (!page.action) throw new Error(`the page at ${page.url} has no form`);
    return this.post(page.action, { ...page.hidden, ...fields });
  }

  /** POSTs a form to `url` and follows redirects. */
  async post(url: string, fields: Record<string, string>): Promise<Arrival> {
    return this.follow(await this.send(url, "POST", new URLSearchParams(fields)), url);
  }

  /** One request with this browser's cookies, no redirect followed. */
  async send(url: string, method: "GET" | "POST", body?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = { accept: "text/html", ...this.headers };
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) headers.cookie = cookie;
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await this.fetcher(url, { method, headers, body, redirect: "manual" });
    for (const header of response.headers.getSetCookie()) {
      this.setCookies.push(header);
      this.remember(header);
    }
    return response;
  }

  /** Logs in and approves (or denies) from an authorization URL, wherever the server leads. */
  async authorize(url: string, options: { username?: string; password?: string; decision?: "approve" | "deny" } = {}): Promise<{ params: URLSearchParams; prompts: string[] }> {
    const prompts: string[] = [];
    let arrival = await this.open(url);
    for (let step = 0; step < 6 && arrival.page; step++) {
      const page: Page = arrival.page;
      if (page.status !== 200) throw new Error(`the server answered ${page.status} at ${page.url}: ${textOf(page.html)}`);
      if (new URL(page.url).pathname === "/login") {
        prompts.push("login");
        arrival = await this.submit(page, { username: options.username ?? "alice", password: options.password ?? USERS.alice.password });
      } else {
        prompts.push("consent");
        arrival = await this.submit(page, { action: options.decision ?? "approve" });
      }
    }
    if (!arrival.redirect) throw new Error("no redirect to the client");
    return { params: arrival.redirect.searchParams, prompts };
  }

  private async follow(response: Response, url: string): Promise<Arrival> {
    let current = response;
    let at = url;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get("location");
      if (current.status < 300 || current.status >= 400 || !location) {
        const html = await current.text();
        return { page: { url: at, status: current.status, headers: current.headers, html, ...formOf(html) } };
      }
      await current.body?.cancel();
      const next = new URL(location, at);
      if (next.origin !== this.origin) return { redirect: next };
      at = next.href;
      current = await this.send(at, "GET");
    }
    throw new Error("too many redirects");
  }

  private remember(header: string): void {
    const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator);
    const value = pair.slice(separator + 1);
    const expired = attributes.some((attribute) => /^max-age=(0|-\d+)$/i.test(attribute));
    if (expired || value === "") this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** The Set-Cookie header for the cookie named `name` (or starting with it), parsed. */
export function cookieAttributes(header: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
  const separator = pair.indexOf("=");
  return {
    name: pair.slice(0, separator),
    value: pair.slice(separator + 1),
    attributes: new Map(attributes.map((attribute) => {
      const [key = "", value = ""] = attribute.split("=", 2);
      return [key.toLowerCase(), value];
    })),
  };
}

function formOf(html: string): { hidden: Record<string, string>; action: string | undefined } {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return { hidden: {}, action: undefined };
  const hidden: Record<string, string> = {};
  for (const [, attributes] of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    if (!/type="hidden"/i.test(attributes!)) continue;
    const name = /\bname="([^"]*)"/.exec(attributes!)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(attributes!)?.[1];
    if (name !== undefined) hidden[name] = decodeEntities(value ?? "");
  }
  return { hidden, action: decodeEntities(form[1]!) };
}

export function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, code: string) => {
    if (code[0] === "#") return String.fromCodePoint(code[1] === "x" || code[1] === "X" ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10));
    return named[code.toLowerCase()] ?? entity;
  });
}

/** A page's visible text. */
export function textOf(html: string): string {
  return html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
}

/** The text inside the element carrying `data-testid="<id>"`, entities decoded. */
export function testId(html: string, id: string): string | undefined {
  const match = new RegExp(`<(\\w+)[^>]*\\bdata-testid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return match ? decodeEntities(match[2]!.replace(/<[^>]+>/g, "")) : undefined;
}

/** A browser that logs in as alice and approves; the tokens of the code it brought back. */
export async function tokensFor(server: LocalServer, client: RegisteredClient, options: { scope?: string; resource?: string; browser?: Browser; username?: string; password?: string } = {}): Promise<TokenResponse> {
  const request = authorizationRequest(client, { scope: options.scope ?? "mcp:read", ...(options.resource ? { resource: options.resource } : {}) });
  const browser = options.browser ?? new Browser(server.baseUrl);
  const { params } = await browser.authorize(authorizeUrl(server.baseUrl, request), { ...(options.username ? { username: options.username } : {}), ...(options.password ? { password: options.password } : {}) });
  const code = params.get("code");
  if (!code) throw new Error(`no code: ${params}`);
  return exchangeCode(server.baseUrl, request, code);
}

/** The header and payload of a JWT, decoded (not verified). */
export function jwtParts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split(".");
  return { header: JSON.parse(Buffer.from(header!, "base64url").toString()), payload: JSON.parse(Buffer.from(payload!, "base64url").toString()) };
}

/** The provider's signing key ring (internal): crafts tokens signed by the real key in the refusal tests. */
export function keyRingOf(provider: LocalOAuthProvider): Promise<KeyRing> {
  return (provider as unknown as { runtime: Promise<{ keyRing: KeyRing }> }).runtime.then((runtime) => runtime.keyRing);
}
