/**
 * /register (RFC 7591) under fuzzing: arbitrary JSON and mutated valid registrations. Never a 5xx;
 * a 201 with the client, or a 400/413/429 RFC 7591 error; and the store grows by exactly one
 * client entry per 201 (plus the per-period counter), never past the cap on unused clients, and
 * not at all for a refused registration.
 */
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyText, batchOf, eachConcurrently, expectNoReportedErrors, expectOAuthError, fuzz, parseJson, printTally, send, SCOPES, startServer, tally, type FuzzServer } from "./support.js";

/** Most registered clients not used yet: reached during the run, so the 429 path is fuzzed too. */
const MAX_UNUSED_CLIENTS = 400;

let server: FuzzServer;

beforeAll(async () => {
  server = await startServer({ provider: { clientRegistration: { validScopes: SCOPES, rateLimit: false, maxUnusedClients: MAX_UNUSED_CLIENTS } } });
});

afterAll(async () => {
  await server?.close();
});

const REDIRECT_URIS = [
  "http://127.0.0.1:43117/callback", "http://localhost/cb", "http://[::1]:8080/cb", "https://app.example.com/cb", "https://app.example.com/cb?x=1",
  "com.example.app:/oauth2redirect", "cursor://anysphere.cursor-retrieval/oauth/callback",
  // Refused: http to a real host, fragments, userinfo, dangerous schemes, dot segments, odd hosts, response parameters.
  "http://evil.example/cb", "https://app.example.com/cb#x", "https://user:pw@app.example.com/cb", "javascript:alert(1)", "data:text/html,x",
  "https://app.example.com/a/../cb", "http://127.1/cb", "https://ex%61mple.com/cb", "https://app.example.com/cb?code=1", "file:///etc/passwd",
  "//app.example.com/cb", "/cb", "", " https://app.example.com/cb", "https://app.example.com/c b", `https://app.example.com/${"a".repeat(2100)}`,
];

const validRegistration = fc.record(
  {
    redirect_uris: fc.uniqueArray(fc.constantFrom(...REDIRECT_URIS.slice(0, 7)), { minLength: 1, maxLength: 3 }),
    client_name: fc.constantFrom("Claude", "Cursor", "fuzz", "Ünïcødé app"),
    grant_types: fc.constantFrom(["authorization_code"], ["authorization_code", "refresh_token"]),
    response_types: fc.constant(["code"]),
    token_endpoint_auth_method: fc.constantFrom("none", "client_secret_basic", "client_secret_post"),
    scope: fc.constantFrom("mcp:read", "mcp:read mcp:write", "offline_access mcp:read", ""),
    contacts: fc.constant(["ops@example.com"]),
    client_uri: fc.constantFrom("https://app.example.com", ""),
    logo_uri: fc.constant("https://app.example.com/logo.png"),
    application_type: fc.constantFrom("native", "web"),
    software_id: fc.constant("fuzz"),
    software_version: fc.constant("1.0"),
  },
  { requiredKeys: ["redirect_uris"] },
);

/** A valid registration with fields dropped, replaced by arbitrary JSON or by plausible wrong values, or added. */
const mutatedRegistration = fc
  .tuple(
    validRegistration,
    fc.array(
      fc.tuple(
        fc.constantFrom("redirect_uris", "client_name", "grant_types", "response_types", "token_endpoint_auth_method", "scope", "contacts", "client_uri", "logo_uri", "tos_uri", "policy_uri", "application_type", "software_id", "jwks", "client_id", "client_secret", "__proto__", "constructor"),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.uniqueArray(fc.constantFrom(...REDIRECT_URIS), { maxLength: 4 }),
          fc.array(anyText, { maxLength: 3 }),
          anyText,
          fc.constantFrom(null, "", [], {}, 0, -1, 1e308, true, ["implicit"], ["code", "token"], ["refresh_token"], "private_key_jwt", "mcp:admin", "a b\u0000c", "x".repeat(5000)),
        ),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([registration, changes]) => {
    const body: Record<string, unknown> = { ...registration };
    for (const [field, value] of changes) Object.defineProperty(body, field, { value, enumerable: true, configurable: true, writable: true });
    return JSON.stringify(body);
  });

interface RegisterCase {
  kind: string;
  body: string;
  contentType: string | undefined;
}

const registerCase: fc.Arbitrary<RegisterCase> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("valid-looking"), body: validRegistration.map((r) => JSON.stringify(r)), contentType: fc.constantFrom("application/json", "application/json; charset=utf-8") }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("mutated"), body: mutatedRegistration, contentType: fc.constant("application/json") }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("any JSON"), body: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), contentType: fc.constant("application/json") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("not JSON"), body: fc.oneof(anyText, fc.string({ unit: "binary", maxLength: 300 })), contentType: fc.constant("application/json") }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("odd content type"),
      body: validRegistration.map((r) => JSON.stringify(r)),
      contentType: fc.oneof(fc.constantFrom(undefined, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json-patch+json", "*/*"), anyText),
    }),
  },
);

const RFC7591_ERRORS = ["invalid_redirect_uri", "invalid_client_metadata"];

describe("/register fuzz", () => {
  it("never answers a 5xx; answers 201 with the client or a 400/413/429 RFC 7591 error; stores one client per 201 and nothing for a refusal, never more than the cap", async () => {
    const before = new Set(server.store.keys);
    const registered = new Set<string>();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(batchOf(registerCase), async (requests) => {
        await eachConcurrently(requests, async (request) => {
          const reply = await send(server.origin, { path: "/register", headers: { "content-type": request.contentType }, body: request.body });
          if (reply.status === 201) {
            const client = parseJson(reply) as { client_id?: unknown; redirect_uris?: unknown; client_secret?: unknown; token_endpoint_auth_method?: string };
            expect(typeof client.client_id).toBe("string");
            expect(client.redirect_uris).toEqual((JSON.parse(request.body) as { redirect_uris: unknown }).redirect_uris);
            expect(typeof client.client_secret === "string").toBe(client.token_endpoint_auth_method !== "none");
            registered.add(client.client_id as string);
            tally(`${request.kind} -> 201`);
            return;
          }
          refused++;
          expect([400, 413, 429], `${reply.status} ${reply.body.slice(0, 300)}`).toContain(reply.status);
          const error = expectOAuthError(reply, reply.status === 429 ? ["temporarily_unavailable"] : RFC7591_ERRORS);
          if (reply.status === 429) expect(Number(reply.headers["retry-after"])).toBeGreaterThan(0);
          tally(`${request.kind} -> ${reply.status} ${error.error}`);
        });
      }),
      fuzz(1200),
    );
    printTally();
    expectNoReportedErrors(server);

    // The store: one entry per registered client, and the unused-client counters; nothing else.
    const added = [...server.store.keys].filter((key) => !before.has(key));
    const clients = added.filter((key) => key.startsWith("fastmcp-oauth:client:")).map((key) => key.slice("fastmcp-oauth:client:".length));
    const others = added.filter((key) => !key.startsWith("fastmcp-oauth:client:"));
    expect(new Set(clients)).toEqual(registered);
    expect(others.every((key) => /^fastmcp-oauth:clients-unused:\d+$/.test(key)), others.join(", ")).toBe(true);
    expect(others.length).toBeLessThanOrEqual(2);
    // The cap was reached (so the 429 path was fuzzed) and held.
    expect(registered.size).toBe(MAX_UNUSED_CLIENTS);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);

  it("refuses oversized registrations with 413 and stores nothing", async () => {
    const before = server.store.writes;
    const big = JSON.stringify({ redirect_uris: ["http://127.0.0.1/cb"], client_name: "x".repeat(16 * 1024) });
    for (const chunked of [false, true]) {
      const reply = await send(server.origin, { path: "/register", headers: { "content-type": "application/json" }, body: big, chunked, agent: new http.Agent({ keepAlive: false }) });
      expect(reply.status).toBe(413);
      expectOAuthError(reply, RFC7591_ERRORS);
    }
    expect(server.store.writes).toBe(before);
  });
});
