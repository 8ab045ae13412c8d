/**
 * HuggingFaceTokenVerifier against a stand-in of Hugging Face's `/oauth/userinfo`: what it
 * accepts and reads, its cache, and every way a token is refused without the verifier crashing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HuggingFaceTokenVerifier, type HuggingFaceTokenVerifierOptions } from "fastmcp-ts/auth/providers/huggingface-token-verifier";
import { HUGGINGFACE_APP, startFakeHuggingFace, type FakeHuggingFace } from "../../helpers/fake-huggingface.js";
import { errorSink, TestEndpoint, withoutAuthEnvironment, type Reply } from "../verifiers/helpers.js";

withoutAuthEnvironment();

const USERINFO = "/oauth/userinfo";

let hf: FakeHuggingFace;
beforeAll(async () => {
  hf = await startFakeHuggingFace({ public: true });
});
afterAll(async () => {
  await hf.close();
});
afterEach(() => {
  hf.upstream.broken.clear();
});

function verifier(options: Partial<HuggingFaceTokenVerifierOptions> = {}): HuggingFaceTokenVerifier {
  return new HuggingFaceTokenVerifier({ userinfoUrl: hf.endpoints.userinfo, clientId: HUGGINGFACE_APP.clientId, cacheTtlSeconds: 0, onError: () => undefined, ...options });
}

const calls = () => hf.upstream.requests.filter((request) => request.url.pathname === USERINFO).length;

describe("HuggingFaceTokenVerifier: an accepted token", () => {
  it("asks /oauth/userinfo with the token as a Bearer credential", async () => {
    const issued = hf.upstream.issue({ login: "julien", scopes: ["openid", "profile"] });
    await verifier().verifyToken(issued.token);
    const request = hf.upstream.requests.findLast((r) => r.url.pathname === USERINFO)!;
    expect(request.method).toBe("GET");
    expect(request.headers.authorization).toBe(`Bearer ${issued.token}`);
  });

  it("subject and claims are the userinfo's, Hugging Face's own fields (orgs) included; no scopes, as userinfo lists none", async () => {
    const token = await verifier().verifyToken(hf.upstream.issue({ login: "julien", scopes: ["openid", "profile"] }).token);
    expect(token).toMatchObject({ subject: hf.subjectOf("julien"), clientId: HUGGINGFACE_APP.clientId, scopes: [] });
    expect(token!.claims).toMatchObject({ sub: hf.subjectOf("julien"), name: "Julien Face", preferred_username: "julien", picture: expect.stringContaining("julien"), isPro: false });
    expect(token!.claims.orgs).toEqual([expect.objectContaining({ preferred_username: "example-org" })]);
    expect(token!.claims).not.toHaveProperty("email");
  });

  it("the email is a claim when the email scope was granted", async () => {
    const token = await verifier().verifyToken(hf.upstream.issue({ login: "julien", scopes: ["openid", "profile", "email"] }).token);
    expect(token!.claims).toMatchObject({ email: "julien@hf.example", email_verified: true });
  });

  it("the default endpoint is Hugging Face's; without a clientId the token's clientId is the user", async () => {
    expect(new HuggingFaceTokenVerifier().userinfoUrl.href).toBe("https://huggingface.co/oauth/userinfo");
    const token = await verifier({ clientId: undefined }).verifyToken(hf.upstream.issue({ login: "julien", scopes: ["openid"] }).token);
    expect(token!.clientId).toBe(hf.subjectOf("julien"));
  });

  it("an accepted token is remembered (cacheTtlSeconds, default 60): the second request costs no call", async () => {
    const issued = hf.upstream.issue({ login: "lysandre", scopes: ["openid"] });
    const uncached = verifier();
    const before = calls();
    await uncached.verifyToken(issued.token);
    await uncached.verifyToken(issued.token);
    expect(calls()).toBe(before + 2);
    const cached = verifier({ cacheTtlSeconds: undefined });
    await cached.verifyToken(issued.token);
    expect((await cached.verifyToken(issued.token))?.subject).toBe(hf.subjectOf("lysandre"));
    expect(calls()).toBe(before + 3);
  });
});

describe("HuggingFaceTokenVerifier: refusals", () => {
  it("unknown, expired and revoked tokens (the Hub's 401) are refused, silently", async () => {
    const sink = errorSink();
    const expired = hf.upstream.issue({ login: "julien", scopes: ["openid"], ttlSeconds: -1 });
    const revoked = hf.upstream.issue({ login: "julien", scopes: ["openid"] });
    revoked.revoked = true;
    for (const token of ["hf_oauth_unknown", expired.token, revoked.token]) expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("userinfo failing (HTTP 500) refuses the token and reports the endpoint, not the token", async () => {
    const sink = errorSink();
    hf.upstream.broken.set(USERINFO, "error");
    const issued = hf.upstream.issue({ login: "julien", scopes: ["openid"] });
    expect(await verifier({ onError: sink.onError }).verifyToken(issued.token)).toBeNull();
    expect(sink.messages()).toHaveLength(1);
    expect(sink.messages()[0]).toMatch(new RegExp(`^HuggingFaceTokenVerifier: ${hf.upstream.issuer}/oauth/userinfo could not verify a token`));
    expect(sink.messages()[0]).not.toContain(issued.token);
  });

  it("userinfo hanging refuses the token after timeoutSeconds, reported", async () => {
    const sink = errorSink();
    hf.upstream.broken.set(USERINFO, "hang");
    expect(await verifier({ timeoutSeconds: 0.3, onError: sink.onError }).verifyToken(hf.upstream.issue({ login: "julien", scopes: ["openid"] }).token)).toBeNull();
    expect(sink.messages().join()).toMatch(/timeout/i);
  });

  it.each(["", "x".repeat(5_000)])("a token no Hugging Face token looks like is refused without a call (%#)", async (token) => {
    const before = calls();
    expect(await verifier().verifyToken(token)).toBeNull();
    expect(calls()).toBe(before);
  });

  describe("answers that are not what Hugging Face sends", () => {
    let endpoint: TestEndpoint;
    beforeAll(async () => {
      endpoint = await TestEndpoint.start();
    });
    afterAll(async () => {
      await endpoint.close();
    });

    const answering = (reply: Reply, onError: (error: unknown) => void = () => undefined) => {
      endpoint.reply = () => reply;
      return new HuggingFaceTokenVerifier({ userinfoUrl: endpoint.url(USERINFO), onError });
    };

    it("scopes come from `scope` should userinfo ever list them", async () => {
      expect((await answering({ body: { sub: "u1", scope: "openid profile" } }).verifyToken("t"))?.scopes).toEqual(["openid", "profile"]);
    });

    it.each([
      ["no sub", { body: { name: "Julien" } }],
      ["not JSON", { body: "<html>oops</html>", headers: { "content-type": "text/html" } }],
    ])("%s → refused, reported as Hugging Face misbehaving", async (_case, reply) => {
      const sink = errorSink();
      expect(await answering(reply, sink.onError).verifyToken("t")).toBeNull();
      expect(sink.errors).toHaveLength(1);
    });
  });
});
