/**
 * /authorize under fuzzing (GET query strings and POST forms): never a 5xx or a reported failure;
 * never a redirect anywhere but this server's own pages or one of the named client's registered
 * redirect URIs (open-redirect attempts: other hosts, schemes, userinfo, encodings, dot segments,
 * case, ports); a redirect to the client echoes its state and names the issuer; and not one store
 * write from all that anonymous traffic (pending authorizations travel sealed in the URL).
 */
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  anyText, authorizationCode, batchOf, Browser, eachConcurrently, encodeForm, expectNoReportedErrors, FORM, FORM_STYLES, formContentType, fuzz, mutated, printTally,
  registerClient, send, startServer, tally, wirePath, type FuzzServer, type Pairs, type RegisteredClient,
} from "./support.js";

let server: FuzzServer;
let clients: RegisteredClient[];

const NATIVE_URIS = ["http://127.0.0.1:43117/callback", "https://app.example.com/cb", "com.example.app:/oauth2redirect"];
const WEB_URIS = ["https://app.example.com/cb?x=1"];
const LOCALHOST_URIS = ["http://localhost:8080/cb"];

beforeAll(async () => {
  server = await startServer();
  clients = [
    await registerClient(server, { redirect_uris: NATIVE_URIS }),
    await registerClient(server, { redirect_uris: WEB_URIS, application_type: "web", token_endpoint_auth_method: "client_secret_basic" }),
    await registerClient(server, { redirect_uris: LOCALHOST_URIS, scope: "mcp:read" }),
  ];
});

afterAll(async () => {
  await server?.close();
});

/** Redirect URIs an attacker would try against the registered ones. */
const ATTACKS = [
  "https://evil.example/cb", "https://app.example.com.evil.example/cb", "https://app.example.com@evil.example/cb", "https://evil.example@app.example.com/cb",
  "https://evil.example\\@app.example.com/cb", "https://app.example.com\\@evil.example/cb", "https://app.example.com%40evil.example/cb", "https://app.example.com%2F@evil.example/cb",
  "https://app.example.com/cb/../../evil", "https://app.example.com/cb/%2e%2e/evil", "https://app.example.com/cb%2F..%2Fevil", "https://app.example.com/./cb",
  "https://APP.EXAMPLE.COM/cb", "HTTPS://app.example.com/cb", "https://app.example.com:443/cb", "https://app.example.com./cb", "https://app.example.com/CB", "https://app.example.com/cb/",
  "https://app.example.com/cb#@evil.example", "https://app.example.com/cb?x=1&redirect=https://evil.example", "https://app.example.com/cb?x=2", "https://app.example.com/cb?",
  "javascript:alert(1)//https://app.example.com/cb", "javascript://app.example.com/cb%0aalert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x", "file:///etc/passwd",
  "//evil.example/cb", "///evil.example/cb", "/\\evil.example/cb", "https:/\\evil.example/cb", "https:evil.example/cb", "https://evil.example/https://app.example.com/cb",
  "http://127.0.0.1:1/callback", "http://127.0.0.1/callback", "http://127.0.0.1:43117/callback/../x", "http://127.0.0.1:43117/callback?code=x", "http://127.0.0.1.evil.example/callback",
  "http://localhost:43117/callback", "http://[::1]:43117/callback", "http://0x7f.0.0.1:43117/callback", "http://127.1:43117/callback", "http://2130706433:43117/callback", "https://127.0.0.1:43117/callback",
  "http://localhost:9999/cb", "http://localhost.evil.example:8080/cb", "http://LOCALHOST:8080/cb", "http://localhost:8080/cb?x", "http://evil.localhost:8080/cb",
  "com.example.app:/oauth2redirect/../x", "com.example.app://evil.example/oauth2redirect", "com.example.app:/OAUTH2REDIRECT", "COM.EXAMPLE.APP:/oauth2redirect",
  "https://app.example.com/c\tb", "https://app.example.com/cb\u0000", "https://app.example.com/cb\r\nLocation: https://evil.example", "https://аpp.example.com/cb", "https://app.example.com/cb%00",
  " https://app.example.com/cb", "https://app.example.com/cb ", "",
];
const REGISTERED = [...NATIVE_URIS, ...WEB_URIS, ...LOCALHOST_URIS];

/** A client id (a registered one mostly, mutated or made up otherwise) and the redirect URIs to try with it. */
const clientAndRedirect = (): fc.Arbitrary<[string, fc.Arbitrary<string>]> =>
  fc.constantFrom(...clients).chain((client) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(client.client_id) },
      { weight: 1, arbitrary: mutated(client.client_id) },
      { weight: 1, arbitrary: fc.oneof(anyText, fc.constantFrom("https://evil.example/client.json", "http://127.0.0.1/client.json", "../client", "%00")) },
    ).map((id): [string, fc.Arbitrary<string>] => [
      id,
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...client.redirect_uris) },
        { weight: 4, arbitrary: fc.constantFrom(...ATTACKS) },
        { weight: 1, arbitrary: fc.constantFrom(...REGISTERED) },
        { weight: 2, arbitrary: fc.constantFrom(...client.redirect_uris).chain(mutated) },
        { weight: 1, arbitrary: anyText },
      ),
    ]));

/** A field: its usual value, something else, or left out. */
function field(name: string, usual: fc.Arbitrary<string>, other: fc.Arbitrary<string> = anyText): fc.Arbitrary<Pairs> {
  return fc.oneof(
    { weight: 16, arbitrary: usual.map((value): Pairs => [[name, value]]) },
    { weight: 2, arbitrary: other.map((value): Pairs => [[name, value]]) },
    { weight: 1, arbitrary: fc.constant<Pairs>([]) },
    { weight: 1, arbitrary: fc.tuple(usual, fc.oneof(usual, other)).map(([first, second]): Pairs => [[name, first], [name, second]]) },
  );
}

const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const authorizeParams = (): fc.Arbitrary<Pairs> =>
  clientAndRedirect()
    .chain(([id, redirect]) => fc.tuple(
      field("client_id", fc.constant(id)),
      field("redirect_uri", redirect),
      field("response_type", fc.constant("code"), fc.constantFrom("token", "code token", "id_token", "CODE", "", "code ")),
      field("code_challenge", fc.constant(CHALLENGE), fc.oneof(mutated(CHALLENGE), anyText)),
      field("code_challenge_method", fc.constant("S256"), fc.constantFrom("plain", "s256", "S512", "")),
      field("state", fc.oneof(fc.string({ maxLength: 30 }), anyText)),
      field("scope", fc.constantFrom("mcp:read", "mcp:read mcp:write", "offline_access mcp:read", ""), fc.oneof(anyText, fc.constantFrom("admin", "mcp:read admin", "mcp:read\u0000"))),
      field("resource", fc.constant("__mcp__"), fc.oneof(anyText, fc.constantFrom("https://evil.example/mcp", "__mcp__/", "__mcp__#x", "urn:x"))),
      fc.oneof({ weight: 3, arbitrary: fc.constant<Pairs>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom("prompt", "nonce", "request", "request_uri", "login_hint", "display", "txn", "iss", "code"), anyText), anyText), { minLength: 1, maxLength: 2 }) }),
    ))
    .chain((parts) => fc.shuffledSubarray(parts.flat().map(([name, value]): [string, string] => [name, value.replaceAll("__mcp__", server.url)]), { minLength: parts.flat().length }));

interface AuthorizeCase {
  method: "GET" | "POST";
  params: Pairs;
  style: (typeof FORM_STYLES)[number] | "raw";
  contentType: string | undefined;
}

const authorizeCase = (): fc.Arbitrary<AuthorizeCase> =>
  fc.record({
    method: fc.constantFrom("GET", "GET", "POST"),
    params: authorizeParams(),
    style: fc.constantFrom(...FORM_STYLES, "raw"),
    contentType: formContentType,
  });

/** The query or form as sent: `raw` writes names and values as they are (percent signs, ampersands and all). */
function encoded(request: AuthorizeCase): string {
  if (request.style === "raw") return request.params.map(([name, value]) => `${name}=${value}`).join("&");
  return encodeForm(request.params, request.style);
}

/** Scheme, host (without the port for a loopback http URI: RFC 8252 lets it vary) and path, as a browser would parse them. */
function target(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const loopback = url.protocol === "http:" && (url.hostname === "127.0.0.1" || url.hostname === "[::1]" || url.hostname === "localhost");
  return `${url.protocol}//${loopback ? url.hostname : url.host}${url.pathname}`;
}

describe("/authorize fuzz", () => {
  it("never answers a 5xx, never redirects off this server except to a redirect URI the named client registered, and writes nothing to the store", async () => {
    const writes = server.store.writes;
    const keys = server.store.keys.size;
    await fc.assert(
      fc.asyncProperty(batchOf(authorizeCase()), async (requests) => {
        await eachConcurrently(requests, async (request) => {
          const text = encoded(request);
          const reply = request.method === "GET"
            ? await send(server.origin, { method: "GET", path: `/authorize?${text}` })
            : await send(server.origin, { method: "POST", path: "/authorize", headers: { "content-type": request.contentType }, body: text });
          expect(reply.status, reply.body.slice(0, 300)).toBeLessThan(500);
          if (reply.status !== 302) {
            expect([400, 413, 415], `${reply.status} ${reply.body.slice(0, 300)}`).toContain(reply.status);
            tally(`${request.method} -> ${reply.status}`);
            return;
          }
          // What the server read: parsed as it parses them.
          const params = request.method === "GET" ? new URL(`${server.origin}${wirePath(`/authorize?${text}`)}`).searchParams : new URLSearchParams(text);
          const location = reply.headers.location ?? "";
          if (location.startsWith(`${server.origin}/consent?txn=`)) {
            tally(`${request.method} -> 302 consent`);
            return;
          }
          const client = clients.find((candidate) => candidate.client_id === params.get("client_id"));
          expect(client, `redirected to ${location} for an unknown client`).toBeDefined();
          expect(client!.redirect_uris.map(target), `redirected to ${location}: not a redirect URI of the client`).toContain(target(location));
          const answer = new URL(location).searchParams;
          expect(answer.get("iss")).toBe(server.origin);
          expect(answer.get("state")).toBe(params.get("state"));
          expect(answer.get("error"), location).not.toBe("server_error");
          expect(answer.has("code"), "a code straight from /authorize, without the user").toBe(false);
          tally(`${request.method} -> 302 client ${answer.get("error")}`);
        });
      }),
      fuzz(1300),
    );
    printTally();
    expectNoReportedErrors(server);
    expect(server.store.writes, "store writes from anonymous /authorize traffic").toBe(writes);
    expect(server.store.keys.size).toBe(keys);

    // The count sees writes: a user who signs in and approves makes some (session, grant, code...).
    await authorizationCode(server, new Browser(server.origin), clients[0]!);
    expect(server.store.writes).toBeGreaterThan(writes);
  }, 120_000);

  it("answers oversized forms with a 4xx and writes nothing", async () => {
    const writes = server.store.writes;
    for (const chunked of [false, true]) {
      const reply = await send(server.origin, { path: "/authorize", headers: { "content-type": FORM }, body: `client_id=${"a".repeat(1024 * 1024)}`, chunked, agent: new http.Agent({ keepAlive: false }) });
      expect(reply.status, reply.body.slice(0, 200)).toBe(400);
    }
    const long = await send(server.origin, { method: "GET", path: `/authorize?client_id=${clients[0]!.client_id}&state=${"s".repeat(12 * 1024)}` });
    expect([400, 414, 431, 302]).toContain(long.status);
    expect(server.store.writes).toBe(writes);
    expectNoReportedErrors(server);
  });
});
