/**
 * GoogleTokenVerifier against a stand-in of Google's tokeninfo and userinfo endpoints: what it
 * accepts and reads from them, and every way a token is refused without the verifier crashing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { GoogleTokenVerifier, type GoogleTokenVerifierOptions } from "fastmcp-ts/auth/providers/google-token-verifier";
import { GOOGLE_APP, startFakeGoogle, type FakeGoogle } from "../../helpers/fake-google.js";
import { errorSink, nowSeconds, TestEndpoint, withoutAuthEnvironment, type Reply } from "../verifiers/helpers.js";

withoutAuthEnvironment();

const EMAIL = "https://www.googleapis.com/auth/userinfo.email";
const DRIVE = "https://www.googleapis.com/auth/drive.readonly";

let google: FakeGoogle;
beforeAll(async () => {
  google = await startFakeGoogle();
});
afterAll(async () => {
  await google.close();
});
afterEach(() => {
  google.upstream.broken.clear();
});

function verifier(options: Partial<GoogleTokenVerifierOptions> = {}): GoogleTokenVerifier {
  return new GoogleTokenVerifier({ clientId: GOOGLE_APP.clientId, tokeninfoUrl: google.endpoints.tokeninfo, userinfoUrl: google.endpoints.userinfo, onError: () => undefined, ...options });
}

const calls = (path: string) => google.upstream.requests.filter((request) => request.url.pathname === path).length;

describe("GoogleTokenVerifier: an accepted token", () => {
  it("asks tokeninfo with the token as the access_token query parameter", async () => {
    const issued = google.upstream.issue({ login: "alice", scopes: ["openid", "email"] });
    await verifier().verifyToken(issued.token);
    const request = google.upstream.requests.findLast((r) => r.url.pathname === "/tokeninfo")!;
    expect(request.method).toBe("GET");
    expect(request.url.searchParams.get("access_token")).toBe(issued.token);
  });

  it("subject from sub, scopes under their short names, expiry from expires_in, claims with Google's strings parsed", async () => {
    const issued = google.upstream.issue({ login: "alice", scopes: ["openid", "email"], ttlSeconds: 1800 });
    const token = await verifier().verifyToken(issued.token);
    expect(token).toMatchObject({ token: issued.token, clientId: GOOGLE_APP.clientId, subject: google.subjectOf("alice"), scopes: ["openid", "email"] });
    expect(token!.expiresAt).toBeGreaterThanOrEqual(nowSeconds() + 1798);
    expect(token!.expiresAt).toBeLessThanOrEqual(nowSeconds() + 1800);
    expect(token!.claims).toMatchObject({ sub: google.subjectOf("alice"), aud: GOOGLE_APP.clientId, azp: GOOGLE_APP.clientId, email: "alice@gmail.example", email_verified: true, exp: issued.expiresAt });
    expect(token!.claims).not.toHaveProperty("expires_in");
  });

  it("adds the userinfo profile to a token with the profile scope, and only then", async () => {
    const before = calls("/v1/userinfo");
    const plain = await verifier().verifyToken(google.upstream.issue({ login: "bob", scopes: ["openid", "email"] }).token);
    expect(calls("/v1/userinfo")).toBe(before);
    expect(plain!.claims).not.toHaveProperty("name");
    const withProfile = await verifier().verifyToken(google.upstream.issue({ login: "bob", scopes: ["openid", "profile"] }).token);
    expect(withProfile!.scopes).toEqual(["openid", "profile"]);
    expect(withProfile!.claims).toMatchObject({ name: "Bob Example", given_name: "Bob", picture: "https://lh3.googleusercontent.example/a/bob" });
  });

  it("a profile Google cannot serve leaves the token accepted, without the profile, and is reported", async () => {
    const sink = errorSink();
    google.upstream.broken.set("/v1/userinfo", "error");
    const token = await verifier({ onError: sink.onError }).verifyToken(google.upstream.issue({ login: "carol", scopes: ["openid", "profile"] }).token);
    expect(token?.subject).toBe(google.subjectOf("carol"));
    expect(token!.claims).not.toHaveProperty("name");
    expect(sink.messages().join("\n")).toMatch(/\/v1\/userinfo could not verify a token/);
  });

  it("no answer is remembered by default; with cacheTtlSeconds the second request costs no call", async () => {
    const issued = google.upstream.issue({ login: "dave", scopes: ["openid"] });
    const uncached = verifier();
    const before = calls("/tokeninfo");
    await uncached.verifyToken(issued.token);
    await uncached.verifyToken(issued.token);
    expect(calls("/tokeninfo")).toBe(before + 2);
    const cached = verifier({ cacheTtlSeconds: 60 });
    await cached.verifyToken(issued.token);
    expect((await cached.verifyToken(issued.token))?.subject).toBe(google.subjectOf("dave"));
    expect(calls("/tokeninfo")).toBe(before + 3);
  });
});

describe("GoogleTokenVerifier: refusals", () => {
  it("a token issued to another Google app (aud) is refused, silently", async () => {
    const sink = errorSink();
    const foreign = google.upstream.issue({ login: "alice", scopes: ["openid", "email"], clientId: "999-other.apps.googleusercontent.com" });
    expect(await verifier({ onError: sink.onError }).verifyToken(foreign.token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("a token that names no user (no identity scope: tokeninfo has no sub) is refused", async () => {
    const anonymous = google.upstream.issue({ login: "alice", scopes: [DRIVE] });
    expect(await verifier().verifyToken(anonymous.token)).toBeNull();
  });

  it("unknown, expired and revoked tokens (tokeninfo 400 invalid_token) are refused, silently", async () => {
    const sink = errorSink();
    const expired = google.upstream.issue({ login: "alice", scopes: ["openid"], ttlSeconds: -10 });
    const revoked = google.upstream.issue({ login: "alice", scopes: ["openid"] });
    revoked.revoked = true;
    for (const token of ["ya29.unknown", expired.token, revoked.token]) expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it.each(["", "x".repeat(5000)])("a token no Google token looks like is refused without a call (%#)", async (token) => {
    const before = calls("/tokeninfo");
    expect(await verifier().verifyToken(token)).toBeNull();
    expect(calls("/tokeninfo")).toBe(before);
  });

  it("tokeninfo failing (HTTP 500) refuses the token and reports the endpoint, not the token", async () => {
    const sink = errorSink();
    google.upstream.broken.set("/tokeninfo", "error");
    const issued = google.upstream.issue({ login: "alice", scopes: ["openid"] });
    expect(await verifier({ onError: sink.onError }).verifyToken(issued.token)).toBeNull();
    expect(sink.messages()).toEqual([`GoogleTokenVerifier: ${google.endpoints.tokeninfo} could not verify a token: it answered HTTP 500`]);
    expect(sink.messages().join()).not.toContain(issued.token);
  });

  it("tokeninfo hanging refuses the token after timeoutSeconds, reported", async () => {
    const sink = errorSink();
    google.upstream.broken.set("/tokeninfo", "hang");
    const started = Date.now();
    expect(await verifier({ timeoutSeconds: 0.3, onError: sink.onError }).verifyToken(google.upstream.issue({ login: "alice", scopes: ["openid"] }).token)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sink.messages().join()).toMatch(/tokeninfo could not verify a token: .*timeout/i);
  });

  it("tokeninfo unreachable refuses the token, reported", async () => {
    const sink = errorSink();
    const endpoint = await TestEndpoint.start();
    await endpoint.close();
    expect(await verifier({ tokeninfoUrl: endpoint.url("/tokeninfo"), onError: sink.onError }).verifyToken("ya29.token")).toBeNull();
    expect(sink.errors).toHaveLength(1);
  });

  describe("answers that are not what Google sends", () => {
    let endpoint: TestEndpoint;
    beforeAll(async () => {
      endpoint = await TestEndpoint.start();
    });
    afterAll(async () => {
      await endpoint.close();
    });

    const answering = (reply: Reply) => {
      endpoint.reply = () => reply;
      return verifier({ tokeninfoUrl: endpoint.url("/tokeninfo"), userinfoUrl: null });
    };
    const info = (fields: Record<string, unknown>) => ({ body: { azp: GOOGLE_APP.clientId, aud: GOOGLE_APP.clientId, sub: "1001", scope: `openid ${EMAIL}`, expires_in: "3599", ...fields } });

    it("the expected answer is accepted (control)", async () => {
      expect((await answering(info({})).verifyToken("ya29.t"))?.scopes).toEqual(["openid", "email"]);
    });

    it.each([
      ["aud missing", info({ aud: undefined })],
      ["aud another app", info({ aud: "other.apps.googleusercontent.com" })],
      ["sub empty", info({ sub: "" })],
      ["sub not a string", info({ sub: 1001 })],
      ["expires_in 0", info({ expires_in: "0" })],
      ["expires_in negative", info({ expires_in: -5 })],
    ])("%s → refused", async (_case, reply) => {
      expect(await answering(reply).verifyToken("ya29.t")).toBeNull();
    });

    it.each([
      ["a JSON array", { body: [] }],
      ["not JSON", { body: "<html>sorry</html>", headers: { "content-type": "text/html" } }],
      ["a redirect", { status: 302, headers: { location: "https://elsewhere.example/" } }],
    ])("%s → refused and reported", async (_case, reply) => {
      const sink = errorSink();
      endpoint.reply = () => reply;
      expect(await verifier({ tokeninfoUrl: endpoint.url("/tokeninfo"), userinfoUrl: null, onError: sink.onError }).verifyToken("ya29.t")).toBeNull();
      expect(sink.errors).toHaveLength(1);
    });
  });
});

describe("GoogleTokenVerifier: configuration", () => {
  it("needs the client id", () => {
    expect(() => new GoogleTokenVerifier({} as GoogleTokenVerifierOptions)).toThrow(AuthConfigurationError);
  });

  it("refuses plain http off loopback unless allowed", () => {
    expect(() => verifier({ tokeninfoUrl: "http://google.internal/tokeninfo" })).toThrow(/tokeninfoUrl must use https/);
    expect(() => verifier({ tokeninfoUrl: "http://google.internal/tokeninfo", allowInsecureHttp: true })).not.toThrow();
  });
});
