/**
 * A URI as it is written, split by the RFC 3986 grammar with no normalisation. The WHATWG `URL`
 * parser rewrites what it reads (it resolves `/../`, decodes `%2e`, lowercases hosts, drops
 * default ports, strips tabs and newlines), so rules about what a client registered or sent, and
 * exact string matching, look at these raw components instead.
 */

/** The five components of RFC 3986 Appendix B; `undefined` when the delimiter is absent. */
export interface UriComponents {
  readonly scheme: string | undefined;
  readonly authority: string | undefined;
  readonly path: string;
  readonly query: string | undefined;
  readonly fragment: string | undefined;
}

/** An authority component: `userinfo@host:port`. `host` keeps the brackets of an IPv6 literal. */
export interface UriAuthority {
  readonly userinfo: string | undefined;
  readonly host: string;
  readonly port: string | undefined;
}

const COMPONENTS = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
/** Every character RFC 3986 allows in a URI (unreserved, reserved and `%`); nothing else. */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const WHITESPACE_OR_CONTROL = /[\u0000-\u0020\u007f-\u009f]/;

export function splitUri(uri: string): UriComponents {
  const match = COMPONENTS.exec(uri);
  // The expression matches every string; the fallback only satisfies the type checker.
  if (!match) return { scheme: undefined, authority: undefined, path: uri, query: undefined, fragment: undefined };
  return { scheme: match[1], authority: match[2], path: match[3] ?? "", query: match[4], fragment: match[5] };
}

export function splitAuthority(authority: string): UriAuthority {
  const at = authority.lastIndexOf("@");
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = authority.slice(at + 1);
  const portColon = hostPort.startsWith("[") ? hostPort.indexOf(":", hostPort.indexOf("]")) : hostPort.lastIndexOf(":");
  if (portColon < 0) return { userinfo, host: hostPort, port: undefined };
  return { userinfo, host: hostPort.slice(0, portColon), port: hostPort.slice(portColon + 1) };
}

export function isValidScheme(scheme: string): boolean {
  return SCHEME.test(scheme);
}

export function hasWhitespaceOrControl(value: string): boolean {
  return WHITESPACE_OR_CONTROL.test(value);
}

export function hasOnlyUriCharacters(value: string): boolean {
  return URI_CHARACTERS.test(value);
}

/** Whether a path has a `.` or `..` segment, written plainly or percent-encoded (`%2e`, `.%2E`...). */
export function hasDotSegment(path: string): boolean {
  return path.split("/").some((segment) => {
    const decoded = segment.replace(/%2e/gi, ".");
    return decoded === "." || decoded === "..";
  });
}

/** The keys of a raw query string, decoded the way a form parser (`URLSearchParams`) decodes them. */
export function queryKeys(query: string): string[] {
  return [...new URLSearchParams(query).keys()];
}

/** A URI for an error message: quoted (control characters escaped) and cut to a readable length. */
export function quoteUri(uri: string): string {
  return JSON.stringify(uri.length > 200 ? `${uri.slice(0, 200)}…` : uri);
}
