/**
 * Redirect URIs: which ones a client may register, which requested URI matches a registration, and
 * how the authorization response is added to one. Rules and matching work on the URI as written
 * (see uri-syntax.ts): OAuth 2.1 compares redirect URIs as exact strings, so nothing here is
 * normalised — `HTTPS://App.example/cb` does not match a registered `https://app.example/cb`.
 */
import { OAuthError } from "../errors.js";
import type { OAuthClientInformation } from "../types.js";
import {
  hasDotSegment,
  hasOnlyUriCharacters,
  hasWhitespaceOrControl,
  isValidScheme,
  queryKeys,
  quoteUri,
  splitAuthority,
  splitUri,
} from "./uri-syntax.js";

export const MAX_REDIRECT_URI_LENGTH = 2000;

/** Schemes that run code, read local data or are not navigations a client could receive a code on. */
const FORBIDDEN_SCHEMES = new Set(["javascript", "data", "file", "vbscript", "blob", "about", "filesystem", "ws", "wss", "ftp"]);

/** Parameters the authorization server adds to the redirect; a registered URI must not carry them already. */
const RESPONSE_PARAMETERS = ["code", "state", "iss", "error", "error_description"] as const;

/**
 * What a redirect URI is, once it passed the rules every redirect URI must follow. `https` and
 * `loopback-http` have an authority; a `private-use` URI (RFC 8252 §7.1) may or may not.
 */
interface InspectedRedirectUri {
  readonly kind: "https" | "loopback-http" | "private-use";
  readonly scheme: string;
  readonly host: string | undefined;
  readonly path: string;
  readonly query: string | undefined;
}

type Inspection = { readonly uri: InspectedRedirectUri } | { readonly problem: string };

/**
 * Throws `invalid_redirect_uri` unless `uri` may be registered by a client of this
 * `applicationType` (SEP-837; default `native`): https with a host; http only to a loopback host;
 * for native clients also a private-use scheme (`com.example.app:/cb`, `cursor://host/cb`).
 */
export function checkRedirectUriForRegistration(uri: string, applicationType: "native" | "web" = "native"): void {
  const inspection = inspectRedirectUri(uri);
  if ("problem" in inspection) throw invalidRedirectUri(uri, inspection.problem);
  const reserved = reservedQueryKeys(inspection.uri.query);
  if (reserved.length > 0) {
    throw invalidRedirectUri(uri, `must not contain the parameter(s) ${reserved.join(", ")} in its query: the authorization server adds them to the redirect`);
  }
  if (applicationType === "web" && (inspection.uri.kind !== "https" || isLoopbackHost(inspection.uri.host ?? ""))) {
    throw invalidRedirectUri(uri, "is not allowed for a web application: web clients must use https on a non-loopback host (SEP-837)");
  }
}

/**
 * Whether `requested` is one of the `registered` redirect URIs: the same string, or — for a
 * registered http loopback URI — the same scheme, host, path and query on any port (RFC 8252
 * §7.3: native apps get an ephemeral port). A requested URI that breaks a registration rule
 * (userinfo, fragment, dot segments, forbidden scheme...) never matches, even if it was registered.
 */
export function matchesRegisteredRedirectUri(requested: string, registered: readonly string[]): boolean {
  const inspection = inspectRedirectUri(requested);
  if ("problem" in inspection) return false;
  return registered.some((candidate) => candidate === requested || matchesOnAnyPort(inspection.uri, candidate));
}

/**
 * The redirect URI an authorization request uses: the requested one when it matches a
 * registration (`explicit: true`), the client's only registered URI when none was requested, and
 * `undefined` otherwise (no match, or no request and several registered URIs).
 */
export function resolveRedirectUri(requested: string | undefined, client: OAuthClientInformation): { uri: string; explicit: boolean } | undefined {
  if (requested !== undefined) {
    return matchesRegisteredRedirectUri(requested, client.redirect_uris) ? { uri: requested, explicit: true } : undefined;
  }
  const [only, ...others] = client.redirect_uris;
  if (only === undefined || others.length > 0 || "problem" in inspectRedirectUri(only)) return undefined;
  return { uri: only, explicit: false };
}

/**
 * Whether a host names this machine: 127.0.0.0/8, `::1` (with or without brackets), `localhost`
 * and any `*.localhost` (RFC 6761; browsers never resolve these elsewhere), with or without a
 * trailing dot. `localhost.evil.com` is not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "[::1]" || host === "::1") return true;
  if (host === "localhost" || /^(?:[a-z0-9-]+\.)+localhost$/.test(host)) return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255 && !/^0\d/.test(octet));
}

/**
 * `uri` with `params` added to its query (undefined values skipped). The existing query is kept
 * byte for byte — a valueless `?flag`, `%zz`, anything — and new parameters are appended after it.
 * Throws `invalid_request` if the URI already has one of the keys being added (RFC 9207 wants
 * exactly one `iss`; a second `code` or `state` would be ambiguous for the client).
 */
export function appendQuery(uri: string, params: Record<string, string | undefined>): string {
  const hash = uri.indexOf("#");
  const beforeFragment = hash >= 0 ? uri.slice(0, hash) : uri;
  const fragment = hash >= 0 ? uri.slice(hash) : "";
  const question = beforeFragment.indexOf("?");
  const existingKeys = new Set(question >= 0 ? queryKeys(beforeFragment.slice(question + 1)) : []);
  const added = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const duplicated = added.map(([key]) => key).filter((key) => existingKeys.has(key));
  if (duplicated.length > 0) {
    throw new OAuthError("invalid_request", `the redirect URI already contains ${duplicated.join(", ")}; the authorization server cannot add it a second time`);
  }
  if (added.length === 0) return uri;
  const encoded = added.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join("&");
  const separator = question < 0 ? "?" : /[?&]$/.test(beforeFragment) ? "" : "&";
  return `${beforeFragment}${separator}${encoded}${fragment}`;
}

function inspectRedirectUri(uri: string): Inspection {
  if (uri.length === 0) return { problem: "is empty" };
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return { problem: `is longer than ${MAX_REDIRECT_URI_LENGTH} characters` };
  if (hasWhitespaceOrControl(uri)) return { problem: "contains whitespace or control characters" };
  if (!hasOnlyUriCharacters(uri)) return { problem: "contains characters a URI cannot contain (RFC 3986); percent-encode them" };
  const components = splitUri(uri);
  if (components.scheme === undefined || !isValidScheme(components.scheme)) return { problem: "is not an absolute URI (it has no scheme)" };
  const scheme = components.scheme.toLowerCase();
  if (FORBIDDEN_SCHEMES.has(scheme)) return { problem: `uses the forbidden scheme ${scheme}:` };
  if (components.fragment !== undefined) return { problem: "must not contain a fragment (RFC 6749 §3.1.2)" };
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return { problem: "is not a valid URI" };
  }
  const authority = components.authority === undefined ? undefined : splitAuthority(components.authority);
  if (authority?.userinfo !== undefined) return { problem: "must not contain user information (user@host)" };
  if (hasDotSegment(components.path)) return { problem: "must not contain . or .. path segments (plain or percent-encoded): they make exact matching ambiguous" };
  const common = { scheme: components.scheme, host: authority?.host, path: components.path, query: components.query };
  if (scheme !== "https" && scheme !== "http") return { uri: { kind: "private-use", ...common } };
  if (!authority?.host) return { problem: `must name a host (${scheme}://host/...)` };
  // The WHATWG parser rewrites hosts such as `127.1`, `0x7f.0.0.1` or `ex%61mple.com`: accept a
  // host only in the form the browser will use, so that what is matched is what is visited.
  if (authority.host.toLowerCase() !== parsed.hostname) return { problem: `must write its host in canonical form (${parsed.hostname})` };
  if (scheme === "https") return { uri: { kind: "https", ...common } };
  if (!isLoopbackHost(authority.host)) return { problem: "uses http to a host that is not loopback: only https, or http to 127.0.0.1, [::1] or localhost, is allowed" };
  return { uri: { kind: "loopback-http", ...common } };
}

function matchesOnAnyPort(requested: InspectedRedirectUri, registeredUri: string): boolean {
  const registered = inspectRedirectUri(registeredUri);
  if ("problem" in registered || registered.uri.kind !== "loopback-http" || requested.kind !== "loopback-http") return false;
  return (
    requested.scheme === registered.uri.scheme &&
    requested.host === registered.uri.host &&
    requested.path === registered.uri.path &&
    requested.query === registered.uri.query
  );
}

function reservedQueryKeys(query: string | undefined): string[] {
  if (query === undefined) return [];
  const keys = new Set(queryKeys(query));
  return RESPONSE_PARAMETERS.filter((key) => keys.has(key));
}

function invalidRedirectUri(uri: string, problem: string): OAuthError {
  return new OAuthError("invalid_redirect_uri", `redirect URI ${quoteUri(uri)} ${problem}`);
}
