/**
 * `/revoke` (RFC 7009) over real HTTP: a client revokes its own tokens, and with them the grant;
 * an unknown token or another client's token gets the same 200 and nothing happens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InMemoryOAuthProvider } from "fastmcp-ts/auth";
import {
  authorizationCode,
  codeForm,
  expectOAuthError,
  expectTokens,
  mcpStatus,
  postForm,
  refreshForm,
  registerClient,
  startInMemory,
  tokenRequest,
  tokensFor,
  type AuthServer,
  type ClientAuth,
  type Params,
  type RegisteredClient,
} from "./helpers.js";

let server: AuthServer<InMemoryOAuthProvider>;
let pub: RegisteredClient;
let confidential: RegisteredClient;
beforeAll(async () => {
  server = await startInMemory();
  pub = await registerClient(server);
  confidential = await registerClient(server, { token_endpoint_auth_method: "client_secret_basic" });
});
afterAll(() => server.close());

function revoke(form: Params | string, auth: ClientAuth = {}): Promise<Response> {
  return postForm(server, "/revoke", form, auth);
}

/** Asserts the RFC 7009 §2.2 success: 200, empty body, no-store. */
async function expectRevoked(response: Response): Promise<void> {
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("access-control-allow-origin")).toBe("*");
  expect(await response.text()).toBe("");
}

/** Whether the grant behind `tokens` is alive: its access token works and its refresh token refreshes. */
async function grantAlive(client: RegisteredClient, tokens: { access_token: string; refresh_token?: string }, auth: ClientAuth = {}): Promise<{ access: boolean; refresh: boolean }> {
  const access = (await mcpStatus(server, tokens.access_token)) === 200;
  const response = await tokenRequest(server, refreshForm(client, tokens.refresh_token!, auth.basic ? { client_id: undefined } : {}), auth);
  await response.arrayBuffer();
  return { access, refresh: response.status === 200 };
}

describe("/revoke", () => {
  it("answers 200 for a token it does not know", async () => {
    await expectRevoked(await revoke({ token: "never-issued", client_id: pub.client_id }));
  });

  it("revokes an access token, and the grant with it (the refresh token too)", async () => {
    const tokens = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: tokens.access_token, client_id: pub.client_id }));
    expect(await grantAlive(pub, tokens)).toEqual({ access: false, refresh: false });
  });

  it("revokes a refresh token, and the grant with it (the access token too)", async () => {
    const tokens = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: tokens.refresh_token!, client_id: pub.client_id, token_type_hint: "refresh_token" }));
    expect(await mcpStatus(server, tokens.access_token)).toBe(401);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, tokens.refresh_token!)), 401, "invalid_grant");
  });

  it("finds a refresh token sent without a hint", async () => {
    const tokens = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: tokens.refresh_token!, client_id: pub.client_id }));
    expect(await grantAlive(pub, tokens)).toEqual({ access: false, refresh: false });
  });

  it.each([
    ["an access token hinted as refresh_token", "access_token", "refresh_token"],
    ["a refresh token hinted as access_token", "refresh_token", "access_token"],
    ["an access token with an unknown hint", "access_token", "id_token"],
  ] as const)("revokes %s (the hint is only a hint)", async (_name, which, hint) => {
    const tokens = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: tokens[which]!, client_id: pub.client_id, token_type_hint: hint }));
    expect(await grantAlive(pub, tokens)).toEqual({ access: false, refresh: false });
  });

  it("revokes the tokens a refresh issued from the same grant", async () => {
    const first = await tokensFor(server, pub);
    const second = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
    await expectRevoked(await revoke({ token: first.access_token, client_id: pub.client_id }));
    expect(await grantAlive(pub, second)).toEqual({ access: false, refresh: false });
  });

  it("answers 200 again for a token already revoked", async () => {
    const tokens = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: tokens.access_token, client_id: pub.client_id }));
    await expectRevoked(await revoke({ token: tokens.access_token, client_id: pub.client_id }));
  });

  it("leaves the client's other grants alone", async () => {
    const revoked = await tokensFor(server, pub);
    const kept = await tokensFor(server, pub);
    await expectRevoked(await revoke({ token: revoked.access_token, client_id: pub.client_id }));
    expect(await grantAlive(pub, kept)).toEqual({ access: true, refresh: true });
  });

  it("does not revoke another client's access token, and says 200 all the same", async () => {
    const tokens = await tokensFor(server, pub);
    const other = await registerClient(server);
    await expectRevoked(await revoke({ token: tokens.access_token, client_id: other.client_id }));
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
  });

  it("does not revoke another client's refresh token", async () => {
    const tokens = await tokensFor(server, pub);
    const other = await registerClient(server);
    await expectRevoked(await revoke({ token: tokens.refresh_token!, client_id: other.client_id, token_type_hint: "refresh_token" }));
    expect(await grantAlive(pub, tokens)).toEqual({ access: true, refresh: true });
  });

  it("lets a confidential client revoke its token with client_secret_basic", async () => {
    const authorization = await authorizationCode(server, confidential);
    const auth: ClientAuth = { basic: [confidential.client_id, confidential.client_secret!] };
    const tokens = await expectTokens(await tokenRequest(server, codeForm(confidential, authorization, { client_id: undefined }), auth));
    await expectRevoked(await revoke({ token: tokens.access_token }, auth));
    expect(await grantAlive(confidential, tokens, auth)).toEqual({ access: false, refresh: false });
  });

  it("refuses a wrong secret with 401 and a Basic challenge, and revokes nothing", async () => {
    const authorization = await authorizationCode(server, confidential);
    const auth: ClientAuth = { basic: [confidential.client_id, confidential.client_secret!] };
    const tokens = await expectTokens(await tokenRequest(server, codeForm(confidential, authorization, { client_id: undefined }), auth));
    const response = await revoke({ token: tokens.access_token }, { basic: [confidential.client_id, "wrong"] });
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
    await expectOAuthError(response, 401, "invalid_client");
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
  });

  it("refuses a confidential client that sends no secret with 401", async () => {
    await expectOAuthError(await revoke({ token: "x", client_id: confidential.client_id }), 401, "invalid_client");
  });

  it("refuses an unknown client with 401", async () => {
    await expectOAuthError(await revoke({ token: "x", client_id: "nobody" }), 401, "invalid_client");
  });

  it("refuses a request that names no client with 401", async () => {
    await expectOAuthError(await revoke({ token: "x" }), 401, "invalid_client");
  });

  it("refuses a missing token with 400 invalid_request", async () => {
    await expectOAuthError(await revoke({ client_id: pub.client_id }), 400, "invalid_request");
  });

  it("refuses a body that is not a form with 415", async () => {
    await expectOAuthError(await revoke(JSON.stringify({ token: "x", client_id: pub.client_id }), { contentType: "application/json" }), 415, "invalid_request");
  });

  it("refuses a repeated token parameter with 400 invalid_request", async () => {
    const tokens = await tokensFor(server, pub);
    await expectOAuthError(await revoke(`token=${tokens.access_token}&token=other&client_id=${pub.client_id}`), 400, "invalid_request");
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
  });
});
