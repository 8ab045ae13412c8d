/**
 * `/token` over real HTTP: the authorization_code and refresh_token grants, client
 * authentication, and every RFC 6749 §5.2 error with its status and the no-store headers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemoryOAuthProvider, type OAuthClientInformation } from "fastmcp-ts/auth";
import {
  authorizationCode,
  basicAuthorization,
  codeForm,
  DEFAULT_OPTIONS,
  expectNoStore,
  expectOAuthError,
  expectTokens,
  mcpStatus,
  postForm,
  REDIRECT_URI,
  refreshForm,
  registerClient,
  startAuthServer,
  startInMemory,
  tokenRequest,
  tokensFor,
  type AuthServer,
  type RegisteredClient,
} from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: AuthServer<InMemoryOAuthProvider>;
/** Public, authorization_code + refresh_token. */
let pub: RegisteredClient;
/** Public, authorization_code only. */
let codeOnly: RegisteredClient;
/** Confidential with client_secret_basic. */
let basic: RegisteredClient;
/** Confidential with client_secret_post. */
let post: RegisteredClient;

beforeAll(async () => {
  server = await startInMemory();
  pub = await registerClient(server);
  codeOnly = await registerClient(server, { grant_types: ["authorization_code"] });
  basic = await registerClient(server, { token_endpoint_auth_method: "client_secret_basic" });
  post = await registerClient(server, { token_endpoint_auth_method: "client_secret_post" });
});
afterAll(() => server.close());

/** The code form without client credentials (for confidential clients, which authenticate otherwise). */
function anonymousCodeForm(client: RegisteredClient, authorization: Awaited<ReturnType<typeof authorizationCode>>): Record<string, string | undefined> {
  return codeForm(client, authorization, { client_id: undefined });
}

describe("/token: the request itself", () => {
  it("answers a good code exchange with 200, the token response and no-store", async () => {
    const authorization = await authorizationCode(server, pub);
    const response = await tokenRequest(server, codeForm(pub, authorization));
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const tokens = await expectTokens(response);
    expect(tokens).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600, scope: "mcp:read", refresh_token: expect.any(String) });
    expect(tokens.refresh_token).not.toBe(tokens.access_token);
    expect(await mcpStatus(server, tokens.access_token)).toBe(200);
  });

  it("issues no refresh token to a client that did not register the refresh_token grant", async () => {
    const tokens = await tokensFor(server, codeOnly);
    expect(tokens.refresh_token).toBeUndefined();
  });

  it("refuses a JSON body with 415", async () => {
    const authorization = await authorizationCode(server, pub);
    const response = await fetch(server.url("/token"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(codeForm(pub, authorization)) });
    await expectOAuthError(response, 415, "invalid_request");
  });

  it("refuses a body without a content type with 415", async () => {
    const response = await fetch(server.url("/token"), { method: "POST", body: new Blob(["grant_type=authorization_code"]) });
    await expectOAuthError(response, 415, "invalid_request");
  });

  it("refuses an oversized body with 413", async () => {
    const response = await tokenRequest(server, { grant_type: "authorization_code", client_id: pub.client_id, code: "x".repeat(20_000) });
    await expectOAuthError(response, 413, "invalid_request");
  });

  it("refuses an oversized streamed body (no Content-Length) with 413", async () => {
    const chunk = new TextEncoder().encode(`grant_type=authorization_code&client_id=${pub.client_id}&code=${"x".repeat(8_000)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 4) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(server.url("/token"), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, duplex: "half" } as RequestInit);
    await expectOAuthError(response, 413, "invalid_request");
  });

  it("refuses a missing grant_type with invalid_request", async () => {
    await expectOAuthError(await tokenRequest(server, { client_id: pub.client_id, code: "x" }), 400, "invalid_request");
  });

  it.each(["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", "AUTHORIZATION_CODE"])(
    "refuses grant_type %s with unsupported_grant_type",
    async (grantType) => {
      await expectOAuthError(await tokenRequest(server, { grant_type: grantType, client_id: pub.client_id }), 400, "unsupported_grant_type");
    },
  );

  it("refuses a repeated parameter with invalid_request", async () => {
    const authorization = await authorizationCode(server, pub);
    const form = `${new URLSearchParams(codeForm(pub, authorization) as Record<string, string>).toString()}&code=forged`;
    await expectOAuthError(await tokenRequest(server, form), 400, "invalid_request");
  });
});

describe("/token: client authentication", () => {
  it("accepts a public client by client_id alone (none)", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectTokens(await tokenRequest(server, codeForm(pub, authorization)));
  });

  it("accepts a public client sending Basic with an empty secret", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectTokens(await tokenRequest(server, anonymousCodeForm(pub, authorization), { basic: [pub.client_id, ""] }));
  });

  it("accepts client_secret_basic", async () => {
    const authorization = await authorizationCode(server, basic);
    await expectTokens(await tokenRequest(server, anonymousCodeForm(basic, authorization), { basic: [basic.client_id, basic.client_secret!] }));
  });

  it("accepts client_secret_basic with client_id repeated in the form", async () => {
    const authorization = await authorizationCode(server, basic);
    await expectTokens(await tokenRequest(server, codeForm(basic, authorization), { basic: [basic.client_id, basic.client_secret!] }));
  });

  it("accepts client_secret_post", async () => {
    const authorization = await authorizationCode(server, post);
    await expectTokens(await tokenRequest(server, codeForm(post, authorization, { client_secret: post.client_secret })));
  });

  it("accepts a client pre-registered in code with its secret in clear", async () => {
    const client: OAuthClientInformation = { client_id: "preregistered", client_secret: "s3cret-s3cret", token_endpoint_auth_method: "client_secret_post", redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code"] };
    server.provider.clients.set(client.client_id, client);
    const registered = { ...client, token_endpoint_auth_method: "client_secret_post", grant_types: ["authorization_code"] } as RegisteredClient;
    const ok = await authorizationCode(server, registered);
    await expectTokens(await tokenRequest(server, codeForm(registered, ok, { client_secret: "s3cret-s3cret" })));
    const wrong = await authorizationCode(server, registered);
    await expectOAuthError(await tokenRequest(server, codeForm(registered, wrong, { client_secret: "s3cret-s3creT" })), 401, "invalid_client");
  });

  it("refuses a client whose secret expired", async () => {
    const client: OAuthClientInformation = {
      client_id: "expired-secret",
      client_secret: "old-secret",
      client_secret_expires_at: Math.floor(Date.now() / 1000) - 60,
      token_endpoint_auth_method: "client_secret_post",
      redirect_uris: [REDIRECT_URI],
    };
    server.provider.clients.set(client.client_id, client);
    const authorization = await authorizationCode(server, client as RegisteredClient);
    await expectOAuthError(await tokenRequest(server, codeForm(client, authorization, { client_secret: "old-secret" })), 401, "invalid_client");
  });

  type Case = [name: string, run: () => Promise<Response>, status: number, error: string, challenge: boolean];
  const cases: Case[] = [
    ["a wrong secret over Basic", async () => tokenRequest(server, anonymousCodeForm(basic, await authorizationCode(server, basic)), { basic: [basic.client_id, "wrong"] }), 401, "invalid_client", true],
    ["a wrong secret in the form", async () => tokenRequest(server, codeForm(post, await authorizationCode(server, post), { client_secret: "wrong" })), 401, "invalid_client", false],
    ["a prefix of the secret", async () => tokenRequest(server, codeForm(post, await authorizationCode(server, post), { client_secret: post.client_secret!.slice(0, -1) })), 401, "invalid_client", false],
    ["the secret with something appended", async () => tokenRequest(server, codeForm(post, await authorizationCode(server, post), { client_secret: `${post.client_secret!}x` })), 401, "invalid_client", false],
    ["a Basic client sending its secret in the form", async () => tokenRequest(server, codeForm(basic, await authorizationCode(server, basic), { client_secret: basic.client_secret })), 401, "invalid_client", false],
    ["a post client sending its secret over Basic", async () => tokenRequest(server, anonymousCodeForm(post, await authorizationCode(server, post)), { basic: [post.client_id, post.client_secret!] }), 401, "invalid_client", true],
    ["a confidential client sending no secret", async () => tokenRequest(server, codeForm(basic, await authorizationCode(server, basic))), 401, "invalid_client", false],
    ["a confidential client sending Basic with an empty secret", async () => tokenRequest(server, anonymousCodeForm(basic, await authorizationCode(server, basic)), { basic: [basic.client_id, ""] }), 401, "invalid_client", true],
    ["a public client sending a secret in the form", async () => tokenRequest(server, codeForm(pub, await authorizationCode(server, pub), { client_secret: "made-up" })), 401, "invalid_client", false],
    ["a public client sending a secret over Basic", async () => tokenRequest(server, anonymousCodeForm(pub, await authorizationCode(server, pub)), { basic: [pub.client_id, "made-up"] }), 401, "invalid_client", true],
    ["an unknown client", async () => tokenRequest(server, codeForm(pub, await authorizationCode(server, pub), { client_id: "nobody" })), 401, "invalid_client", false],
    ["an unknown client over Basic", async () => tokenRequest(server, anonymousCodeForm(pub, await authorizationCode(server, pub)), { basic: ["nobody", "secret"] }), 401, "invalid_client", true],
    ["no client_id at all", async () => tokenRequest(server, anonymousCodeForm(pub, await authorizationCode(server, pub))), 401, "invalid_client", false],
    ["a malformed Basic header (not base64)", async () => tokenRequest(server, anonymousCodeForm(basic, await authorizationCode(server, basic)), { headers: { authorization: "Basic %%%not-base64%%%" } }), 401, "invalid_client", true],
    ["a Basic header without a colon", async () => tokenRequest(server, anonymousCodeForm(basic, await authorizationCode(server, basic)), { headers: { authorization: `Basic ${Buffer.from(basic.client_id).toString("base64")}` } }), 401, "invalid_client", true],
    ["another scheme in the Authorization header", async () => tokenRequest(server, codeForm(pub, await authorizationCode(server, pub)), { headers: { authorization: "Bearer some-token" } }), 401, "invalid_client", true],
    ["Basic and a form secret both", async () => tokenRequest(server, codeForm(basic, await authorizationCode(server, basic), { client_secret: basic.client_secret }), { basic: [basic.client_id, basic.client_secret!] }), 400, "invalid_request", false],
    ["Basic naming one client and the form another", async () => tokenRequest(server, codeForm(pub, await authorizationCode(server, basic)), { basic: [basic.client_id, basic.client_secret!] }), 400, "invalid_request", false],
    ["client_secret without client_id", async () => tokenRequest(server, codeForm(post, await authorizationCode(server, post), { client_id: undefined, client_secret: post.client_secret })), 400, "invalid_request", false],
  ];
  it.each(cases)("refuses %s", async (_name, run, status, error, challenge) => {
    const response = await run();
    const challengeHeader = response.headers.get("www-authenticate");
    await expectOAuthError(response, status, error);
    if (challenge) expect(challengeHeader).toMatch(/^Basic /);
    else expect(challengeHeader).toBeNull();
  });
});

describe("/token: authorization_code grant", () => {
  it("refuses a forged code", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code: "test_auth_code_00000000000000000000000000000000" })), 401, "invalid_grant");
  });

  it("refuses a missing code", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code: undefined })), 400, "invalid_request");
  });

  it("refuses another client's code, which its own client can still redeem", async () => {
    const authorization = await authorizationCode(server, pub);
    const other = await registerClient(server);
    await expectOAuthError(await tokenRequest(server, codeForm(other, authorization)), 401, "invalid_grant");
    await expectTokens(await tokenRequest(server, codeForm(pub, authorization)));
  });

  it("refuses a replayed code and revokes what its first redemption issued", async () => {
    const authorization = await authorizationCode(server, pub);
    const first = await expectTokens(await tokenRequest(server, codeForm(pub, authorization)));
    expect(await mcpStatus(server, first.access_token)).toBe(200);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization)), 401, "invalid_grant");
    expect(await mcpStatus(server, first.access_token)).toBe(401);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, first.refresh_token!)), 401, "invalid_grant");
  });

  it("revokes on replay also the tokens a refresh issued since", async () => {
    const authorization = await authorizationCode(server, pub);
    const first = await expectTokens(await tokenRequest(server, codeForm(pub, authorization)));
    const refreshed = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization)), 401, "invalid_grant");
    expect(await mcpStatus(server, refreshed.access_token)).toBe(401);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, refreshed.refresh_token!)), 401, "invalid_grant");
  });

  it("refuses a different redirect_uri than the authorization request named", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { redirect_uri: "http://127.0.0.1:47913/other" })), 401, "invalid_grant");
  });

  it("refuses a missing redirect_uri when the authorization request named one", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { redirect_uri: undefined })), 401, "invalid_grant");
  });

  it("refuses the loopback URI on another port than the one authorized", async () => {
    const authorization = await authorizationCode(server, pub, { redirect_uri: "http://127.0.0.1:50001/callback" });
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { redirect_uri: REDIRECT_URI })), 401, "invalid_grant");
  });

  it("accepts no redirect_uri when the authorization request named none", async () => {
    const authorization = await authorizationCode(server, pub, { redirect_uri: undefined });
    await expectTokens(await tokenRequest(server, codeForm(pub, authorization, { redirect_uri: undefined })));
  });

  it("refuses another redirect_uri even when the authorization request named none", async () => {
    const authorization = await authorizationCode(server, pub, { redirect_uri: undefined });
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { redirect_uri: "http://127.0.0.1:47913/other" })), 401, "invalid_grant");
  });

  it("refuses a code_verifier that does not match the challenge", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code_verifier: "b".repeat(43) })), 401, "invalid_grant");
  });

  it("refuses a missing code_verifier", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code_verifier: undefined })), 400, "invalid_request");
  });

  it("refuses the challenge itself as the verifier (plain downgrade)", async () => {
    const authorization = await authorizationCode(server, pub);
    const challenge = (await import("node:crypto")).createHash("sha256").update(authorization.verifier).digest("base64url");
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code_verifier: challenge })), 401, "invalid_grant");
  });

  it.each([
    ["42 characters", (v: string) => v.slice(0, 42)],
    ["129 characters", (v: string) => v + "a".repeat(86)],
    ["a character outside the unreserved set", (v: string) => `${v.slice(0, 42)}+`],
    ["a space", (v: string) => `${v.slice(0, 42)} `],
  ])("refuses a verifier of %s", async (_name, mangle) => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code_verifier: mangle(authorization.verifier) })), 401, "invalid_grant");
  });

  it("accepts a 128-character verifier", async () => {
    const { createHash } = await import("node:crypto");
    const verifier = "A-._~".repeat(25) + "xyz";
    expect(verifier).toHaveLength(128);
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const { authorizationParams, authorizeRequest, redirectLocation, single } = await import("./helpers.js");
    const params = authorizationParams(server, pub, { verifier, challenge });
    const code = single(redirectLocation(await authorizeRequest(server, params)), "code");
    await expectTokens(await tokenRequest(server, { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT_URI, client_id: pub.client_id }));
  });

  it("refuses a resource other than the one the code was issued for", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { resource: "https://other.example.com/mcp" })), 400, "invalid_target");
  });

  it("accepts the same resource again at the token endpoint", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectTokens(await tokenRequest(server, codeForm(pub, authorization, { resource: server.mcpUrl })));
  });

  it("refuses the authorization_code grant to a client that did not register it: unauthorized_client", async () => {
    const client: OAuthClientInformation = { client_id: "refresh-only", redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none", grant_types: ["refresh_token"] };
    server.provider.clients.set(client.client_id, client);
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(client, authorization)), 400, "unauthorized_client");
  });

  it("refuses a code sent with the refresh_token grant", async () => {
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, authorization.code)), 401, "invalid_grant");
  });

  it("refuses an access token presented as a code", async () => {
    const tokens = await tokensFor(server, pub);
    const authorization = await authorizationCode(server, pub);
    await expectOAuthError(await tokenRequest(server, codeForm(pub, authorization, { code: tokens.access_token })), 401, "invalid_grant");
  });
});

describe("/token: authorization code lifetime", () => {
  let short: AuthServer<InMemoryOAuthProvider>;
  let client: RegisteredClient;
  beforeAll(async () => {
    short = await startInMemory({ authorizationCodeTtlSeconds: 1 });
    client = await registerClient(short);
  });
  afterAll(() => short.close());

  it("refuses an expired code", async () => {
    const authorization = await authorizationCode(short, client);
    await sleep(2_100);
    await expectOAuthError(await tokenRequest(short, codeForm(client, authorization)), 401, "invalid_grant");
  });
});

describe("/token: additional resources", () => {
  let multi: AuthServer<InMemoryOAuthProvider>;
  let client: RegisteredClient;
  const OTHER = "https://other-mcp.example.com/mcp";
  beforeAll(async () => {
    multi = await startInMemory({ additionalResources: [OTHER] });
    client = await registerClient(multi);
  });
  afterAll(() => multi.close());

  it("refuses this server's resource for a code issued for another resource", async () => {
    const authorization = await authorizationCode(multi, client, { resource: OTHER });
    await expectOAuthError(await tokenRequest(multi, codeForm(client, authorization, { resource: multi.mcpUrl })), 400, "invalid_target");
  });

  it("refuses another resource for a code issued for this one", async () => {
    const authorization = await authorizationCode(multi, client);
    await expectOAuthError(await tokenRequest(multi, codeForm(client, authorization, { resource: OTHER })), 400, "invalid_target");
  });

  it("redeems a code for another resource when the token request names it", async () => {
    const authorization = await authorizationCode(multi, client, { resource: OTHER });
    await expectTokens(await tokenRequest(multi, codeForm(client, authorization, { resource: OTHER })));
  });
});

describe("/token: refresh_token grant", () => {
  it("rotates: new access and refresh tokens, the new access token works", async () => {
    const first = await tokensFor(server, pub);
    const second = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.scope).toBe("mcp:read");
    expect(await mcpStatus(server, second.access_token)).toBe(200);
  });

  it("answers a retry with the old token inside the grace window with the same response", async () => {
    const first = await tokensFor(server, pub);
    const second = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
    const retried = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
    expect(retried).toEqual(second);
  });

  it("narrows the scope on request", async () => {
    const first = await tokensFor(server, pub, { scope: "mcp:read mcp:write" });
    expect(first.scope).toBe("mcp:read mcp:write");
    const narrowed = await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!, { scope: "mcp:read" })));
    expect(narrowed.scope).toBe("mcp:read");
    // The grant keeps what was approved: a later refresh may ask for it back.
    const restored = await expectTokens(await tokenRequest(server, refreshForm(pub, narrowed.refresh_token!, { scope: "mcp:read mcp:write" })));
    expect(restored.scope).toBe("mcp:read mcp:write");
  });

  it("refuses to widen the scope with invalid_scope", async () => {
    const first = await tokensFor(server, pub);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, first.refresh_token!, { scope: "mcp:read admin" })), 400, "invalid_scope");
    // The refused request did not use the token up.
    await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
  });

  it("refuses another client's refresh token, which stays valid for its own client", async () => {
    const first = await tokensFor(server, pub);
    const other = await registerClient(server);
    await expectOAuthError(await tokenRequest(server, refreshForm(other, first.refresh_token!)), 401, "invalid_grant");
    await expectTokens(await tokenRequest(server, refreshForm(pub, first.refresh_token!)));
  });

  it("refuses an unknown refresh token", async () => {
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, "test_refresh_token_0000")), 401, "invalid_grant");
  });

  it("refuses an access token presented as a refresh token", async () => {
    const tokens = await tokensFor(server, pub);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, tokens.access_token)), 401, "invalid_grant");
  });

  it("refuses a missing refresh_token with invalid_request", async () => {
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, "x", { refresh_token: undefined })), 400, "invalid_request");
  });

  it("refuses another resource with invalid_target", async () => {
    const first = await tokensFor(server, pub);
    await expectOAuthError(await tokenRequest(server, refreshForm(pub, first.refresh_token!, { resource: "https://other.example.com/mcp" })), 400, "invalid_target");
  });

  it("refuses the refresh_token grant to a client that did not register it: unauthorized_client", async () => {
    await expectOAuthError(await tokenRequest(server, refreshForm(codeOnly, "anything")), 400, "unauthorized_client");
  });

  it("authenticates confidential clients on refresh too", async () => {
    const authorization = await authorizationCode(server, basic);
    const tokens = await expectTokens(await tokenRequest(server, anonymousCodeForm(basic, authorization), { basic: [basic.client_id, basic.client_secret!] }));
    expect(tokens.refresh_token).toBeTruthy();
    const refused = await tokenRequest(server, refreshForm(basic, tokens.refresh_token!), { basic: [basic.client_id, "wrong"] });
    expect(refused.headers.get("www-authenticate")).toMatch(/^Basic /);
    await expectOAuthError(refused, 401, "invalid_client");
    await expectTokens(await tokenRequest(server, refreshForm(basic, tokens.refresh_token!, { client_id: undefined }), { basic: [basic.client_id, basic.client_secret!] }));
  });

  it("keeps client secrets out of every token response", async () => {
    const authorization = await authorizationCode(server, post);
    const response = await tokenRequest(server, codeForm(post, authorization, { client_secret: post.client_secret }));
    const text = await response.text();
    expect(response.status).toBe(200);
    expectNoStore(response);
    expect(text).not.toContain(post.client_secret!);
    expect(text).not.toContain("client_secret");
  });
});

describe("/token: refresh token reuse after the grace window", () => {
  let strict: AuthServer<InMemoryOAuthProvider>;
  let client: RegisteredClient;
  beforeAll(async () => {
    strict = await startInMemory({ refreshTokenGraceSeconds: 1 });
    client = await registerClient(strict);
  });
  afterAll(() => strict.close());

  it("refuses the old token with invalid_grant and revokes the whole grant", async () => {
    const first = await tokensFor(strict, client);
    const second = await expectTokens(await tokenRequest(strict, refreshForm(client, first.refresh_token!)));
    expect(await mcpStatus(strict, second.access_token)).toBe(200);
    await sleep(2_100);
    await expectOAuthError(await tokenRequest(strict, refreshForm(client, first.refresh_token!)), 401, "invalid_grant");
    expect(await mcpStatus(strict, second.access_token)).toBe(401);
    expect(await mcpStatus(strict, first.access_token)).toBe(401);
    await expectOAuthError(await tokenRequest(strict, refreshForm(client, second.refresh_token!)), 401, "invalid_grant");
  });

  it("leaves other grants of the same client alone", async () => {
    const victim = await tokensFor(strict, client);
    const bystander = await tokensFor(strict, client);
    await expectTokens(await tokenRequest(strict, refreshForm(client, victim.refresh_token!)));
    await sleep(2_100);
    await expectOAuthError(await tokenRequest(strict, refreshForm(client, victim.refresh_token!)), 401, "invalid_grant");
    expect(await mcpStatus(strict, bystander.access_token)).toBe(200);
    await expectTokens(await tokenRequest(strict, refreshForm(client, bystander.refresh_token!)));
  });
});

describe("/token: Basic credentials are form-urlencoded inside the header (RFC 6749 §2.3.1)", () => {
  it("decodes a client_id and secret with reserved characters", async () => {
    const client: OAuthClientInformation = { client_id: "id:with spaces&more", client_secret: "p@ss:w+rd/%", token_endpoint_auth_method: "client_secret_basic", redirect_uris: [REDIRECT_URI] };
    server.provider.clients.set(client.client_id, client);
    const authorization = await authorizationCode(server, client as RegisteredClient);
    const response = await tokenRequest(server, anonymousCodeForm(client as RegisteredClient, authorization), { headers: { authorization: basicAuthorization(client.client_id, client.client_secret!) } });
    await expectTokens(response);
  });
});

/** InMemory whose code and refresh token lookups wait for the test before the endpoint goes on. */
class PausingProvider extends InMemoryOAuthProvider {
  /** While set, every lookup waits for it after loading. */
  pause: Promise<void> | undefined;
  private lookups = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  override async loadAuthorizationCode(client: OAuthClientInformation, code: string) {
    const found = await super.loadAuthorizationCode(client, code);
    await this.paused();
    return found;
  }

  override async loadRefreshToken(client: OAuthClientInformation, refreshToken: string) {
    const found = await super.loadRefreshToken(client, refreshToken);
    await this.paused();
    return found;
  }

  /** Resolves once `count` lookups have happened since the last call to {@link hold}. */
  looked(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.wake();
    });
  }

  /** Pauses lookups until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.pause = new Promise((resolve) => (release = resolve));
    this.lookups = 0;
    return () => {
      this.pause = undefined;
      release();
    };
  }

  private async paused(): Promise<void> {
    const pause = this.pause;
    this.lookups++;
    this.wake();
    if (pause) await pause;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.lookups >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

describe("/token: concurrent requests", () => {
  let racing: AuthServer<PausingProvider>;
  let client: RegisteredClient;
  beforeAll(async () => {
    racing = await startAuthServer((baseUrl, onError) => new PausingProvider({ ...DEFAULT_OPTIONS, baseUrl, onError }));
    client = await registerClient(racing);
  });
  afterAll(() => racing.close());

  it("redeems a code sent twice at once only once, answers the other invalid_grant, and revokes what was issued", async () => {
    const authorization = await authorizationCode(racing, client);
    const release = racing.provider.hold();
    const pending = [tokenRequest(racing, codeForm(client, authorization)), tokenRequest(racing, codeForm(client, authorization))];
    await racing.provider.looked(2);
    release();
    const responses = await Promise.all(pending);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 401]);
    const winner = (await responses.find((response) => response.status === 200)!.json()) as { access_token: string };
    await expectOAuthError(responses.find((response) => response.status === 401)!, 401, "invalid_grant");
    // Two redemptions of one code: whoever holds the winner's tokens may be the thief.
    expect(await mcpStatus(racing, winner.access_token)).toBe(401);
    expect(racing.errors).toEqual([]);
  });

  it("answers invalid_grant (not a server error) to a refresh whose grant is revoked meanwhile", async () => {
    const tokens = await tokensFor(racing, client);
    const release = racing.provider.hold();
    const pending = tokenRequest(racing, refreshForm(client, tokens.refresh_token!));
    await racing.provider.looked(1);
    const revoked = await postForm(racing, "/revoke", { token: tokens.access_token, client_id: client.client_id });
    expect(revoked.status).toBe(200);
    release();
    await expectOAuthError(await pending, 401, "invalid_grant");
    expect(racing.errors).toEqual([]);
  });

  it("answers two refreshes with one token at once with the same new tokens", async () => {
    const tokens = await tokensFor(racing, client);
    const release = racing.provider.hold();
    const pending = [tokenRequest(racing, refreshForm(client, tokens.refresh_token!)), tokenRequest(racing, refreshForm(client, tokens.refresh_token!))];
    await racing.provider.looked(2);
    release();
    const [first, second] = await Promise.all(pending.map(async (response) => expectTokens(await response)));
    expect(second).toEqual(first);
    expect(first!.refresh_token).not.toBe(tokens.refresh_token);
  });
});
