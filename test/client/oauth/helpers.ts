/**
 * What the client OAuth tests share: an MCP server on a loopback port (optionally a given one, to
 * restart it in place) with one tool per kind of scope guard, a scripted browser the client's
 * `openBrowser` drives, and recorders for the OAuth requests (the `fetch` option) and for the
 * MCP traffic (the transport's global fetch).
 */
import { vi } from "vitest";
import * as z from "zod";
import type { FetchLike } from "@modelcontextprotocol/client";
import { FastMCP, PortInUseError } from "fastmcp-ts";
import { requireScopes, type AuthProvider, type OAuthProvider } from "fastmcp-ts/auth";
import type { OpenBrowser } from "fastmcp-ts/client";
import { freePort } from "../../helpers/ports.js";
import type { KeyValueStore } from "fastmcp-ts/storage";
import { ServerTokenStore, type SavedTokens, type ServerRecord } from "../../../src/client/auth/token-store.js";
import { UserAgent, type AuthorizationOutcome } from "../../helpers/user-agent.js";

// ---- The MCP server -----------------------------------------------------------------------------

/** The tools, by what they need beyond the server-wide required scope. */
export const TOOL = {
  /** Nothing more. */
  read: "read",
  /** `scopes: ["mcp:write"]`. */
  write: "write",
  /** `auth: requireScopes("admin")`. */
  admin: "admin",
  /** The caller's token as the handler sees it (JSON). */
  whoami: "whoami",
} as const;

export interface WhoAmI {
  clientId: string | undefined;
  subject: string | undefined;
  scopes: string[];
  resource: string | undefined;
}

export interface McpServer<P extends AuthProvider = AuthProvider> {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  readonly baseUrl: string;
  readonly port: number;
  readonly auth: P;
  /** `/register` requests the provider accepted (OAuthProvider servers only). */
  readonly registrations: number;
  close(): Promise<void>;
}

/**
 * A FastMCP server over Streamable HTTP on 127.0.0.1 whose auth is `makeAuth(baseUrl)`. On a free
 * port found first (the provider needs its URL before the server listens), or on `port`.
 */
export async function startServer<P extends AuthProvider>(makeAuth: (baseUrl: string) => P, options: { port?: number } = {}): Promise<McpServer<P>> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const baseUrl = `http://127.0.0.1:${port}`;
    const auth = makeAuth(baseUrl);
    const counter = { registrations: 0 };
    countRegistrations(auth, counter);
    const mcp = toolServer(auth);
    try {
      const running = await mcp.run({ transport: "http", host: "127.0.0.1", port, handleSignals: false, banner: false });
      return {
        url: running.url!,
        baseUrl,
        port,
        auth,
        get registrations() {
          return counter.registrations;
        },
        close: () => mcp.close(),
      };
    } catch (error) {
      if (!(error instanceof PortInUseError) || options.port !== undefined || attempt === 3) throw error;
    }
  }
}

function countRegistrations(auth: AuthProvider, counter: { registrations: number }): void {
  const provider = auth as Partial<OAuthProvider>;
  if (typeof provider.registerClient !== "function") return;
  const register = provider.registerClient.bind(auth);
  provider.registerClient = async (client) => {
    counter.registrations++;
    return register(client);
  };
}

function toolServer(auth: AuthProvider): FastMCP {
  const mcp = new FastMCP({ name: "client-oauth-tests", auth });
  mcp.tool({ name: TOOL.read, description: "Reads", execute: () => "read ok" });
  mcp.tool({ name: TOOL.write, description: "Writes", parameters: z.object({ text: z.string() }), scopes: ["mcp:write"], execute: ({ text }) => `wrote ${text}` });
  mcp.tool({ name: TOOL.admin, description: "Administrators only", auth: requireScopes("admin"), execute: () => "admin ok" });
  mcp.tool({
    name: TOOL.whoami,
    description: "The caller's token",
    execute: (_args, ctx) => {
      const whoami: WhoAmI = { clientId: ctx.auth?.clientId, subject: ctx.auth?.subject, scopes: [...(ctx.auth?.scopes ?? [])], resource: ctx.auth?.resource };
      return JSON.stringify(whoami);
    },
  });
  return mcp;
}

/** The scopes the LocalOAuthProvider and InMemoryOAuthProvider test servers know. */
export const SCOPES: { readonly required: string[]; readonly valid: string[] } = { required: ["mcp:read"], valid: ["mcp:read", "mcp:write", "admin"] };

export const USER = { login: "alice", password: "wonderland" } as const;

// ---- The browser --------------------------------------------------------------------------------

export interface ScriptedBrowser {
  /** What to pass as the OAuth `openBrowser` option. */
  readonly openBrowser: OpenBrowser;
  /** Every authorization URL the client sent the user to, in order. */
  readonly opened: URL[];
  /** What each visit ended with (the redirect's parameters, the prompts answered). */
  readonly outcomes: AuthorizationOutcome[];
  /** What the user does on the consent page from now on. */
  decision: "approve" | "deny";
}

/**
 * A user at a browser: each authorization URL the client opens is visited by a scripted user agent
 * (one per decision, each with its own cookies, so a login session lasts across visits) that logs
 * in, answers the consent page with `decision`, and loads the client's redirect URI.
 */
export function scriptedBrowser(options: { login?: string; password?: string; decision?: "approve" | "deny" } = {}): ScriptedBrowser {
  const agents = new Map<string, UserAgent>();
  const agentFor = (decision: "approve" | "deny") => {
    let agent = agents.get(decision);
    if (!agent) {
      agent = new UserAgent({ login: options.login ?? USER.login, password: options.password ?? USER.password, decision, deliver: true });
      agents.set(decision, agent);
    }
    return agent;
  };
  const browser: ScriptedBrowser = {
    opened: [],
    outcomes: [],
    decision: options.decision ?? "approve",
    openBrowser: async (url) => {
      const target = new URL(url);
      browser.opened.push(target);
      const redirectUri = target.searchParams.get("redirect_uri");
      if (!redirectUri) throw new Error(`no redirect_uri in ${url}`);
      browser.outcomes.push(await agentFor(browser.decision).authorize(target, redirectUri));
    },
  };
  return browser;
}

/** The scopes an authorization URL asks for. */
export function scopesOf(url: URL): string[] {
  return (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean);
}

// ---- Recorders ----------------------------------------------------------------------------------

export interface Exchange {
  method: string;
  url: URL;
  status: number;
  /** The form of a POST with a urlencoded body (token, revocation). */
  form: URLSearchParams | undefined;
  /** The request's Authorization header. */
  authorization: string | null;
  headers: Headers;
}

export interface Recorder {
  readonly exchanges: Exchange[];
  /** Exchanges whose path ends with `suffix` (and, when given, with a form `grant_type` of `grantType`). */
  to(suffix: string, grantType?: string): Exchange[];
}

function recorder(): Recorder {
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    to: (suffix, grantType) => exchanges.filter((e) => e.url.pathname.endsWith(suffix) && (grantType === undefined || e.form?.get("grant_type") === grantType)),
  };
}

async function recorded(exchanges: Exchange[], send: typeof fetch, input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const type = request.headers.get("content-type") ?? "";
  const form = request.method === "POST" && type.startsWith("application/x-www-form-urlencoded") ? new URLSearchParams(await request.clone().text()) : undefined;
  const response = await send(input, init);
  exchanges.push({ method: request.method, url: new URL(request.url), status: response.status, form, authorization: request.headers.get("authorization"), headers: request.headers });
  return response;
}

/** A fetch for the OAuth `fetch` option that records every request it makes. */
export function recordingFetch(): Recorder & { fetch: FetchLike } {
  const log = recorder();
  const send = globalThis.fetch.bind(globalThis);
  return { ...log, fetch: (input, init) => recorded(log.exchanges, send, input, init) };
}

/**
 * Records the requests to `mcpUrl` (the MCP transport uses the global fetch), and in `others`
 * every other request made with the global fetch. Undone by `vi.restoreAllMocks()`. `rewrite` may
 * change an MCP response before the client sees it.
 */
export function watchMcpTraffic(mcpUrl: string, rewrite?: (response: Response) => Response | Promise<Response>): Recorder & { others: Recorder } {
  const log = recorder();
  const others = recorder();
  const original = globalThis.fetch.bind(globalThis);
  const endpoint = new URL(mcpUrl);
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.origin !== endpoint.origin || url.pathname !== endpoint.pathname) return recorded(others.exchanges, original, input, init);
    const response = await recorded(log.exchanges, original, input, init);
    return rewrite ? rewrite(response) : response;
  });
  return { ...log, others };
}

/** Statuses of the MCP exchanges, in order. */
export function statuses(log: Recorder): number[] {
  return log.exchanges.map((exchange) => exchange.status);
}

/** A tool result's text. */
export function textOf(result: { content: Array<{ type: string; text?: string }> }): string {
  return result.content.filter((block) => block.type === "text").map((block) => block.text ?? "").join("\n");
}

/** Waits until `Date.now()` passes `epochMs`. */
export async function until(epochMs: number): Promise<void> {
  const wait = epochMs - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

// ---- Storage ------------------------------------------------------------------------------------

/** What the client keeps for `serverUrl` in `store`. */
export function storedRecord(store: KeyValueStore, serverUrl: string): Promise<ServerRecord> {
  return new ServerTokenStore(store, serverUrl).read();
}

/** The tokens the client would send to `serverUrl` (those of the latest issuer). */
export async function storedTokens(store: KeyValueStore, serverUrl: string): Promise<SavedTokens | undefined> {
  const record = await storedRecord(store, serverUrl);
  return record.latestIssuer ? record.tokens[record.latestIssuer] : undefined;
}
