/**
 * ClerkTokenVerifier against a stand-in of Clerk's introspection (`/oauth/token_info`) and
 * userinfo endpoints: what it sends and accepts, and every way a token is refused without the
 * verifier crashing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { ClerkTokenVerifier, type ClerkTokenVerifierOptions } from "fastmcp-ts/auth/providers/clerk-token-verifier";
import { CLERK_APP, startFakeClerk, type FakeClerk } from "../../helpers/fake-clerk.js";
import { errorSink, nowSeconds, TestEndpoint, withoutAuthEnvironment, type Reply } from "../verifiers/helpers.js";

withoutAuthEnvironment();

let clerk: FakeClerk;
beforeAll(async () => {
  clerk = await startFakeClerk();
});
afterAll(async () => {
  await clerk.close();
});
afterEach(() => {
  clerk.upstream.broken.clear();
});

function verifier(options: Partial<ClerkTokenVerifierOptions> = {}): ClerkTokenVerifier {
  return new ClerkTokenVerifier({ domain: clerk.domain, ...CLERK_APP, onError: () => undefined, ...options });
}

const lastRequest = (path: string) => clerk.upstream.requests.findLast((request) => request.url.pathname === path)!;

describe("ClerkTokenVerifier: an accepted token", () => {
  it("POSTs the token to <domain>/oauth/token_info, authenticated with HTTP Basic", async () => {
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid", "email"] });
    await verifier().verifyToken(issued.token);
    const request = lastRequest("/oauth/token_info");
    expect(request.method).toBe("POST");
    const [id, secret] = Buffer.from(request.headers.authorization!.replace(/^Basic /, ""), "base64").toString().split(":").map(decodeURIComponent);
    expect([id, secret]).toEqual([CLERK_APP.clientId, CLERK_APP.clientSecret]);
    expect(Object.fromEntries(request.form)).toEqual({ token: issued.token, token_type_hint: "access_token" });
  });

  it("without a secret (a public application), the client id goes in the form", async () => {
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid"] });
    expect((await verifier({ clientSecret: undefined }).verifyToken(issued.token))?.subject).toBe(clerk.subjectOf("sam"));
    const request = lastRequest("/oauth/token_info");
    expect(request.headers.authorization).toBeUndefined();
    expect(request.form.get("client_id")).toBe(CLERK_APP.clientId);
  });

  it("subject, scopes and expiry from token_info; the userinfo profile in the claims", async () => {
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid", "email", "profile"] });
    const token = await verifier().verifyToken(issued.token);
    expect(token).toMatchObject({ subject: clerk.subjectOf("sam"), clientId: CLERK_APP.clientId, scopes: ["openid", "email", "profile"], expiresAt: issued.expiresAt });
    expect(token!.claims).toMatchObject({
      active: true,
      client_id: CLERK_APP.clientId,
      sub: clerk.subjectOf("sam"),
      email: "sam@clerk.example",
      email_verified: true,
      name: "Sam Primate",
      picture: "https://img.clerk.example/sam.png",
      object: "user_info",
    });
    expect(lastRequest("/oauth/userinfo").headers.authorization).toBe(`Bearer ${issued.token}`);
  });

  it("required scopes the token has pass", async () => {
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid", "email", "profile"] });
    expect(await verifier({ requiredScopes: ["email", "profile"] }).verifyToken(issued.token)).not.toBeNull();
  });

  it("a profile Clerk cannot serve leaves the token accepted, without the profile, and is reported", async () => {
    const sink = errorSink();
    clerk.upstream.broken.set("/oauth/userinfo", "error");
    const token = await verifier({ onError: sink.onError }).verifyToken(clerk.upstream.issue({ login: "sam", scopes: ["openid", "profile"] }).token);
    expect(token?.subject).toBe(clerk.subjectOf("sam"));
    expect(token!.claims).not.toHaveProperty("name");
    expect(sink.messages().join()).toMatch(/\/oauth\/userinfo could not verify a token/);
  });
});

describe("ClerkTokenVerifier: refusals", () => {
  it("inactive tokens (unknown, expired, revoked) are refused, silently, without reading the profile", async () => {
    const sink = errorSink();
    const expired = clerk.upstream.issue({ login: "sam", scopes: ["openid"], ttlSeconds: -1 });
    const revoked = clerk.upstream.issue({ login: "sam", scopes: ["openid"] });
    revoked.revoked = true;
    const profiles = clerk.upstream.requests.filter((r) => r.url.pathname === "/oauth/userinfo").length;
    for (const token of ["oat_unknown", expired.token, revoked.token]) expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.errors).toEqual([]);
    expect(clerk.upstream.requests.filter((r) => r.url.pathname === "/oauth/userinfo").length).toBe(profiles);
  });

  it("a token issued to another Clerk application is refused", async () => {
    const foreign = clerk.upstream.issue({ login: "sam", scopes: ["openid"], clientId: "another-app" });
    expect(await verifier().verifyToken(foreign.token)).toBeNull();
  });

  it("a token without a required scope is refused", async () => {
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid", "email"] });
    expect(await verifier({ requiredScopes: ["profile"] }).verifyToken(issued.token)).toBeNull();
  });

  it("credentials Clerk refuses (401 invalid_client) refuse the token and are reported, without the secret", async () => {
    const sink = errorSink();
    const issued = clerk.upstream.issue({ login: "sam", scopes: ["openid"] });
    expect(await verifier({ clientSecret: "wrong-secret-value", onError: sink.onError }).verifyToken(issued.token)).toBeNull();
    expect(sink.messages()).toHaveLength(1);
    expect(sink.messages()[0]).toMatch(/^ClerkTokenVerifier: .*\/oauth\/token_info could not verify a token/);
    expect(sink.messages()[0]).not.toMatch(/wrong-secret-value|oat_/);
  });

  it("token_info failing (HTTP 500) refuses the token, reported", async () => {
    const sink = errorSink();
    clerk.upstream.broken.set("/oauth/token_info", "error");
    expect(await verifier({ onError: sink.onError }).verifyToken(clerk.upstream.issue({ login: "sam", scopes: ["openid"] }).token)).toBeNull();
    expect(sink.errors).toHaveLength(1);
  });

  it("token_info hanging refuses the token after timeoutSeconds, reported", async () => {
    const sink = errorSink();
    clerk.upstream.broken.set("/oauth/token_info", "hang");
    const started = Date.now();
    expect(await verifier({ timeoutSeconds: 0.3, onError: sink.onError }).verifyToken(clerk.upstream.issue({ login: "sam", scopes: ["openid"] }).token)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sink.messages().join()).toMatch(/timeout/i);
  });

  describe("answers that are not what Clerk sends", () => {
    let endpoint: TestEndpoint;
    beforeAll(async () => {
      endpoint = await TestEndpoint.start();
    });
    afterAll(async () => {
      await endpoint.close();
    });

    const answering = (tokenInfo: Reply, onError: (error: unknown) => void = () => undefined) => {
      endpoint.reply = (request) => (request.path === "/oauth/token_info" ? tokenInfo : { status: 404 });
      return new ClerkTokenVerifier({ domain: endpoint.origin, ...CLERK_APP, onError });
    };
    const active = (fields: Record<string, unknown>): Reply => ({ body: { active: true, client_id: CLERK_APP.clientId, sub: "user_2abc", scope: "openid email", exp: nowSeconds() + 600, ...fields } });

    it.each([
      ["aud naming this application, client_id another", active({ aud: CLERK_APP.clientId, client_id: "other" })],
      ["aud a list with this application", active({ aud: ["other", CLERK_APP.clientId] })],
    ])("%s → accepted", async (_case, reply) => {
      expect((await answering(reply).verifyToken("oat_t"))?.subject).toBe("user_2abc");
    });

    it.each([
      ["aud naming another application", active({ aud: "other", client_id: CLERK_APP.clientId })],
      ["neither aud nor client_id", active({ client_id: undefined })],
      ["no sub", active({ sub: undefined })],
      ["an empty sub", active({ sub: "" })],
      ["active but past exp", active({ exp: nowSeconds() - 5 })],
      ["active: \"true\" (a string)", active({ active: "true" })],
    ])("%s → refused", async (_case, reply) => {
      expect(await answering(reply).verifyToken("oat_t")).toBeNull();
    });

    it("no active field → refused, reported as Clerk misbehaving", async () => {
      const sink = errorSink();
      expect(await answering({ body: { client_id: CLERK_APP.clientId, sub: "user_2abc" } }, sink.onError).verifyToken("oat_t")).toBeNull();
      expect(sink.errors).toHaveLength(1);
    });
  });
});

describe("ClerkTokenVerifier: configuration", () => {
  it("puts https:// before a bare domain", () => {
    const built = new ClerkTokenVerifier({ domain: "your-app-12.clerk.accounts.dev", clientId: CLERK_APP.clientId });
    expect(built.tokenInfoUrl.href).toBe("https://your-app-12.clerk.accounts.dev/oauth/token_info");
    expect(built.userinfoUrl.href).toBe("https://your-app-12.clerk.accounts.dev/oauth/userinfo");
  });

  it("needs the client id", () => {
    expect(() => new ClerkTokenVerifier({ domain: "clerk.example.com" } as ClerkTokenVerifierOptions)).toThrow(AuthConfigurationError);
  });
});
