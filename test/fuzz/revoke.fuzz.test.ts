/**
 * /revoke (RFC 7009) under fuzzing: never a 5xx; 200, or a 4xx JSON OAuth error; and whatever
 * another client presents (the victim's own tokens, mutated ones, the victim's client_id with a
 * wrong or missing secret, broken Basic headers), the victim's grant lives on: its access token
 * still works at /mcp after every batch. Revocation itself works (checked at the end), so the
 * property is not true merely because nothing can be revoked.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  anyText, basic, batchOf, Browser, credentialsOf, eachConcurrently, encodeForm, expectNoReportedErrors, expectOAuthError, FORM_STYLES, formContentType, fuzz,
  mutated, ping, postForm, printTally, registerClient, send, startServer, tally, tokensFor, type Credentials, type FuzzServer, type Pairs, type RegisteredClient, type TokenResponse,
} from "./support.js";

let server: FuzzServer;
/** A confidential client (client_secret_basic): only its secret can revoke its tokens. */
let victim: RegisteredClient;
let victimTokens: TokenResponse;
/** Other clients, public and confidential, with grants of their own. */
let attackers: RegisteredClient[];
let attackerTokens: TokenResponse[];

beforeAll(async () => {
  // Every request reads the grant from the store: no cached verdict can hide a revocation.
  server = await startServer({ provider: { revocationCheckSeconds: 0 } });
  const browser = new Browser(server.origin);
  victim = await registerClient(server, { token_endpoint_auth_method: "client_secret_basic" });
  victimTokens = await tokensFor(server, browser, victim);
  attackers = [await registerClient(server), await registerClient(server, { token_endpoint_auth_method: "client_secret_post" })];
  attackerTokens = [];
  for (const attacker of attackers) attackerTokens.push(await tokensFor(server, browser, attacker));
});

afterAll(async () => {
  await server?.close();
});

const credentials = (): fc.Arbitrary<Credentials> =>
  fc.oneof(
    // Another client, authenticated for real: the case that matters most.
    { weight: 6, arbitrary: fc.constantFrom<Credentials>(...attackers.map(credentialsOf)) },
    fc.constantFrom<Credentials>(
      { form: [["client_id", victim.client_id]] },
      { authorization: basic(victim.client_id, ""), form: [] },
      { form: [["client_id", victim.client_id], ["client_secret", victim.client_secret!]] },
      { authorization: basic(attackers[0]!.client_id, ""), form: [["client_id", victim.client_id]] },
      { authorization: basic(victim.client_id, victim.client_secret!), form: [["client_secret", victim.client_secret!]] },
      { form: [] },
    ),
    mutated(victim.client_secret!).map((secret): Credentials => ({ authorization: basic(victim.client_id, secret), form: [] })),
    mutated(victim.client_id).map((id): Credentials => ({ authorization: basic(id, victim.client_secret!), form: [] })),
    fc.tuple(anyText, anyText).map(([id, secret]): Credentials => ({ authorization: basic(id, secret), form: [] })),
    anyText.map((authorization): Credentials => ({ authorization, form: [] })),
    anyText.map((authorization): Credentials => ({ authorization: `Basic ${authorization}`, form: [] })),
  );

const victimValues = () => [victimTokens.access_token, victimTokens.refresh_token!];

interface RevokeCase {
  credentials: Credentials;
  fields: Pairs;
  style: (typeof FORM_STYLES)[number];
  contentType: string | undefined;
}

const revokeCase = (): fc.Arbitrary<RevokeCase> =>
  fc.record({
    credentials: credentials(),
    fields: fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...victimValues()) },
        { weight: 2, arbitrary: fc.constantFrom(...victimValues()).chain(mutated) },
        { weight: 1, arbitrary: fc.constantFrom(...attackerTokens.flatMap((tokens) => [tokens.access_token, tokens.refresh_token!])) },
        { weight: 1, arbitrary: anyText },
      ).map((token): Pairs => [["token", token]]),
      fc.oneof(fc.constant<Pairs>([]), fc.constantFrom("access_token", "refresh_token").map((hint): Pairs => [["token_type_hint", hint]]), anyText.map((hint): Pairs => [["token_type_hint", hint]])),
      fc.oneof({ weight: 4, arbitrary: fc.constant<Pairs>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom("token", "client_id", "token_type_hint"), anyText), anyText), { minLength: 1, maxLength: 2 }) }),
    ).chain((parts) => fc.shuffledSubarray(parts.flat(), { minLength: parts.flat().length })),
    style: fc.constantFrom(...FORM_STYLES),
    contentType: formContentType,
  });

describe("/revoke fuzz", () => {
  it("never answers a 5xx, answers 200 or a JSON OAuth error, never ends another client's grant, and adds nothing to the store", async () => {
    const keysBefore = new Set(server.store.keys);
    await fc.assert(
      fc.asyncProperty(batchOf(revokeCase()), async (requests) => {
        await eachConcurrently(requests, async (request) => {
          const reply = await send(server.origin, {
            path: "/revoke",
            headers: { "content-type": request.contentType, authorization: request.credentials.authorization },
            body: encodeForm([...request.credentials.form, ...request.fields], request.style),
          });
          if (reply.status === 200) {
            expect(reply.body).toBe("");
            tally("200");
            return;
          }
          const error = expectOAuthError(reply);
          tally(`${reply.status} ${error.error}`);
        });
        const check = await ping(server, `Bearer ${victimTokens.access_token}`);
        expect(check.status, `the victim's token stopped working: ${check.status} ${check.body}`).toBe(200);
      }),
      fuzz(1100),
    );
    printTally();
    expectNoReportedErrors(server);
    expect([...server.store.keys].filter((key) => !keysBefore.has(key)), "store entries added by /revoke").toEqual([]);

    // Revocation works: the victim revoking its own refresh token ends the grant.
    const revoked = await postForm(server, "/revoke", credentialsOf(victim), [["token", victimTokens.refresh_token!]]);
    expect(revoked.status).toBe(200);
    expect((await ping(server, `Bearer ${victimTokens.access_token}`)).status).toBe(401);
  }, 120_000);
});
