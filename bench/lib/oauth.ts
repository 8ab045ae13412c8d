/**
 * The OAuth side of the harness, against a LocalOAuthProvider server: an MCP client's real flow
 * (RFC 7591 registration of a public client, /authorize with PKCE S256, the login and consent
 * pages as a browser submits them, /token), the pools of single-use codes and refresh tokens the
 * token rows spend, and the /token requests of the load with the check of every answer.
 */
import { createHash, randomBytes } from "node:crypto";
import type autocannon from "autocannon";
import type { TokenSequence } from "./auth.js";
import type { Tally } from "./load.js";

/** Where the client says it receives codes. Never contacted: the harness reads the code off the redirect. */
export const REDIRECT_URI = "http://127.0.0.1:9/callback";
/** What the client asks for, and what every token answer must grant. */
export const SCOPE = "mcp:read mcp:write";

export interface BenchClient {
  baseUrl: string;
  clientId: string;
  /** RFC 8707 resource: the MCP endpoint, sent with every authorization and token request as MCP clients do. */
  resource: string;
}

/** An authorization code and the PKCE verifier of the request that produced it. */
export interface PooledCode {
  code: string;
  verifier: string;
}

export interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/** Registers a public client (token_endpoint_auth_method none) with the code and refresh grants, as MCP clients do. */
export async function registerClient(baseUrl: string): Promise<BenchClient> {
  const response = await fetch(`${baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "fastmcp-bench",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: SCOPE,
    }),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`/register answered HTTP ${response.status}: ${body.slice(0, 300)}`);
  return { baseUrl, clientId: (JSON.parse(body) as { client_id: string }).client_id, resource: `${baseUrl}/mcp` };
}

/** What pools codes: one authorization at a time, each ending in a code and its PKCE verifier. */
export interface CodeSource {
  code(): Promise<PooledCode>;
}

/** An authorization request of `client` as an MCP client makes it: a new PKCE pair and state, the scopes and the resource. */
export function authorizationRequest(client: BenchClient): { url: URL; verifier: string; state: string } {
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(12).toString("base64url");
  const url = new URL(`${client.baseUrl}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state,
    scope: SCOPE,
    resource: client.resource,
  }).toString();
  return { url, verifier, state };
}

/**
 * A browser signed in to the server, which approved the client once: afterwards each code costs
 * what it costs a returning user whose consent is remembered, `GET /authorize` (validation, a
 * transaction) and `GET /consent` (the session and the remembered consent read, the transaction
 * taken, a grant and its code written), both the provider's real pages.
 */
export class Browser implements CodeSource {
  private readonly cookies = new Map<string, string>();
  private readonly origin: string;

  constructor(private readonly client: BenchClient, private readonly username: string, private readonly password: string) {
    this.origin = new URL(client.baseUrl).origin;
  }

  /** One authorization: a new PKCE pair and state, then whatever pages the server shows (login, consent) until it redirects to the client. */
  async code(): Promise<PooledCode> {
    const { url, verifier, state } = authorizationRequest(this.client);
    let response = await this.send(url.href, "GET");
    let at = url.href;
    for (let step = 0; step < 10; step++) {
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        const next = new URL(location, at);
        if (next.origin !== this.origin) return { code: codeFrom(next.searchParams, state, this.client.baseUrl), verifier };
        at = next.href;
        response = await this.send(at, "GET");
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`the server answered HTTP ${response.status} at ${at}: ${html.slice(0, 300)}`);
      const form = hiddenFields(html);
      const page = new URL(at).pathname;
      const fields: Record<string, string> = page === "/login" ? { username: this.username, password: this.password } : { action: "approve" };
      at = new URL(page, at).href;
      response = await this.send(at, "POST", new URLSearchParams({ ...form, ...fields }));
    }
    throw new Error("no redirect to the client after 10 steps");
  }

  private async send(url: string, method: "GET" | "POST", body?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = { accept: "text/html" };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(url, { method, headers, body, redirect: "manual" });
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(";")[0]!;
      const separator = pair.indexOf("=");
      const value = pair.slice(separator + 1);
      if (value === "" || /;\s*max-age=0/i.test(header)) this.cookies.delete(pair.slice(0, separator));
      else this.cookies.set(pair.slice(0, separator), value);
    }
    return response;
  }
}

/** The code of the redirect to the client (its query), after checking the state it echoes and the issuer (RFC 9207). */
export function codeFrom(redirect: URLSearchParams, state: string, issuer: string): string {
  const code = redirect.get("code");
  if (!code) throw new Error(`the authorization ended without a code: ${redirect.toString().slice(0, 300)}`);
  if (redirect.get("state") !== state) throw new Error("the redirect did not carry the request's state");
  if (redirect.get("iss") !== issuer) throw new Error(`the redirect's iss is ${redirect.get("iss")}, not ${issuer}`);
  return code;
}

/** The hidden inputs of a page's form (txn, csrf). */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, attributes] of html.matchAll(/<input\b([^>]*)>/gi)) {
    if (!/type="hidden"/i.test(attributes!)) continue;
    const name = /\bname="([^"]*)"/.exec(attributes!)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(attributes!)?.[1];
    if (name !== undefined) fields[name] = (value ?? "").replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  }
  return fields;
}

/** `count` codes: the first signs in and approves (serially), the rest come `concurrency` at a time. */
export async function codePool(browser: CodeSource, count: number, concurrency: number): Promise<PooledCode[]> {
  if (count === 0) return [];
  const codes = [await browser.code()];
  await inParallel(count - 1, concurrency, async () => {
    codes.push(await browser.code());
  });
  return codes;
}

/** Refresh tokens, one per code: each code exchanged at /token, as a client does after the redirect. */
export async function refreshPool(client: BenchClient, codes: readonly PooledCode[], concurrency: number): Promise<string[]> {
  const tokens: string[] = [];
  let next = 0;
  await inParallel(codes.length, concurrency, async () => {
    const answer = await exchangeCode(client, codes[next++]!);
    tokens.push(answer.refresh_token!);
  });
  return tokens;
}

/** Redeems one code with fetch; throws unless the answer is a correct token response. */
export async function exchangeCode(client: BenchClient, code: PooledCode): Promise<TokenAnswer> {
  return tokenCall(client, codeExchangeForm(client, code), undefined);
}

/** Uses one refresh token with fetch; throws unless the answer is a correct, rotated token response. */
export async function refresh(client: BenchClient, token: string): Promise<TokenAnswer> {
  return tokenCall(client, refreshForm(client, token), token);
}

async function tokenCall(client: BenchClient, form: string, refreshed: string | undefined): Promise<TokenAnswer> {
  const response = await fetch(`${client.baseUrl}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  const body = await response.text();
  const answer = response.status === 200 ? tokenAnswer(body, refreshed) : undefined;
  if (!answer) throw new Error(`wrong answer from /token: HTTP ${response.status} ${body.slice(0, 300)}`);
  return answer;
}

/** The authorization_code grant as an MCP client posts it (public client: client_id, no secret). */
export function codeExchangeForm(client: BenchClient, code: PooledCode): string {
  return new URLSearchParams({
    grant_type: "authorization_code",
    code: code.code,
    code_verifier: code.verifier,
    redirect_uri: REDIRECT_URI,
    client_id: client.clientId,
    resource: client.resource,
  }).toString();
}

export function refreshForm(client: BenchClient, token: string): string {
  return new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: client.clientId, resource: client.resource }).toString();
}

/**
 * The token response, if `body` is a correct one: a JWT access token (three parts) of type Bearer
 * with its lifetime, the scopes asked for, and a refresh token (the client registered the grant),
 * a new one when `refreshed` was the token sent (rotation).
 */
export function tokenAnswer(body: string, refreshed: string | undefined): TokenAnswer | undefined {
  try {
    const answer = JSON.parse(body) as Partial<TokenAnswer>;
    const jwt = typeof answer.access_token === "string" && answer.access_token.split(".").length === 3;
    const rotated = typeof answer.refresh_token === "string" && answer.refresh_token.length > 0 && answer.refresh_token !== refreshed;
    return jwt && answer.token_type === "Bearer" && typeof answer.expires_in === "number" && answer.scope === SCOPE && rotated ? (answer as TokenAnswer) : undefined;
  } catch {
    return undefined;
  }
}

interface TokenContext {
  refreshed?: string | undefined;
}

/**
 * The autocannon template of a token row: `POST /token`, each request with the next item of the
 * pool (a code and its verifier, or a refresh token), every answer checked. A request that finds
 * the pool used up sends an empty grant (refused, so counted wrong) and is counted as missing.
 */
export function tokenRequests(client: BenchClient, pool: TokenSequence<PooledCode> | TokenSequence<string>): (tally: Tally) => autocannon.Request<TokenContext> {
  return (tally) => ({
    method: "POST",
    path: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setupRequest: (request, context) => {
      const item = pool.next();
      context.refreshed = typeof item === "string" ? item : undefined;
      const body = item === undefined ? "grant_type=authorization_code" : typeof item === "string" ? refreshForm(client, item) : codeExchangeForm(client, item);
      return { ...request, body };
    },
    onResponse: (status, body, context) => {
      if (status === 200 && tokenAnswer(body, context.refreshed) !== undefined) tally.correct++;
      else tally.wrong++;
    },
  });
}

/** Runs `task` `count` times, at most `concurrency` at once; the first failure fails it all. */
async function inParallel(count: number, concurrency: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
