/**
 * The OAuth client's redirect target: a small HTTP server on a loopback address (RFC 8252 §7.3)
 * that waits for the authorization response of one sign-in, checks it (its `state` and RFC 9207
 * `iss`, with oauth4webapi), and answers the browser with a static page.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BlockList, isIP, type AddressInfo } from "node:net";
import {
  AuthorizationResponseError,
  skipStateCheck,
  validateAuthResponse,
  type AuthorizationServer,
  type Client as OAuthClient,
} from "oauth4webapi";
// One escaper for every page the project renders. html.ts imports nothing, so the client gains a
// few lines, not the authorization server.
import { escapeHtml } from "../../auth/server/html.js";
import { FastMCPError, PortInUseError } from "../../errors.js";

export interface CallbackServerOptions {
  /** `127.0.0.1` (default), `localhost`, `::1` or another loopback address; anything else is refused. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default `/callback`. */
  path?: string;
  /** How long `wait()` waits for the browser. Default 300 000 (5 minutes). */
  timeoutMs?: number;
  /** Aborting rejects the wait with the signal's reason and closes the server. */
  signal?: AbortSignal;
  /** Named on the success page ("return to …"). Default "the application". */
  applicationName?: string;
}

export interface CallbackResult {
  code: string;
  state: string;
  iss: string | undefined;
  params: URLSearchParams;
}

/** What the authorization response must carry to belong to the sign-in in progress. */
export interface ExpectedCallback {
  state: string;
  /** The authorization server's issuer: an `iss` that is present must equal it exactly. */
  issuer?: string;
  /** The server advertises `authorization_response_iss_parameter_supported`: `iss` must be present. */
  requireIssuer?: boolean;
}

// ---- Errors -------------------------------------------------------------------------------------

/** The user (or the authorization server) refused: `error=access_denied`. */
export class AuthorizationDeniedError extends FastMCPError {
  override name = "AuthorizationDeniedError";
  /** As sent by the authorization server: untrusted text. */
  readonly errorDescription: string | undefined;
  constructor(errorDescription: string | undefined) {
    super("Access was denied by the authorization server");
    this.errorDescription = errorDescription;
  }
}

/**
 * The authorization server answered with an error other than `access_denied`. `error` and
 * `errorDescription` are exactly what it sent (untrusted text); the message carries a cleaned,
 * shortened copy that is safe to print.
 */
export class AuthorizationFailedError extends FastMCPError {
  override name = "AuthorizationFailedError";
  readonly error: string;
  readonly errorDescription: string | undefined;
  constructor(error: string, errorDescription: string | undefined) {
    const description = displayText(errorDescription ?? "", MESSAGE_TEXT_LIMIT);
    super(`Authorization failed (${displayText(error, 100)})${description ? `: ${description}` : ""}`);
    this.error = error;
    this.errorDescription = errorDescription;
  }
}

/** RFC 9207: the response's `iss` is not the expected issuer, or is missing where it is required. */
export class CallbackIssuerMismatchError extends FastMCPError {
  override name = "CallbackIssuerMismatchError";
  constructor(readonly expected: string | undefined, readonly received: string | undefined) {
    super(
      received === undefined
        ? `The authorization response has no "iss" parameter, but ${expected ?? "the authorization server"} announces that it sends one (RFC 9207)`
        : `The authorization response names issuer "${displayText(received, 200)}" instead of "${expected}" (RFC 9207: a possible mix-up attack)`,
    );
  }
}

export class CallbackTimeoutError extends FastMCPError {
  override name = "CallbackTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`No authorization response reached the callback within ${formatDuration(timeoutMs)}`);
  }
}

/** `close()` was called while the wait was still open. */
export class CallbackServerClosedError extends FastMCPError {
  override name = "CallbackServerClosedError";
  constructor() {
    super("The OAuth callback server was closed before an authorization response arrived");
  }
}

// ---- The server ---------------------------------------------------------------------------------

interface Settings {
  host: string;
  port: number;
  path: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  applicationName: string;
}

interface PendingWait {
  expected: ExpectedCallback;
  resolve: (result: CallbackResult) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
}

/** A callback that arrived before `wait()` said which state to expect. */
interface HeldCallback {
  params: URLSearchParams;
  res: ServerResponse;
}

/** The browser is usually sent to the authorization server before `wait()` is called. */
const MAX_HELD = 16;
/** How long `close()` lets responses already being written finish before cutting connections. */
const CLOSE_GRACE_MS = 1_000;

export class CallbackServer {
  readonly redirectUri: string;
  private pending: PendingWait | undefined;
  private waited = false;
  /** No callback can change anything any more: one settled the wait, or the server is closing. */
  private finished = false;
  private readonly held: HeldCallback[] = [];
  private readonly responses = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;
  private endReason: unknown;
  private readonly onAbort = () => void this.shutdown(this.settings.signal?.reason);

  private constructor(private readonly server: Server, private readonly settings: Settings, address: AddressInfo) {
    this.redirectUri = `http://${uriHost(settings.host, address.address)}:${address.port}${settings.path}`;
    server.on("request", (req, res) => this.handle(req, res));
    server.on("error", (error) => void this.shutdown(error));
    // Only a wait in progress (its timer) keeps the process alive, not an idle listener.
    server.unref();
    settings.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Listening when resolved. A port that is taken gives PortInUseError. */
  static async start(options: CallbackServerOptions = {}): Promise<CallbackServer> {
    const settings = resolveSettings(options);
    settings.signal?.throwIfAborted();
    const server = createServer();
    await listen(server, settings.host, settings.port);
    const address = server.address() as AddressInfo;
    if (!isLoopback(address.address)) {
      // A name like "localhost" resolved to something else: never wait for codes on such an interface.
      await new Promise((resolve) => server.close(resolve));
      throw new TypeError(`The OAuth callback host "${settings.host}" resolved to ${address.address}, which is not a loopback address`);
    }
    const instance = new CallbackServer(server, settings, address);
    if (settings.signal?.aborted) {
      await instance.shutdown(settings.signal.reason);
      throw settings.signal.reason;
    }
    return instance;
  }

  /**
   * Waits for the authorization response whose `state` is `expected.state`. Responses with another
   * or no state are answered and ignored; the first one with the right state settles the wait.
   * Callbacks that arrived before this call are considered now, in arrival order. One wait per server.
   */
  wait(expected: ExpectedCallback): Promise<CallbackResult> {
    const problem = expectationProblem(expected) ?? this.waitProblem();
    if (problem) return Promise.reject(problem);
    this.waited = true;
    return new Promise<CallbackResult>((resolve, reject) => {
      const timer = setTimeout(() => this.timeOut(), this.settings.timeoutMs);
      this.pending = { expected: { ...expected }, resolve, reject, timer };
      for (const callback of this.held.splice(0)) this.receive(callback.params, callback.res);
    });
  }

  /** Stops listening and cuts keep-alive connections; an open wait rejects. Idempotent. */
  close(): Promise<void> {
    return this.shutdown(new CallbackServerClosedError());
  }

  private waitProblem(): unknown {
    if (this.closing) return this.endReason;
    if (this.waited) return new FastMCPError("CallbackServer.wait() was already called: one server serves one sign-in");
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.responses.add(res);
    res.once("close", () => this.responses.delete(res));
    const url = requestUrl(req.url);
    if (url?.pathname !== this.settings.path) return sendText(res, 404, "Not found");
    if (req.method !== "GET") return sendText(res, 405, "Method not allowed", { allow: "GET" });
    this.receive(url.searchParams, res);
  }

  private receive(params: URLSearchParams, res: ServerResponse): void {
    if (this.finished) return sendPage(res, PAGES.finished);
    // Kept by hand: oauth4webapi fails the sign-in on a repeat of a parameter it reads and does not
    // read `code`; a response repeating any parameter is ignored instead (RFC 6749 §3.1).
    if (hasRepeatedParameter(params)) return sendPage(res, PAGES.repeated);
    if (!this.pending) return this.hold(params, res);
    // Kept by hand: a response with another state is not this sign-in's and must not end it, while
    // oauth4webapi would fail the sign-in (and checks iss before state). Compared in constant time.
    if (!sameState(params.get("state"), this.pending.expected.state)) return sendPage(res, PAGES.foreign);
    const verdict = judge(params, this.pending.expected, this.settings.applicationName);
    this.settle(verdict);
    sendPage(res, verdict.page);
  }

  private hold(params: URLSearchParams, res: ServerResponse): void {
    if (this.held.length >= MAX_HELD) return sendPage(res, PAGES.notReady);
    this.held.push({ params, res });
  }

  private settle(outcome: { result: CallbackResult } | { error: unknown }): void {
    const pending = this.pending;
    this.finished = true;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if ("result" in outcome) pending.resolve(outcome.result);
    else pending.reject(outcome.error);
  }

  private timeOut(): void {
    this.settle({ error: new CallbackTimeoutError(this.settings.timeoutMs) });
    void this.close();
  }

  private shutdown(reason: unknown): Promise<void> {
    if (this.closing) return this.closing;
    this.endReason = reason;
    this.settle({ error: reason });
    this.settings.signal?.removeEventListener("abort", this.onAbort);
    for (const callback of this.held.splice(0)) sendPage(callback.res, PAGES.notInProgress);
    this.closing = this.stopListening();
    return this.closing;
  }

  private async stopListening(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await responsesFinished([...this.responses], CLOSE_GRACE_MS);
    this.server.closeAllConnections();
    await stopped;
  }
}

// ---- Options ------------------------------------------------------------------------------------

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? "ipv4" : "ipv6");
}

function resolveSettings(options: CallbackServerOptions): Settings {
  return {
    host: loopbackHost(options.host ?? "127.0.0.1"),
    port: checked(options.port ?? 0, (p) => Number.isInteger(p) && p >= 0 && p <= 65_535, "port must be an integer from 0 to 65535"),
    path: checked(options.path ?? "/callback", (p) => /^\/[^?#\s]*$/.test(p), 'path must start with "/" and hold no query, fragment or spaces'),
    timeoutMs: checked(options.timeoutMs ?? 300_000, (t) => Number.isInteger(t) && t > 0 && t <= 2_147_483_647, "timeoutMs must be a positive integer (at most 2^31 - 1)"),
    signal: options.signal,
    applicationName: options.applicationName ?? "the application",
  };
}

function checked<T>(value: T, valid: (value: T) => boolean, rule: string): T {
  if (!valid(value)) throw new TypeError(`CallbackServer: ${rule}, not ${String(value)}`);
  return value;
}

/** The callback must never listen on a public interface: the authorization code arrives there. */
function loopbackHost(raw: string): string {
  const host = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (host.toLowerCase() === "localhost") return "localhost";
  if (isLoopback(host)) return host;
  throw new TypeError(`The OAuth callback server listens only on a loopback address (127.0.0.1, ::1 or localhost), not "${raw}"`);
}

/** "localhost" stays a name (it is what was registered); an address is written as bound, IPv6 bracketed. */
function uriHost(host: string, bound: string): string {
  if (host === "localhost") return host;
  return isIP(bound) === 6 ? `[${bound}]` : bound;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new PortInUseError(host, port));
      else reject(new FastMCPError(`The OAuth callback server could not listen on ${uriHost(host, host)}:${port}: ${error.message}`, { cause: error }));
    });
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
}

function expectationProblem(expected: ExpectedCallback): TypeError | undefined {
  if (typeof expected?.state !== "string" || expected.state === "") return new TypeError("wait() needs the non-empty state of the authorization request");
  if (expected.issuer !== undefined && (typeof expected.issuer !== "string" || expected.issuer === "")) return new TypeError("wait(): issuer must be a non-empty string");
  if (expected.requireIssuer && expected.issuer === undefined) return new TypeError("wait(): requireIssuer needs the issuer to compare iss with");
  return undefined;
}

// ---- Judging a callback -------------------------------------------------------------------------

interface Page {
  status: number;
  title: string;
  /** Plain text: escaped when rendered. */
  message: string;
  tone: "ok" | "error";
}

type Verdict = ({ result: CallbackResult } | { error: FastMCPError }) & { page: Page };

/**
 * What the single response with the right state means, as oauth4webapi's validateAuthResponse
 * judges it. Its `code` never appears in a message or page.
 */
function judge(params: URLSearchParams, expected: ExpectedCallback, applicationName: string): Verdict {
  const iss = params.get("iss") ?? undefined;
  const server = authorizationServer(expected, iss);
  // RFC 9207 §2.4: a response from the wrong issuer is discarded whole, its error text included.
  // The iss check runs on its own first, so that what fails it is known to be an issuer mix-up.
  if (!issuerAccepted(server, iss)) return { error: new CallbackIssuerMismatchError(expected.issuer, iss), page: PAGES.wrongIssuer };
  let validated: URLSearchParams;
  try {
    validated = validateAuthResponse(server, CLIENT, params, expected.state);
  } catch (error) {
    if (error instanceof AuthorizationResponseError) return errorVerdict(error.error, error.error_description);
    return errorVerdict("invalid_response", `The authorization server's response is not valid: ${error instanceof Error ? error.message : String(error)}`);
  }
  // validateAuthResponse does not require a code: a response with neither code nor error passes it.
  const code = validated.get("code");
  if (!code) return errorVerdict("invalid_response", "The authorization server's response has neither a code nor an error");
  return { result: { code, state: expected.state, iss, params }, page: signedInPage(applicationName) };
}

/** validateAuthResponse requires a client but reads nothing of it (a client matters to JARM responses, refused here). */
const CLIENT: OAuthClient = { client_id: "fastmcp-ts" };

/**
 * The authorization server oauth4webapi compares `iss` with. With no issuer to compare with (the
 * wait was given none), the response's own stands in: any `iss` is accepted and passed on.
 */
function authorizationServer(expected: ExpectedCallback, iss: string | undefined): AuthorizationServer {
  return { issuer: expected.issuer ?? iss ?? "urn:fastmcp-ts:no-issuer", authorization_response_iss_parameter_supported: expected.requireIssuer === true };
}

/** RFC 9207 on `iss` alone: simple string comparison, present where the server announces it. */
function issuerAccepted(server: AuthorizationServer, iss: string | undefined): boolean {
  // oauth4webapi reads an empty iss as none; compared as a string, "" is not the issuer.
  if (iss === "") return false;
  try {
    validateAuthResponse(server, CLIENT, new URLSearchParams(iss === undefined ? {} : { iss }), skipStateCheck);
    return true;
  } catch {
    return false;
  }
}

function errorVerdict(error: string, description: string | undefined): Verdict {
  if (error === "access_denied") return { error: new AuthorizationDeniedError(description), page: PAGES.denied };
  const shown = displayText(description ?? "", PAGE_TEXT_LIMIT) || displayText(error, PAGE_TEXT_LIMIT);
  const page: Page = { status: 400, title: "Sign-in failed", message: `Sign-in failed: ${shown}`, tone: "error" };
  return { error: new AuthorizationFailedError(error, description), page };
}

function sameState(received: string | null, expected: string): boolean {
  if (!received) return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 6749 §3.1: parameters must not be included more than once. */
function hasRepeatedParameter(params: URLSearchParams): boolean {
  const names = [...params.keys()];
  return new Set(names).size !== names.length;
}

function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? "/", "http://callback.invalid");
  } catch {
    return undefined;
  }
}

// ---- Text and pages -----------------------------------------------------------------------------

const PAGE_TEXT_LIMIT = 300;
const MESSAGE_TEXT_LIMIT = 300;
/** Controls, invisible format characters (bidi overrides, zero-width) and line separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]+/gu;

/** Untrusted text made printable on one line (no terminal escapes, no bidi tricks) and bounded. */
function displayText(value: string, limit: number): string {
  const chars = Array.from(value.replace(UNPRINTABLE, " ").replace(/\s+/g, " ").trim());
  return chars.length > limit ? `${chars.slice(0, limit).join("")}…` : chars.join("");
}

function formatDuration(ms: number): string {
  return ms >= 1_000 ? `${Math.round(ms / 1_000)} s` : `${ms} ms`;
}

function signedInPage(applicationName: string): Page {
  const name = displayText(applicationName, 100) || "the application";
  return { status: 200, title: "Signed in", message: `You are signed in. You can close this window and return to ${name}.`, tone: "ok" };
}

const PAGES = {
  denied: { status: 403, title: "Access was denied", message: "Access was denied. You can close this window.", tone: "error" },
  wrongIssuer: { status: 400, title: "Sign-in failed", message: "Sign-in failed: the response came from an unexpected authorization server.", tone: "error" },
  foreign: { status: 400, title: "Not this sign-in", message: "This response does not belong to this sign-in, so it was ignored.", tone: "error" },
  repeated: { status: 400, title: "Invalid response", message: "This authorization response repeats a parameter, so it was ignored.", tone: "error" },
  finished: { status: 409, title: "Sign-in already finished", message: "This sign-in has already finished. You can close this window.", tone: "error" },
  notReady: { status: 503, title: "Not ready", message: "The application is not ready for this response. Please try again.", tone: "error" },
  notInProgress: { status: 503, title: "Sign-in not in progress", message: "The application is no longer waiting for this sign-in. You can close this window and start again from the application.", tone: "error" },
} satisfies Record<string, Page>;

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

const STYLE = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}"
  + "main{max-width:28rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);overflow-wrap:anywhere}"
  + "h1{font-size:1.35rem;margin:0 0 1rem}.error h1{color:#a3161b}";

function renderPage(page: Page): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body class="${page.tone}">
<main>
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>
</main>
</body>
</html>
`;
}

function sendPage(res: ServerResponse, page: Page): void {
  send(res, page.status, "text/html; charset=utf-8", renderPage(page));
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  send(res, status, "text/plain; charset=utf-8", `${text}\n`, headers);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function responsesFinished(responses: ServerResponse[], graceMs: number): Promise<void> {
  const open = responses.filter((res) => !res.writableFinished);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs).unref();
    void Promise.all(open.map((res) => new Promise((done) => res.once("close", done)))).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
