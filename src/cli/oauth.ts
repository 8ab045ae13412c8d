/**
 * OAuth for the CLI: `login`, `logout`, and `list`/`call --auth oauth`. Tokens and client
 * registrations live in a FileStore in the user's config directory (directory 0700, files 0600),
 * so a second command finds them and needs no browser.
 */
import { decodeJwt } from "jose";
import { OAuthClientFlowError, OAuthError, UnauthorizedError } from "@modelcontextprotocol/client";
import { openSystemBrowser } from "../client/auth/browser.js";
import { NoOAuthMetadataError, OAuthFlowError, OAuthUnreachableError } from "../client/auth/errors.js";
import { OAuth } from "../client/auth/oauth.js";
import { defaultTokenStore, ServerTokenStore, type SavedTokens } from "../client/auth/token-store.js";
import type { KeyValueStore } from "../storage/store.js";
import { CliError, messageOf, UsageError } from "./errors.js";
import { printError } from "./output.js";
import { networkReason } from "../client/network-errors.js";

/** How this CLI registers at authorization servers. */
export const CLI_CLIENT_NAME = "fastmcp-ts CLI";

/** What `login` was given that later commands need to refresh or log in again the same way. */
export interface LoginSettings {
  clientId?: string;
  /** Kept next to the tokens (same file modes): a confidential client needs it to refresh. */
  clientSecret?: string;
  callbackPort?: number;
}

export interface CliOAuthOptions extends LoginSettings {
  /** The MCP server URL (normalized). */
  server: string;
  /** false: only print the authorization URL (--no-browser). */
  browser: boolean;
  scopes?: string;
  loginTimeoutMs?: number;
}

/** An OAuth instance for the CLI, with the store it keeps tokens in and a count of the logins it started. */
export interface CliOAuth {
  readonly oauth: OAuth;
  readonly store: KeyValueStore;
  /** How many times the user was sent to an authorization URL. */
  readonly logins: () => number;
}

/** Where the CLI keeps OAuth state (see defaultTokenDirectory). */
export function cliTokenStore(): KeyValueStore {
  return defaultTokenStore();
}

/** The server URL as the OAuth state is keyed by (the Client's own normalization). */
export function serverUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`Not a URL: ${printable(text).slice(0, 200)} (expected the server's http(s) URL, such as http://127.0.0.1:8000/mcp)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`Unsupported URL scheme ${url.protocol} (use http or https)`);
  return url.href;
}

export function createCliOAuth(options: CliOAuthOptions, store: KeyValueStore = cliTokenStore()): CliOAuth {
  let logins = 0;
  const oauth = new OAuth({
    clientName: CLI_CLIENT_NAME,
    tokenStorage: store,
    ...(options.scopes !== undefined ? { scopes: options.scopes } : {}),
    ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
    ...(options.callbackPort !== undefined ? { callbackPort: options.callbackPort } : {}),
    ...(options.loginTimeoutMs !== undefined ? { loginTimeoutMs: options.loginTimeoutMs } : {}),
    openBrowser: async (url) => {
      logins++;
      await sendUserTo(url, options.server, options.browser);
    },
  });
  return { oauth, store, logins: () => logins };
}

/**
 * Prints the authorization URL (always: the browser may not open, or may be on another machine)
 * and, unless --no-browser, opens it. A browser that fails to open is not an error.
 */
async function sendUserTo(url: string, server: string, browser: boolean): Promise<void> {
  if (!browser) {
    const redirect = redirectUriOf(url);
    await printError(`To log in to ${server}, visit: ${url}`);
    if (redirect) await printError(`Waiting for your browser to come back to ${redirect} (on another machine: forward that port to this one, see fastmcp-ts login --help)`);
    return;
  }
  await printError(`Opening your browser to log in to ${server}… If it does not open, visit: ${url}`);
  try {
    await openSystemBrowser(url);
  } catch {
    // The URL is printed: the user can open it by hand.
  }
}

function redirectUriOf(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get("redirect_uri") ?? undefined;
  } catch {
    return undefined;
  }
}

// ---- What login keeps for later commands ---------------------------------------------------------

function settingsKey(server: string): string {
  return `fastmcp-ts-cli:login:${server}`;
}

export async function readLoginSettings(store: KeyValueStore, server: string): Promise<LoginSettings> {
  return (await store.get<LoginSettings>(settingsKey(server))) ?? {};
}

export async function saveLoginSettings(store: KeyValueStore, server: string, settings: LoginSettings): Promise<void> {
  if (Object.keys(settings).length === 0) await store.delete(settingsKey(server));
  else await store.set(settingsKey(server), settings);
}

export async function forgetLoginSettings(store: KeyValueStore, server: string): Promise<boolean> {
  const had = (await store.get(settingsKey(server))) !== undefined;
  await store.delete(settingsKey(server));
  return had;
}

/** The tokens sent to `server` (those of the authorization server that issued last), if any. */
export async function storedTokens(store: KeyValueStore, server: string): Promise<SavedTokens | undefined> {
  const record = await new ServerTokenStore(store, server).read();
  return record.latestIssuer ? record.tokens[record.latestIssuer] : undefined;
}

/** Whether anything is stored for `server`: tokens or a client registration. */
export async function hasStoredState(store: KeyValueStore, server: string): Promise<boolean> {
  const record = await new ServerTokenStore(store, server).read();
  return Object.keys(record.tokens).length > 0 || Object.keys(record.clients).length > 0 || record.discovery !== undefined;
}

/** `as alice (scopes: a b; access token expires …)`: what a login produced, without the tokens. */
export function describeTokens(tokens: SavedTokens | undefined): string {
  if (!tokens) return "";
  const subject = subjectOf(tokens);
  const details: string[] = [];
  details.push(tokens.scope ? `scopes: ${tokens.scope}` : "no scopes named by the authorization server");
  if (tokens.expires_at !== undefined) {
    const when = new Date(tokens.expires_at).toISOString().replace(/\.\d{3}Z$/, "Z");
    details.push(`access token expires ${when}${tokens.refresh_token ? ", refreshed automatically" : ""}`);
  }
  return `${subject ? ` as ${subject}` : ""} (${details.join("; ")})`;
}

/** The subject of the ID token, else of a JWT access token; undefined when neither says. */
function subjectOf(tokens: SavedTokens): string | undefined {
  for (const jwt of [tokens.id_token, tokens.access_token]) {
    if (!jwt) continue;
    try {
      const sub = decodeJwt(jwt).sub;
      if (typeof sub === "string" && sub !== "") return printable(sub);
    } catch {
      // not a JWT: opaque tokens say nothing about the user
    }
  }
  return undefined;
}

/** Server-chosen text, kept to one short printable line. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, 200);
}

// ---- list and call --------------------------------------------------------------------------------

export interface AuthRequest {
  target: string;
  auth: string | undefined;
  token: string | undefined;
  browser: boolean;
  debug: boolean;
}

/**
 * The OAuth of `list`/`call --auth oauth`: the tokens and settings `login` kept for the URL (or
 * none yet: the first request then logs in). Undefined without --auth.
 */
export async function oauthForConnection(request: AuthRequest): Promise<CliOAuth | undefined> {
  const mode = parseAuthFlag(request.auth, request.token);
  if (mode === undefined) {
    if (!request.browser) throw new UsageError("--no-browser only applies with --auth oauth");
    return undefined;
  }
  if (!URL_SCHEME.test(request.target)) throw new UsageError("--auth oauth only applies to http(s) URLs: a server file is queried in memory");
  const server = serverUrl(request.target);
  quietSdkWarnings(request.debug);
  const store = cliTokenStore();
  const settings = await readLoginSettings(store, server);
  return createCliOAuth({ server, browser: request.browser, ...settings }, store);
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

// ---- Flags -------------------------------------------------------------------------------------

/** `--auth`: only `oauth`, and not with `--token`. */
export function parseAuthFlag(auth: string | undefined, token: string | undefined): "oauth" | undefined {
  if (auth === undefined) return undefined;
  if (auth !== "oauth") throw new UsageError(`--auth must be "oauth", got "${printable(auth).slice(0, 40)}" (a bearer token goes in --token)`);
  if (token !== undefined) throw new UsageError("--auth oauth and --token cannot be used together: pick one way to authenticate");
  return "oauth";
}

export function parseCallbackPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`--callback-port must be an integer between 1 and 65535, got "${printable(text).slice(0, 40)}"`);
  }
  return port;
}

/** `a,b` or `"a b"` → `a b`. */
export function parseScopes(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const scopes = text.split(/[\s,]+/).filter((scope) => scope !== "");
  if (scopes.length === 0) throw new UsageError("--scopes needs at least one scope");
  return scopes.join(" ");
}

export function parseLoginTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got "${printable(text).slice(0, 40)}"`);
  return seconds * 1000;
}

// ---- Errors --------------------------------------------------------------------------------------

/**
 * Runs `step`, turning what can go wrong while logging in into one line a user can act on.
 * Messages come from our own errors (which never carry tokens or codes); the SDK's OAuth errors
 * carry the authorization server's description, which is shown as the reason.
 */
export async function withLoginErrors<T>(server: string, step: () => Promise<T>, enabled = true): Promise<T> {
  if (!enabled) return step();
  try {
    return await step();
  } catch (error) {
    throw translateLoginError(server, error);
  }
}

function translateLoginError(server: string, error: unknown): unknown {
  if (error instanceof CliError) return error;
  const chain = causes(error);
  const named = (name: string) => chain.find((entry) => entry instanceof Error && entry.name === name);
  if (named("AuthorizationDeniedError")) return new CliError("Login refused: access denied by the authorization server", { cause: error });
  const timeout = named("CallbackTimeoutError");
  if (timeout) return new CliError(`Login timed out: ${lowerFirst(messageOf(timeout))}; run the command again to retry`, { cause: error });
  const failed = named("AuthorizationFailedError") ?? named("CallbackIssuerMismatchError");
  if (failed) return new CliError(`Login failed: ${messageOf(failed)}`, { cause: error });
  const noOAuth = chain.find((entry): entry is NoOAuthMetadataError => entry instanceof NoOAuthMetadataError);
  if (noOAuth) return new CliError(`Login failed: ${noOAuth.problem}. Get a token from whoever issues them and pass it to list or call with --token <token>`, { cause: error });
  // A URL of the login elsewhere (named by the server's metadata) that could not be reached: not the server itself.
  const endpoint = chain.find((entry): entry is OAuthUnreachableError => entry instanceof OAuthUnreachableError);
  if (endpoint && !sameOrigin(endpoint.url, server)) return new CliError(messageOf(endpoint), { cause: error });
  const unreachable = networkFailure(chain);
  if (unreachable) return new CliError(`Could not connect to ${server}: ${unreachable}`, { cause: error });
  // The Client's own connection errors already name the server.
  if (error instanceof Error && error.name === "FastMCPError" && messageOf(error).startsWith("Could not connect to ")) return error;
  if (error instanceof OAuthFlowError || chain.some(isSdkOAuthError)) return new CliError(`Login failed: ${messageOf(error)}`, { cause: error });
  return error;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function networkFailure(chain: unknown[]): string | undefined {
  for (const entry of chain) {
    const code = (entry as { code?: unknown } | null)?.code;
    const reason = networkReason(code);
    if (reason !== undefined) return code === "ECONNREFUSED" ? `${reason} (is the server running?)` : reason;
  }
  // fetch's own failure (a blocked port, a TLS error...): its cause says what happened.
  const index = chain.findIndex((entry) => entry instanceof TypeError && entry.message === "fetch failed");
  if (index !== -1) return chain[index + 1] instanceof Error ? messageOf(chain[index + 1]) : "the request failed";
  return undefined;
}

function isSdkOAuthError(error: unknown): boolean {
  return error instanceof OAuthError || error instanceof OAuthClientFlowError || error instanceof UnauthorizedError;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

// ---- The SDK's console warnings ------------------------------------------------------------------

/**
 * The SDK warns on stderr (`[mcp-sdk] ...`) when it discards refused tokens and logs in again:
 * expected here, and not the one-line output the CLI promises. Shown with --debug only.
 */
export function quietSdkWarnings(debug: boolean): void {
  if (debug) return;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("[mcp-sdk]")) return;
    warn(...args);
  };
}
