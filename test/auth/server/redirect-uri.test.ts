import { describe, expect, it } from "vitest";
import { OAuthError } from "../../../src/auth/server/errors.js";
import {
  appendQuery,
  checkRedirectUriForRegistration,
  isLoopbackHost,
  matchesRegisteredRedirectUri,
  resolveRedirectUri,
} from "../../../src/auth/server/clients/redirect-uri.js";
import type { OAuthClientInformation } from "../../../src/auth/server/types.js";

function refusal(uri: string, applicationType?: "native" | "web"): OAuthError {
  try {
    checkRedirectUriForRegistration(uri, applicationType);
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error(`${uri} was accepted`);
}

describe("checkRedirectUriForRegistration: allowed for native clients (the default)", () => {
  it.each([
    "https://app.example.com/callback",
    "https://app.example.com",
    "https://app.example.com:8443/cb?tenant=a&x",
    "https://localhost/cb",
    "http://localhost/cb",
    "http://localhost:3000/callback",
    "http://127.0.0.1:51234/oauth/callback",
    "http://127.255.0.9/cb",
    "http://[::1]:8080/cb",
    "http://app.localhost:5173/cb",
    "http://localhost./cb",
    "cursor://anysphere.cursor-retrieval/oauth/callback",
    "com.example.app:/oauth2redirect",
    "com.example.app:/cb?x=1",
    "vscode://publisher.extension/auth",
    "https://app.example.com/cb?x=%zz",
  ])("%s", (uri) => {
    expect(() => checkRedirectUriForRegistration(uri)).not.toThrow();
    expect(() => checkRedirectUriForRegistration(uri, "native")).not.toThrow();
  });
});

describe("checkRedirectUriForRegistration: refused for every client", () => {
  it.each([
    ["empty", "", "is empty"],
    ["relative path", "/callback", "not an absolute URI"],
    ["scheme-relative", "//app.example.com/cb", "not an absolute URI"],
    ["not a URI", "no scheme here", "whitespace"],
    ["fragment", "https://app.example.com/cb#frag", "fragment"],
    ["empty fragment", "https://app.example.com/cb#", "fragment"],
    ["userinfo", "https://good@evil.example/cb", "user information"],
    ["userinfo with password", "https://user:pw@app.example.com/cb", "user information"],
    ["loopback userinfo trick", "http://localhost@evil.example/cb", "user information"],
    ["empty userinfo", "https://@app.example.com/cb", "user information"],
    ["private-use userinfo", "cursor://user@host/cb", "user information"],
    ["javascript", "javascript:alert(1)", "forbidden scheme javascript"],
    ["JavaScript mixed case", "JaVaScRiPt:alert(1)", "forbidden scheme javascript"],
    ["javascript with //", "javascript://app.example.com/%0aalert(1)", "forbidden scheme javascript"],
    ["data", "data:text/html,<script>", "characters a URI cannot contain"],
    ["data base64", "data:text/html;base64,PHNjcmlwdD4=", "forbidden scheme data"],
    ["file", "file:///etc/passwd", "forbidden scheme file"],
    ["vbscript", "vbscript:msgbox(1)", "forbidden scheme vbscript"],
    ["blob", "blob:https://app.example.com/uuid", "forbidden scheme blob"],
    ["about", "about:blank", "forbidden scheme about"],
    ["filesystem", "filesystem:https://app.example.com/temporary/x", "forbidden scheme filesystem"],
    ["ws", "ws://localhost/cb", "forbidden scheme ws"],
    ["wss", "wss://app.example.com/cb", "forbidden scheme wss"],
    ["leading space", " https://app.example.com/cb", "whitespace"],
    ["trailing newline", "https://app.example.com/cb\n", "whitespace"],
    ["tab inside the scheme", "java\tscript:alert(1)", "whitespace"],
    ["leading control character", "\u0001javascript:alert(1)", "whitespace"],
    ["NUL", "https://app.example.com/cb\u0000", "whitespace"],
    ["C1 control", "https://app.example.com/\u0085cb", "whitespace"],
    ["non-ASCII", "https://app.example.com/caf\u00e9", "characters a URI cannot contain"],
    ["backslash", "https://app.example.com\\@evil.example/cb", "characters a URI cannot contain"],
    ["http to a remote host", "http://app.example.com/cb", "not loopback"],
    ["http to localhost.evil.com", "http://localhost.evil.com/cb", "not loopback"],
    ["http to 127.0.0.1.nip.io", "http://127.0.0.1.nip.io/cb", "not loopback"],
    ["http to 0.0.0.0", "http://0.0.0.0/cb", "not loopback"],
    ["http to a private address", "http://192.168.1.10/cb", "not loopback"],
    ["short IPv4 form", "http://127.1/cb", "canonical form"],
    ["hexadecimal IPv4 form", "http://0x7f000001/cb", "canonical form"],
    ["percent-encoded host", "https://app.ex%61mple.com/cb", "canonical form"],
    ["long IPv6 loopback form", "http://[0:0:0:0:0:0:0:1]/cb", "canonical form"],
    ["https without a host", "https:/app.example.com/cb", "must name a host"],
    ["https with an empty host", "https:///cb", "must name a host"],
    ["dot segment", "https://app.example.com/a/./cb", "path segments"],
    ["dot-dot segment", "https://app.example.com/a/../cb", "path segments"],
    ["trailing dot-dot", "https://app.example.com/a/..", "path segments"],
    ["encoded dot-dot", "https://app.example.com/a/%2e%2e/cb", "path segments"],
    ["upper-case encoded dot-dot", "https://app.example.com/a/%2E%2E/cb", "path segments"],
    ["half-encoded dot-dot", "https://app.example.com/a/.%2e/cb", "path segments"],
    ["encoded dot", "http://localhost/%2e/cb", "path segments"],
    ["private-use dot-dot", "com.example.app:/a/../cb", "path segments"],
    ["query with code", "https://app.example.com/cb?code=x", "code"],
    ["query with state", "https://app.example.com/cb?a=1&state=x", "state"],
    ["query with iss", "https://app.example.com/cb?iss", "iss"],
    ["query with error", "https://app.example.com/cb?error=x", "error"],
    ["query with error_description", "https://app.example.com/cb?error_description=x", "error_description"],
    ["query with an encoded reserved key", "https://app.example.com/cb?cod%65=x", "code"],
    ["too long", `https://app.example.com/${"a".repeat(2000)}`, "longer than 2000"],
  ])("%s", (_name, uri, problem) => {
    const error = refusal(uri);
    expect(error.error).toBe("invalid_redirect_uri");
    expect(error.description).toContain(problem);
    expect(error.description).toContain(JSON.stringify(uri.length > 200 ? `${uri.slice(0, 200)}…` : uri));
  });
});

describe("checkRedirectUriForRegistration: web clients (SEP-837)", () => {
  it.each(["https://app.example.com/callback", "https://app.example.com:8443/cb"])("allows %s", (uri) => {
    expect(() => checkRedirectUriForRegistration(uri, "web")).not.toThrow();
  });

  it.each([
    "http://localhost:3000/cb",
    "http://127.0.0.1/cb",
    "https://localhost/cb",
    "https://127.0.0.1/cb",
    "https://[::1]/cb",
    "https://app.localhost/cb",
    "cursor://anysphere.cursor-retrieval/oauth/callback",
    "com.example.app:/cb",
  ])("refuses %s", (uri) => {
    const error = refusal(uri, "web");
    expect(error.error).toBe("invalid_redirect_uri");
    expect(error.description).toContain("web application");
  });
});

describe("isLoopbackHost", () => {
  it.each(["localhost", "LOCALHOST", "localhost.", "app.localhost", "a.b.localhost", "127.0.0.1", "127.0.0.53", "127.255.255.255", "[::1]", "::1"])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(["localhost.evil.com", "evil-localhost", "notlocalhost", ".localhost", "127.0.0.256", "127.0.0", "127.1", "0127.0.0.1", "127.00.0.1", "128.0.0.1", "0.0.0.0", "[::2]", "::ffff:127.0.0.1", ""])("%s is not loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("matchesRegisteredRedirectUri: exact matching", () => {
  const registered = ["https://app.example.com/callback", "https://app.example.com:8443/cb?x=1", "com.example.app:/cb"];

  it.each(registered)("the registered %s matches itself", (uri) => {
    expect(matchesRegisteredRedirectUri(uri, registered)).toBe(true);
  });

  it.each([
    ["upper-case scheme (exact: no case folding, even where URLs would be equal)", "HTTPS://app.example.com/callback"],
    ["upper-case host", "https://APP.example.com/callback"],
    ["upper-case path", "https://app.example.com/Callback"],
    ["trailing slash", "https://app.example.com/callback/"],
    ["added query", "https://app.example.com/callback?x=1"],
    ["empty query", "https://app.example.com/callback?"],
    ["reordered query", "https://app.example.com:8443/cb?x=1&y=2"],
    ["explicit default port", "https://app.example.com:443/callback"],
    ["other port on a non-loopback host", "https://app.example.com:9443/cb?x=1"],
    ["no port where one was registered", "https://app.example.com/cb?x=1"],
    ["another subdomain", "https://evil.app.example.com/callback"],
    ["path prefix", "https://app.example.com/callback/evil"],
    ["encoded path character", "https://app.example.com/c%61llback"],
    ["private-use scheme with another path", "com.example.app:/cb2"],
    ["private-use scheme in upper case", "COM.EXAMPLE.APP:/cb"],
  ])("%s does not match", (_name, uri) => {
    expect(matchesRegisteredRedirectUri(uri, registered)).toBe(false);
  });

  it.each([
    ["a fragment", "https://app.example.com/cb#x"],
    ["userinfo", "https://user@app.example.com/cb"],
    ["a dot segment", "https://app.example.com/a/../cb"],
    ["an encoded dot segment", "https://app.example.com/a/%2E%2E/cb"],
    ["a javascript: scheme", "javascript:alert(1)"],
    ["a data: scheme", "data:text/plain,x"],
    ["whitespace", "https://app.example.com/cb "],
    ["http to a remote host", "http://app.example.com/cb"],
  ])("a requested URI with %s never matches, even when it was registered", (_name, uri) => {
    expect(matchesRegisteredRedirectUri(uri, [uri])).toBe(false);
  });
});

describe("matchesRegisteredRedirectUri: loopback redirect URIs match on any port (RFC 8252 §7.3)", () => {
  it.each([
    ["http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"],
    ["http://127.0.0.1:3000/cb", "http://127.0.0.1:61000/cb"],
    ["http://127.0.0.1:3000/cb", "http://127.0.0.1/cb"],
    ["http://localhost/cb", "http://localhost:8080/cb"],
    ["http://localhost:1234/cb?x=1", "http://localhost:4321/cb?x=1"],
    ["http://[::1]/cb", "http://[::1]:9000/cb"],
    ["http://[::1]:1/cb", "http://[::1]:65535/cb"],
    ["http://app.localhost:5173/cb", "http://app.localhost:5174/cb"],
  ])("registered %s matches %s", (registered, requested) => {
    expect(matchesRegisteredRedirectUri(requested, [registered])).toBe(true);
  });

  it.each([
    ["another loopback host", "http://127.0.0.1/cb", "http://localhost:8080/cb"],
    ["localhost versus [::1]", "http://localhost/cb", "http://[::1]:8080/cb"],
    ["another 127/8 address", "http://127.0.0.1/cb", "http://127.0.0.2:8080/cb"],
    ["another path", "http://127.0.0.1/cb", "http://127.0.0.1:8080/cb2"],
    ["a trailing slash", "http://127.0.0.1/cb", "http://127.0.0.1:8080/cb/"],
    ["another query", "http://127.0.0.1/cb?x=1", "http://127.0.0.1:8080/cb?x=2"],
    ["an added query", "http://127.0.0.1/cb", "http://127.0.0.1:8080/cb?x=1"],
    ["https instead of http", "http://127.0.0.1/cb", "https://127.0.0.1:8080/cb"],
    ["an upper-case scheme", "http://127.0.0.1/cb", "HTTP://127.0.0.1:8080/cb"],
    ["an upper-case host", "http://localhost/cb", "http://LOCALHOST:8080/cb"],
    ["an https loopback registration", "https://localhost/cb", "https://localhost:8443/cb"],
    ["userinfo", "http://127.0.0.1/cb", "http://evil@127.0.0.1:8080/cb"],
    ["a fragment", "http://127.0.0.1/cb", "http://127.0.0.1:8080/cb#x"],
    ["a port out of range", "http://127.0.0.1/cb", "http://127.0.0.1:70000/cb"],
    ["a dot segment", "http://127.0.0.1/cb", "http://127.0.0.1:8080/x/../cb"],
  ])("%s does not match", (_name, registered, requested) => {
    expect(matchesRegisteredRedirectUri(requested, [registered])).toBe(false);
  });
});

describe("resolveRedirectUri", () => {
  const client = (redirect_uris: string[]): OAuthClientInformation => ({ client_id: "c", redirect_uris });

  it("returns a requested URI that matches, as explicit", () => {
    expect(resolveRedirectUri("https://app.example.com/cb", client(["https://app.example.com/cb", "https://app.example.com/other"]))).toEqual({
      uri: "https://app.example.com/cb",
      explicit: true,
    });
  });

  it("returns the requested loopback URI with its own port", () => {
    expect(resolveRedirectUri("http://127.0.0.1:4567/cb", client(["http://127.0.0.1/cb"]))).toEqual({ uri: "http://127.0.0.1:4567/cb", explicit: true });
  });

  it("returns undefined for a requested URI that does not match", () => {
    expect(resolveRedirectUri("https://evil.example/cb", client(["https://app.example.com/cb"]))).toBeUndefined();
  });

  it("returns undefined for an empty requested URI", () => {
    expect(resolveRedirectUri("", client(["https://app.example.com/cb"]))).toBeUndefined();
  });

  it("uses the only registered URI when none is requested, as not explicit", () => {
    expect(resolveRedirectUri(undefined, client(["https://app.example.com/cb"]))).toEqual({ uri: "https://app.example.com/cb", explicit: false });
  });

  it("returns undefined when none is requested and several are registered", () => {
    expect(resolveRedirectUri(undefined, client(["https://app.example.com/cb", "https://app.example.com/other"]))).toBeUndefined();
  });

  it("returns undefined when none is requested and none is registered", () => {
    expect(resolveRedirectUri(undefined, client([]))).toBeUndefined();
  });

  it("does not use an only registered URI that breaks the rules (a client configured in code)", () => {
    expect(resolveRedirectUri(undefined, client(["javascript:alert(1)"]))).toBeUndefined();
  });
});

describe("appendQuery", () => {
  it("adds a query to a URI without one", () => {
    expect(appendQuery("https://app.example.com/cb", { code: "abc", state: "xyz" })).toBe("https://app.example.com/cb?code=abc&state=xyz");
  });

  it("appends after an existing query with &", () => {
    expect(appendQuery("https://app.example.com/cb?tenant=a", { code: "abc" })).toBe("https://app.example.com/cb?tenant=a&code=abc");
  });

  it("keeps a valueless ?flag as it is", () => {
    expect(appendQuery("https://app.example.com/cb?flag", { code: "abc" })).toBe("https://app.example.com/cb?flag&code=abc");
  });

  it("keeps invalid percent-encoding (%zz) byte for byte", () => {
    expect(appendQuery("https://app.example.com/cb?x=%zz&y=%E9", { code: "abc" })).toBe("https://app.example.com/cb?x=%zz&y=%E9&code=abc");
  });

  it("keeps characters a URL serialiser would re-encode", () => {
    expect(appendQuery("https://app.example.com/cb?q='a'&b=[1]", { code: "abc" })).toBe("https://app.example.com/cb?q='a'&b=[1]&code=abc");
  });

  it("does not add a second separator after a trailing ? or &", () => {
    expect(appendQuery("https://app.example.com/cb?", { code: "abc" })).toBe("https://app.example.com/cb?code=abc");
    expect(appendQuery("https://app.example.com/cb?a=1&", { code: "abc" })).toBe("https://app.example.com/cb?a=1&code=abc");
  });

  it("works with a private-use scheme", () => {
    expect(appendQuery("com.example.app:/cb?x=1", { code: "abc", iss: "https://as.example" })).toBe("com.example.app:/cb?x=1&code=abc&iss=https%3A%2F%2Fas.example");
  });

  it("works with a private-use scheme that has an authority", () => {
    expect(appendQuery("cursor://anysphere.cursor-retrieval/oauth/callback", { code: "abc" })).toBe("cursor://anysphere.cursor-retrieval/oauth/callback?code=abc");
  });

  it("percent-encodes the values it adds", () => {
    expect(appendQuery("http://127.0.0.1:9/cb", { error: "access_denied", error_description: "The user said no & left", state: "a=b" })).toBe(
      "http://127.0.0.1:9/cb?error=access_denied&error_description=The%20user%20said%20no%20%26%20left&state=a%3Db",
    );
  });

  it("skips undefined values", () => {
    expect(appendQuery("https://app.example.com/cb", { code: "abc", state: undefined, iss: "https://as.example" })).toBe(
      "https://app.example.com/cb?code=abc&iss=https%3A%2F%2Fas.example",
    );
  });

  it("returns the URI unchanged when every value is undefined", () => {
    expect(appendQuery("https://app.example.com/cb?flag", { state: undefined })).toBe("https://app.example.com/cb?flag");
  });

  it("inserts the parameters before a fragment", () => {
    expect(appendQuery("https://app.example.com/cb?x#frag", { code: "abc" })).toBe("https://app.example.com/cb?x&code=abc#frag");
  });

  it("throws invalid_request instead of adding a second iss", () => {
    expect(() => appendQuery("https://app.example.com/cb?iss=https://other", { code: "abc", iss: "https://as.example" })).toThrow(
      expect.objectContaining({ error: "invalid_request", description: expect.stringContaining("iss") }),
    );
  });

  it("throws invalid_request instead of adding a second state (also when it is written encoded)", () => {
    expect(() => appendQuery("https://app.example.com/cb?st%61te", { state: "x" })).toThrow(expect.objectContaining({ error: "invalid_request" }));
  });

  it("does not mind an existing key it is not adding", () => {
    expect(appendQuery("https://app.example.com/cb?state=kept", { code: "abc", state: undefined })).toBe("https://app.example.com/cb?state=kept&code=abc");
  });
});
