/**
 * Shared pieces of the property-based fuzz suite (fast-check): a real FastMCP server guarded by a
 * LocalOAuthProvider over a counting MemoryStore on 127.0.0.1, a keep-alive HTTP client that can
 * send what `fetch` refuses to (odd headers, raw bytes, chunked bodies), the arbitraries every
 * endpoint uses, and the checks of an OAuth error answer.
 *
 * Every property runs with a fixed seed (FUZZ_SEED overrides it, FUZZ_SCALE multiplies the run
 * counts, for a longer local session) and sends its requests in small concurrent batches.
 */
import http from "node:http";
import net from "node:net";
import { inspect } from "node:util";
import fc from "fast-check";
import { expect } from "vitest";
import * as z from "zod";
import { FastMCP, PortInUseError } from "fastmcp-ts";
import { LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { MemoryStore } from "fastmcp-ts/storage";
import type { SetOptions } from "../../src/storage/store.js";
import { authorizationRequest, authorizeUrl, Browser, USERS, type AuthorizationRequest, type LocalServer, type RegisteredClient, type TokenResponse } from "../auth/server/local/harness.js";
import { freePort } from "../helpers/ports.js";

export const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/** fast-check parameters: the fixed seed, `numRuns` (times FUZZ_SCALE), and any `extra` (examples...). */
export function fuzz<T>(numRuns: number, extra: Partial<fc.Parameters<T>> = {}): fc.Parameters<T> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...extra };
}

/** Requests of one run, sent together: fast-check runs properties one after another. */
export function batchOf<T>(arbitrary: fc.Arbitrary<T>, maxLength = 4): fc.Arbitrary<T[]> {
  return fc.array(arbitrary, { minLength: 1, maxLength });
}

/** Runs `check` on every item concurrently; throws the first failure once all are done. */
export async function eachConcurrently<T>(items: readonly T[], check: (item: T) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(items.map(check));
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) throw failed.reason;
}

// ---- The store --------------------------------------------------------------------------------

/**
 * A MemoryStore that counts its writes and knows its live keys (a test lasts far less than any TTL
 * the provider sets, so nothing expires during one): what `/authorize` and `/register` add to
 * the store is then observable from outside.
 */
export class CountingStore extends MemoryStore {
  readonly keys = new Set<string>();
  writes = 0;

  override async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    await super.set(key, value, options);
    this.wrote(key, true);
  }

  override async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    const added = await super.add(key, value, options);
    if (added) this.wrote(key, true);
    return added;
  }

  override async take<T = unknown>(key: string): Promise<T | undefined> {
    const value = await super.take<T>(key);
    if (value !== undefined) this.wrote(key, false);
    return value;
  }

  override async delete(key: string): Promise<void> {
    await super.delete(key);
    this.wrote(key, false);
  }

  override async increment(key: string, by?: number, options?: SetOptions): Promise<number> {
    const value = await super.increment(key, by, options);
    this.wrote(key, true);
    return value;
  }

  private wrote(key: string, live: boolean): void {
    this.writes++;
    if (live) this.keys.add(key);
    else this.keys.delete(key);
  }
}

// ---- The server -------------------------------------------------------------------------------

export interface FuzzServer extends LocalServer {
  readonly origin: string;
  readonly store: CountingStore;
  /** Everything the provider or the server reported as an unexpected failure (each one is a bug). */
  readonly errors: string[];
}

export const SCOPES = ["mcp:read", "mcp:write"];

/**
 * A FastMCP server (tools `whoami`, and `write_note` needing mcp:write) guarded by a
 * LocalOAuthProvider (user alice) over a CountingStore, on an ephemeral loopback port. Client ID
 * Metadata Documents are off: an https `client_id` would make the server fetch it, and the fuzz
 * suite stays off the network. Stateless unless asked (requests need no session).
 */
export async function startServer(options: { provider?: Partial<LocalOAuthProviderOptions>; stateless?: boolean } = {}): Promise<FuzzServer> {
  const store = new CountingStore();
  const errors: string[] = [];
  const report = (where: string) => (error: unknown) => {
    errors.push(`${where}: ${error instanceof Error ? (error.stack ?? error.message) : inspect(error)}`);
  };
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const provider = new LocalOAuthProvider({
      baseUrl,
      users: USERS,
      store,
      requiredScopes: ["mcp:read"],
      clientRegistration: { validScopes: SCOPES, rateLimit: false },
      clientMetadataDocuments: false,
      onError: report("provider"),
      ...options.provider,
    });
    const mcp = new FastMCP({ name: "fuzz", auth: provider, statelessHttp: options.stateless ?? true, onError: (error, where) => report(where)(error) });
    mcp.tool({ name: "whoami", description: "The caller", execute: (_args, ctx) => JSON.stringify({ subject: ctx.auth?.subject, clientId: ctx.auth?.clientId }) });
    mcp.tool({ name: "write_note", description: "Needs mcp:write", parameters: z.object({ text: z.string() }), scopes: ["mcp:write"], execute: ({ text }) => `saved: ${text}` });
    try {
      const running = await mcp.run({ transport: "http", host: "127.0.0.1", port, banner: false, handleSignals: false });
      await provider.ready();
      return { origin: baseUrl, baseUrl, url: running.url!, provider, store, errors, close: () => mcp.close() };
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt === 3) throw error;
    }
  }
}

/** Fails with what the server reported, if it reported anything. */
export function expectNoReportedErrors(server: FuzzServer): void {
  expect(server.errors, "unexpected failures reported by the server").toEqual([]);
}

// ---- HTTP -------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Sent {
  method?: string;
  /** Path and query, as written (characters HTTP cannot carry are percent-encoded). */
  path: string;
  /** Values are sent as their UTF-8 bytes; undefined leaves the header out. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
  /** Another agent than the shared keep-alive one. */
  agent?: http.Agent;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
/** How many requests this process sent (FUZZ_VERBOSE prints it per file). */
let requestsSent = 0;

/** One request over the shared keep-alive agent. */
export function send(origin: string, request: Sent, timeoutMs = 15_000): Promise<Reply> {
  const url = new URL(origin);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[name] = wireHeader(value);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, "utf8");
  if (body !== undefined) {
    if (request.chunked) headers["transfer-encoding"] = "chunked";
    else headers["content-length"] = String(body.length);
  }
  requestsSent++;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: request.method ?? "POST", path: wirePath(request.path), headers, agent: request.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms: ${request.method ?? "POST"} ${request.path}`)));
    req.on("error", reject);
    if (body !== undefined && request.chunked) {
      // Two chunks, so the server really reads a stream.
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));
      req.end(body.subarray(half));
    } else {
      req.end(body);
    }
  });
}

/** A header value as bytes on the wire: UTF-8, with the characters HTTP forbids (CR, LF, NUL...) replaced. */
function wireHeader(value: string): string {
  return Buffer.from(value, "utf8").toString("latin1").replace(/[\x00-\x08\x0a-\x1f\x7f]/g, "?");
}

/** A request target HTTP can carry: anything outside visible ASCII percent-encoded (as UTF-8). */
export function wirePath(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (character) => [...Buffer.from(character, "utf8")].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
}

export const FORM = "application/x-www-form-urlencoded";

/**
 * On one raw connection: POSTs a chunked body of `size` bytes, streamed a chunk per tick as a
 * client would, to its end; once the body is sent and the answer's head arrived, sends a small
 * second POST on the same connection (HTTP/1.1 keep-alive). The first answer's head and what came
 * back to the second request ("" when the connection closed without an answer).
 */
export function chunkedThenAnother(origin: string, path: string, contentType: string, size: number): Promise<{ head: string; second: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    let head: string | undefined;
    let bodySent = false;
    let secondSent = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const rest = head === undefined ? "" : received.slice(received.indexOf("\r\n\r\n") + 4);
      const second = rest.indexOf("HTTP/1.1 ");
      resolve({ head: head ?? received, second: second < 0 ? "" : rest.slice(second) });
    };
    const timer = setTimeout(finish, 5_000);
    const sendSecond = () => {
      if (secondSent || !bodySent || head === undefined) return;
      secondSent = true;
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: 12\r\n\r\ngrant_type=x`);
    };
    socket.on("error", () => undefined); // EPIPE/ECONNRESET: what is checked is what came back
    socket.on("close", finish);
    socket.on("data", (data: Buffer) => {
      received += data.toString("latin1");
      if (head === undefined && received.includes("\r\n\r\n")) head = received.slice(0, received.indexOf("\r\n\r\n") + 2);
      sendSecond();
      if (secondSent && received.indexOf("HTTP/1.1 ", 1) > 0) setTimeout(finish, 50);
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = 16 * 1024;
    let sent = 0;
    const pump = () => {
      if (socket.destroyed) return;
      if (sent >= size) {
        socket.write("0\r\n\r\n");
        bodySent = true;
        sendSecond();
        return;
      }
      socket.write(`${chunk.toString(16)}\r\n${"a".repeat(chunk)}\r\n`);
      sent += chunk;
      setImmediate(pump);
    };
    pump();
  });
}

/** A JSON body, or the reason it is not one. */
export function parseJson(reply: Reply): unknown {
  try {
    return JSON.parse(reply.body);
  } catch {
    throw new Error(`the ${reply.status} answer is not JSON: ${JSON.stringify(reply.body.slice(0, 300))}`);
  }
}

export const OAUTH_ERROR_CODES = [
  "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "unsupported_response_type",
  "invalid_scope", "access_denied", "temporarily_unavailable", "invalid_target", "invalid_redirect_uri", "invalid_client_metadata", "unsupported_token_type",
];

/**
 * A 4xx JSON OAuth error (RFC 6749 §5.2): `error` one of the codes (server_error never: that is
 * the 5xx this suite hunts), an optional string description, and never a cached answer.
 */
export function expectOAuthError(reply: Reply, codes: readonly string[] = OAUTH_ERROR_CODES): { error: string; error_description?: string } {
  expect(reply.status, `status ${reply.status}: ${reply.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(reply.status, `status ${reply.status}: ${reply.body.slice(0, 300)}`).toBeLessThan(500);
  expect(reply.headers["content-type"]).toMatch(/^application\/json\b/);
  const body = parseJson(reply) as { error?: unknown; error_description?: unknown };
  expect(typeof body === "object" && body !== null && !Array.isArray(body), `not a JSON object: ${reply.body}`).toBe(true);
  expect(codes, `error code in ${reply.body}`).toContain(body.error);
  if (body.error_description !== undefined) expect(typeof body.error_description).toBe("string");
  expect(reply.headers["cache-control"]).toMatch(/no-store/);
  return body as { error: string; error_description?: string };
}

// ---- Encodings --------------------------------------------------------------------------------

export type Pairs = Array<[string, string]>;

/**
 * Form encodings that decode to the same pairs: URLSearchParams (`+` for spaces),
 * encodeURIComponent, or every byte percent-encoded (upper or lower case hex).
 */
export const FORM_STYLES = ["standard", "component", "every-byte", "every-byte-lower"] as const;
export type FormStyle = (typeof FORM_STYLES)[number];

export function encodeForm(pairs: Pairs, style: FormStyle = "standard"): string {
  if (style === "standard") return new URLSearchParams(pairs).toString();
  const encode = style === "component"
    ? (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, "\uFFFD"))
    : (text: string) => [...Buffer.from(text, "utf8")].map((byte) => {
      const hex = byte.toString(16).padStart(2, "0");
      return `%${style === "every-byte" ? hex.toUpperCase() : hex}`;
    }).join("");
  return pairs.map(([key, value]) => `${encode(key)}=${encode(value)}`).join("&");
}

/** HTTP Basic credentials as RFC 6749 §2.3.1 writes them (id and secret form-urlencoded first). */
export function basic(id: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, "\uFFFD")).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`, "utf8").toString("base64")}`;
}

// ---- Arbitraries ------------------------------------------------------------------------------

/** Strings of every kind: printable ASCII, any code point (lone surrogates too), graphemes, and known troublemakers. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom(
    "", " ", "%", "%00", "%zz", "%%", "+", "&", "=", "null", "undefined", "NaN", "[]", "{}", "__proto__", "constructor", "toString",
    "\u0000", "\r\n", "\t", "\u202e", "\uFEFF", "😀", "\uD800", "é", "ＡＢＣ", "a".repeat(2500), "%".repeat(300),
  ),
);

const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Variants of `original` that are never `original` itself: a character flipped, the string cut,
 * a character dropped, text appended or prepended, a letter's case swapped, whitespace around
 * it, the string doubled.
 */
export function mutated(original: string): fc.Arbitrary<string> {
  const length = original.length;
  const index = fc.nat({ max: Math.max(0, length - 1) });
  const replaceAt = (at: number, text: string) => original.slice(0, at) + text + original.slice(at + 1);
  return fc.oneof(
    fc.tuple(index, fc.constantFrom(...TOKEN_ALPHABET, ".", "~", "+", "/", "=", "%", " ", "\u00e9")).map(([at, c]) => replaceAt(at, c)),
    fc.nat({ max: Math.max(0, length - 1) }).map((cut) => original.slice(0, cut)),
    index.map((at) => original.slice(0, at) + original.slice(at + 1)),
    fc.string({ minLength: 1, maxLength: 8 }).map((tail) => original + tail),
    fc.string({ minLength: 1, maxLength: 8 }).map((head) => head + original),
    index.map((at) => replaceAt(at, swapCase(original[at] ?? ""))),
    fc.constantFrom(` ${original}`, `${original} `, `${original}\n`, `${original}\u0000`, `${original}${original}`, `${original}=`),
  ).filter((variant) => variant !== original);
}

function swapCase(character: string): string {
  const upper = character.toUpperCase();
  return upper === character ? character.toLowerCase() : upper;
}

/** A value from `values` or a mutation of one. */
export function realOrMutated(values: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom(...values), fc.constantFrom(...values).chain(mutated));
}

/** Content types for a form endpoint: mostly the right one (in its several spellings). */
export const formContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 16, arbitrary: fc.constant(FORM) },
  { weight: 2, arbitrary: fc.constantFrom(`${FORM}; charset=utf-8`, "Application/X-WWW-Form-Urlencoded", `  ${FORM}  `, `${FORM};charset=latin1`) },
  { weight: 2, arbitrary: fc.constantFrom(undefined, "", "application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencodedx", "*/*", ";", "application/x-www-form-urlencoded, text/plain") },
  { weight: 1, arbitrary: anyText },
);

// ---- The OAuth flow ---------------------------------------------------------------------------

/** Registers a client (RFC 7591) over HTTP; `metadata` overrides a public client with refresh tokens. */
export async function registerClient(server: FuzzServer, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const reply = await send(server.origin, {
    path: "/register",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "fuzz client",
      redirect_uris: ["http://127.0.0.1:43117/callback"],
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "none",
      ...metadata,
    }),
  });
  if (reply.status !== 201) throw new Error(`registration failed: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as RegisteredClient;
}

/** How a client authenticates at /token and /revoke: the Authorization header and form fields. */
export interface Credentials {
  authorization?: string;
  form: Pairs;
}

/** The credentials a client registered to use. */
export function credentialsOf(client: RegisteredClient): Credentials {
  const method = client.token_endpoint_auth_method ?? "client_secret_basic";
  if (method === "none") return { form: [["client_id", client.client_id]] };
  if (method === "client_secret_post") return { form: [["client_id", client.client_id], ["client_secret", client.client_secret!]] };
  return { authorization: basic(client.client_id, client.client_secret!), form: [] };
}

export interface IssuedCode {
  code: string;
  request: AuthorizationRequest;
}

/** A browser (signed in as alice once, consent remembered after) that brings back codes. */
export async function authorizationCode(server: FuzzServer, browser: Browser, client: RegisteredClient, scope = "mcp:read"): Promise<IssuedCode> {
  const request = authorizationRequest(client, { scope });
  const { params } = await browser.authorize(authorizeUrl(server.origin, request));
  const code = params.get("code");
  if (!code) throw new Error(`no code: ${params}`);
  return { code, request };
}

/** POSTs a form to /token (or /revoke) with `credentials`. */
export function postForm(server: FuzzServer, path: string, credentials: Credentials, fields: Pairs): Promise<Reply> {
  return send(server.origin, {
    path,
    headers: { "content-type": FORM, authorization: credentials.authorization },
    body: encodeForm([...credentials.form, ...fields]),
  });
}

/** Redeems a code as its client would; the tokens. */
export async function redeem(server: FuzzServer, client: RegisteredClient, issued: IssuedCode): Promise<TokenResponse> {
  const reply = await postForm(server, "/token", credentialsOf(client), [
    ["grant_type", "authorization_code"],
    ["code", issued.code],
    ["code_verifier", issued.request.pkce.verifier],
    ["redirect_uri", issued.request.client.redirect_uris[0]!],
  ]);
  if (reply.status !== 200) throw new Error(`code exchange failed: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as TokenResponse;
}

/** A fresh code for `client`, redeemed: the tokens. */
export async function tokensFor(server: FuzzServer, browser: Browser, client: RegisteredClient, scope = "mcp:read"): Promise<TokenResponse> {
  return redeem(server, client, await authorizationCode(server, browser, client, scope));
}

export const PING = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
export const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" } as const;

/** What /mcp answers a ping carrying `authorization`. */
export function ping(server: FuzzServer, authorization: string | undefined): Promise<Reply> {
  return send(server.origin, { path: "/mcp", headers: { ...MCP_HEADERS, authorization }, body: PING });
}

export { Browser };
export type { RegisteredClient, TokenResponse };

// ---- What the fuzz reached (FUZZ_VERBOSE=1) ----------------------------------------------------

const outcomes = new Map<string, number>();

/** Counts an outcome, to see which paths the generated requests reach. */
export function tally(outcome: string): void {
  if (process.env.FUZZ_VERBOSE) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

/** Prints the outcomes counted so far and the number of requests sent (FUZZ_VERBOSE=1). */
export function printTally(): void {
  if (!process.env.FUZZ_VERBOSE) return;
  const lines = [...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([outcome, count]) => `${String(count).padStart(6)}  ${outcome}`);
  console.info(`${requestsSent} requests sent\n${lines.join("\n")}`);
  outcomes.clear();
}
