/**
 * /token under fuzzing: arbitrary and structured-but-mutated form bodies, odd content types and
 * Authorization headers. Never a 5xx; every refusal a JSON OAuth error with a 4xx; and no token
 * for a code or refresh token that was forged, mutated, already used, or presented by a client
 * it was not issued to — seeded from real flows, so the forgeries are one character away from
 * the real thing — and nothing added to the store by all those refusals.
 */
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  anyText, basic, batchOf, Browser, credentialsOf, eachConcurrently, encodeForm, expectNoReportedErrors, expectOAuthError, FORM, FORM_STYLES,
  formContentType, fuzz, mutated, parseJson, postForm, realOrMutated, redeem, registerClient, send, startServer, authorizationCode,
  chunkedThenAnother, tally, printTally, type Credentials, type FuzzServer, type IssuedCode, type Pairs, type RegisteredClient, type TokenResponse,
} from "./support.js";

let server: FuzzServer;
/** The owner of every seeded credential: a public client. */
let owner: RegisteredClient;
/** Other clients: confidential with client_secret_basic, and with client_secret_post. */
let basicClient: RegisteredClient;
let postClient: RegisteredClient;
/** Codes issued and never redeemed (the fuzz must not redeem them: the check at the end does). */
let liveCodes: IssuedCode[];
/** Codes redeemed already. */
let usedCodes: IssuedCode[];
/** Refresh tokens never used. */
let liveRefresh: string[];
/** Refresh tokens used once, with the answer that use got (a retry in the grace window gets the same). */
let usedRefresh: Array<{ token: string; answer: TokenResponse }>;

beforeAll(async () => {
  server = await startServer();
  owner = await registerClient(server);
  basicClient = await registerClient(server, { token_endpoint_auth_method: "client_secret_basic" });
  postClient = await registerClient(server, { token_endpoint_auth_method: "client_secret_post" });
  const browser = new Browser(server.origin);
  liveCodes = [];
  for (let i = 0; i < 3; i++) liveCodes.push(await authorizationCode(server, browser, owner));
  // Each credential from its own grant: replaying a used code ends its grant (as it should), which
  // must not take the live refresh tokens with it.
  usedCodes = [];
  for (let i = 0; i < 2; i++) {
    const issued = await authorizationCode(server, browser, owner);
    await redeem(server, owner, issued);
    usedCodes.push(issued);
  }
  liveRefresh = [];
  for (let i = 0; i < 2; i++) liveRefresh.push((await redeem(server, owner, await authorizationCode(server, browser, owner))).refresh_token!);
  const first = await redeem(server, owner, await authorizationCode(server, browser, owner));
  const reply = await postForm(server, "/token", credentialsOf(owner), [["grant_type", "refresh_token"], ["refresh_token", first.refresh_token!]]);
  expect(reply.status).toBe(200);
  usedRefresh = [{ token: first.refresh_token!, answer: JSON.parse(reply.body) as TokenResponse }];
});

afterAll(async () => {
  await server?.close();
});

// ---- Arbitraries ------------------------------------------------------------------------------

/** Who a request authenticates as, when it does: the owner of the seeded credentials, or someone else. */
type Who = "owner" | "other";

function credentials(who: Who | "any"): fc.Arbitrary<Credentials> {
  const ownerId = () => owner.client_id;
  const asOwner = fc.constantFrom<Credentials>(
    { form: [["client_id", ownerId()]] },
    { authorization: basic(ownerId(), ""), form: [] },
    { authorization: basic(ownerId(), ""), form: [["client_id", ownerId()]] },
  );
  const asOther = fc.oneof(
    fc.constantFrom<Credentials>(
      credentialsOf(basicClient),
      credentialsOf(postClient),
      // The right secret by the wrong method, the wrong secret by the right one, no secret at all.
      { form: [["client_id", basicClient.client_id], ["client_secret", basicClient.client_secret!]] },
      { authorization: basic(postClient.client_id, postClient.client_secret!), form: [] },
      { form: [["client_id", basicClient.client_id]] },
      { authorization: basic(basicClient.client_id, ""), form: [] },
      { form: [] },
      { form: [["client_secret", postClient.client_secret!]] },
      // Two methods at once, or two ids.
      { authorization: basic(basicClient.client_id, basicClient.client_secret!), form: [["client_id", postClient.client_id]] },
      { authorization: basic(basicClient.client_id, basicClient.client_secret!), form: [["client_secret", basicClient.client_secret!]] },
      { form: [["client_id", postClient.client_id], ["client_id", ownerId()]] },
    ),
    mutated(ownerId()).map((id): Credentials => ({ form: [["client_id", id]] })),
    mutated(ownerId()).map((id): Credentials => ({ authorization: basic(id, ""), form: [] })),
    mutated(basicClient.client_secret!).map((secret): Credentials => ({ authorization: basic(basicClient.client_id, secret), form: [] })),
    mutated(postClient.client_secret!).map((secret): Credentials => ({ form: [["client_id", postClient.client_id], ["client_secret", secret]] })),
    fc.tuple(anyText, anyText).map(([id, secret]): Credentials => ({ form: [["client_id", id], ["client_secret", secret]] })),
    oddAuthorization.map((authorization): Credentials => ({ authorization, form: [] })),
  );
  if (who === "owner") return asOwner;
  if (who === "other") return asOther;
  return fc.oneof(asOwner, asOther);
}

/** Authorization headers that authenticate nobody: other schemes, bad base64, huge, non-ASCII. */
const oddAuthorization: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("Basic", "Basic ", "basic Og==", "Basic Og==", "Basic ===", "Basic %%%", "Bearer abc", "Digest username=x", "Basic YTpi:Yw==", "BASIC  YTo="),
  anyText.map((text) => `Basic ${text}`),
  fc.string({ unit: "binary", maxLength: 60 }).map((text) => `Basic ${Buffer.from(text, "utf8").toString("base64")}`),
  fc.tuple(anyText, anyText).map(([id, secret]) => basic(id, secret)),
  fc.integer({ min: 1000, max: 8000 }).map((size) => `Basic ${"QUFB".repeat(Math.ceil(size / 4))}`),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((text) => `Basic ${text}`),
  anyText,
);

const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange", "", "AUTHORIZATION_CODE", "refresh_token "];

const grantType = (usual: string) => fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...GRANT_TYPES) }, { weight: 1, arbitrary: anyText });

/** Fields a request may also carry, right or wrong. */
const noise: fc.Arbitrary<Pairs> = fc.oneof({ weight: 2, arbitrary: fc.constant<Pairs>([]) }, { weight: 1, arbitrary: fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(
      ["scope", "mcp:read"], ["scope", "mcp:read mcp:write"], ["scope", ""], ["scope", "offline_access"], ["scope", "admin"],
      ["resource", "http://127.0.0.1/mcp"], ["resource", "https://evil.example/mcp"], ["resource", "not a url"], ["resource", ""], ["resource", "urn:x#frag"],
      ["redirect_uri", "http://127.0.0.1:43117/callback"], ["redirect_uri", "https://evil.example/cb"],
      ["code_verifier", "x"], ["state", "s"], ["nonce", "n"], ["token_type_hint", "refresh_token"],
    ),
    fc.tuple(fc.constantFrom("scope", "resource", "redirect_uri", "audience", "assertion", "username", "password", "__proto__"), anyText),
    fc.tuple(anyText, anyText),
  ),
  { maxLength: 2 },
) });

/**
 * A token request. `forged` requests carry a credential that must not yield a token: a mutated
 * code or refresh token, a used one, a live one with another client, a live code with a wrong
 * verifier or redirect_uri. `garbage` ones carry no real credential at all.
 */
interface TokenCase {
  kind: string;
  credentials: Credentials;
  fields: Pairs;
  contentType: string | undefined;
  style: (typeof FORM_STYLES)[number];
  /** Repeat this field (by index) at the end: parameter pollution. */
  repeat: number | undefined;
  raw?: string;
}

function tokenCase(): fc.Arbitrary<TokenCase> {
  const codes = () => liveCodes.map((issued) => issued.code);
  const used = () => usedCodes.map((issued) => issued.code);
  const verifier = (issued: IssuedCode) => fc.oneof(fc.constant(issued.request.pkce.verifier), mutated(issued.request.pkce.verifier), anyText);
  const redirect = fc.option(realOrMutated(["http://127.0.0.1:43117/callback"]), { nil: undefined });
  const codeFields = (code: fc.Arbitrary<string>, codeVerifier: fc.Arbitrary<string | undefined>, redirectUri: fc.Arbitrary<string | undefined>) =>
    fc.tuple(grantType("authorization_code"), code, codeVerifier, redirectUri, noise).map(([grant, value, pkce, uri, extra]): Pairs => [
      ["grant_type", grant], ["code", value],
      ...(pkce === undefined ? [] : [["code_verifier", pkce] as [string, string]]),
      ...(uri === undefined ? [] : [["redirect_uri", uri] as [string, string]]),
      ...extra,
    ]);
  const refreshFields = (token: fc.Arbitrary<string>) =>
    fc.tuple(grantType("refresh_token"), token, noise).map(([grant, value, extra]): Pairs => [["grant_type", grant], ["refresh_token", value], ...extra]);
  const anyLiveCode = fc.constantFrom(...liveCodes);

  const scenarios: Array<[string, fc.Arbitrary<Pairs>, Who | "any"]> = [
    ["mutated code", fc.constantFrom(...codes()).chain(mutated).chain((code) => codeFields(fc.constant(code), fc.option(verifier(liveCodes[0]!), { nil: undefined }), redirect)), "any"],
    ["used code", codeFields(fc.constantFrom(...used()), fc.option(fc.constantFrom(...usedCodes.map((issued) => issued.request.pkce.verifier)), { nil: undefined }), redirect), "any"],
    ["live code, another client", anyLiveCode.chain((issued) => codeFields(fc.constant(issued.code), fc.constant(issued.request.pkce.verifier), fc.constant("http://127.0.0.1:43117/callback"))), "other"],
    ["live code, wrong verifier", anyLiveCode.chain((issued) => codeFields(fc.constant(issued.code), fc.option(fc.oneof(mutated(issued.request.pkce.verifier), anyText, fc.constantFrom(...liveCodes.filter((other) => other !== issued).map((other) => other.request.pkce.verifier))), { nil: undefined }), redirect)), "owner"],
    ["live code, wrong redirect_uri", anyLiveCode.chain((issued) => codeFields(fc.constant(issued.code), fc.constant(issued.request.pkce.verifier), fc.oneof(mutated("http://127.0.0.1:43117/callback"), fc.constant("http://127.0.0.1:43118/callback"), anyText))), "owner"],
    ["mutated refresh token", refreshFields(fc.constantFrom(...liveRefresh, ...usedRefresh.map((used) => used.token)).chain(mutated)), "any"],
    ["used refresh token", refreshFields(fc.constantFrom(...usedRefresh.map((used) => used.token))), "any"],
    ["live refresh token, another client", refreshFields(fc.constantFrom(...liveRefresh)), "other"],
    ["garbage", fc.array(fc.tuple(fc.oneof(fc.constantFrom("grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "client_id", "client_secret", "resource", "scope"), anyText), anyText), { maxLength: 8 }), "any"],
  ];
  const structured = fc.oneof(...scenarios.map(([kind, fields, who]) =>
    fc.record({
      kind: fc.constant(kind),
      credentials: credentials(who),
      fields,
      contentType: formContentType,
      style: fc.constantFrom(...FORM_STYLES),
      repeat: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat({ max: 12 }) }),
    })));
  const raw = fc.record({
    kind: fc.constant("raw body"),
    credentials: fc.constant<Credentials>({ form: [] }),
    fields: fc.constant<Pairs>([]),
    contentType: formContentType,
    style: fc.constant("standard" as const),
    repeat: fc.constant(undefined),
    raw: fc.oneof(anyText, fc.string({ unit: "binary", maxLength: 2000 }), fc.json({ maxDepth: 2 })),
  });
  return fc.oneof({ weight: 9, arbitrary: structured }, { weight: 1, arbitrary: raw });
}

function bodyOf(request: TokenCase): string {
  if (request.raw !== undefined) return request.raw;
  const pairs: Pairs = [...request.credentials.form, ...request.fields];
  if (request.repeat !== undefined && pairs.length > 0) pairs.push(pairs[request.repeat % pairs.length]!);
  return encodeForm(pairs, request.style);
}

// ---- Properties -------------------------------------------------------------------------------

describe("/token fuzz", () => {
  it("never answers a 5xx, refuses every forged, mutated, reused or misdirected code and refresh token with a JSON OAuth error, and issues no new token for any of them", async () => {
    const reused = new Map(usedRefresh.map((used) => [used.token, used.answer.access_token]));
    const keysBefore = new Set(server.store.keys);
    await fc.assert(
      fc.asyncProperty(batchOf(tokenCase()), async (requests) => {
        await eachConcurrently(requests, async (request) => {
          const reply = await send(server.origin, {
            path: "/token",
            headers: { "content-type": request.contentType, authorization: request.credentials.authorization },
            body: bodyOf(request),
          });
          const refresh = new URLSearchParams(bodyOf(request)).get("refresh_token");
          if (reply.status === 200 && request.kind === "used refresh token" && refresh !== null) {
            // A retry within the grace window gets the answer the first use got, not a new token.
            expect((parseJson(reply) as TokenResponse).access_token, "a reused refresh token got a new access token").toBe(reused.get(refresh));
            tally(`${request.kind} -> 200 with the first use's answer`);
            return;
          }
          const error = expectOAuthError(reply);
          tally(`${request.kind} -> ${reply.status} ${error.error}`);
          if (error.error === "invalid_client" && request.credentials.authorization?.trim()) {
            expect(reply.headers["www-authenticate"], "invalid_client after an Authorization header must carry a Basic challenge").toMatch(/^Basic /);
          }
        });
      }),
      fuzz(1300),
    );
    printTally();
    expectNoReportedErrors(server);
    // Nothing was issued, so nothing was added to the store (a replayed code only deletes its grant).
    expect([...server.store.keys].filter((key) => !keysBefore.has(key)), "store entries added by refused token requests").toEqual([]);

    // The seeded credentials were genuine and the fuzz did not spend them: the refusals above
    // were about what was wrong with each request, not a server that refuses everything.
    const tokens = await redeem(server, owner, liveCodes[0]!);
    expect(tokens.access_token).toBeTruthy();
    const refreshed = await postForm(server, "/token", credentialsOf(owner), [["grant_type", "refresh_token"], ["refresh_token", liveRefresh[0]!]]);
    expect(refreshed.status, refreshed.body).toBe(200);
  }, 120_000);

  it("answers oversized bodies and headers with a 4xx, never a 5xx", async () => {
    const form = (size: number) => `grant_type=authorization_code&code=${"a".repeat(size)}`;
    const cases: Array<{ name: string; body: string; chunked?: boolean; expected: number[] }> = [
      { name: "exactly 16 KiB", body: form(16 * 1024 - "grant_type=authorization_code&code=".length), expected: [401] },
      { name: "16 KiB + 1", body: form(16 * 1024 + 1), expected: [413] },
      { name: "1 MiB", body: form(1024 * 1024), expected: [413] },
      { name: "16 KiB + 1 chunked", body: form(16 * 1024 + 1), chunked: true, expected: [413] },
      { name: "1 MiB chunked", body: form(1024 * 1024), chunked: true, expected: [413] },
    ];
    for (const { name, body, chunked, expected } of cases) {
      // Each on its own connection: a 413 closes it (see below).
      const reply = await send(server.origin, { path: "/token", headers: { "content-type": FORM }, body, chunked, agent: new http.Agent({ keepAlive: false }) });
      expect(expected, `${name}: ${reply.status} ${reply.body.slice(0, 200)}`).toContain(reply.status);
      expectOAuthError(reply);
    }
    // Past Node's header limit (16 KiB) Node's HTTP parser refuses the request before any handler
    // runs (431, or the connection closed while the client still writes): never the server's 5xx.
    const outcome = await send(server.origin, { path: "/token", headers: { "content-type": FORM, authorization: `Basic ${"A".repeat(20 * 1024)}` }, body: "grant_type=refresh_token", agent: new http.Agent({ keepAlive: false }) })
      .then((reply) => reply.status, (error: Error) => error.message);
    expect(outcome).toSatisfy((status) => status === 431 || /socket hang up|ECONNRESET|EPIPE/.test(String(status)));
    expectNoReportedErrors(server);
  });

  // Found by this suite: a chunked body past 16 KiB is refused with 413 as soon as the limit is
  // passed, the rest left unread; the answer said keep-alive, and a client sending its next request
  // on that connection got no answer. A 413 now says Connection: close.
  it("after a 413 for an oversized chunked body, closes the connection (or still answers the next request on it)", async () => {
    const { head, second } = await chunkedThenAnother(server.origin, "/token", FORM, 1024 * 1024);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    if (/\r\nconnection: close\r\n/i.test(head)) return;
    expect(second, "the request sent after the 413 got no answer").toMatch(/^HTTP\/1\.1 401 /);
  });
});
