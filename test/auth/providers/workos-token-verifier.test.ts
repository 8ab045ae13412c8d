/**
 * WorkOSTokenVerifier against a stand-in of AuthKit's userinfo endpoint: what it accepts and
 * reads, and every way a token is refused without the verifier crashing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WorkOSTokenVerifier, type WorkOSTokenVerifierOptions } from "fastmcp-ts/auth/providers/workos-token-verifier";
import { startFakeWorkOS, type FakeWorkOS } from "../../helpers/fake-workos.js";
import { errorSink, TestEndpoint, withoutAuthEnvironment, type Reply } from "../verifiers/helpers.js";

withoutAuthEnvironment();

let workos: FakeWorkOS;
beforeAll(async () => {
  workos = await startFakeWorkOS();
});
afterAll(async () => {
  await workos.close();
});
afterEach(() => {
  workos.upstream.broken.clear();
});

function verifier(options: Partial<WorkOSTokenVerifierOptions> = {}): WorkOSTokenVerifier {
  return new WorkOSTokenVerifier({ authkitDomain: workos.domain, onError: () => undefined, ...options });
}

describe("WorkOSTokenVerifier: an accepted token", () => {
  it("asks <domain>/oauth2/userinfo with the token as a Bearer credential", async () => {
    const issued = workos.upstream.issue({ login: "leroy", scopes: ["openid", "email"] });
    await verifier().verifyToken(issued.token);
    const request = workos.upstream.requests.findLast((r) => r.url.pathname === "/oauth2/userinfo")!;
    expect(request.method).toBe("GET");
    expect(request.headers.authorization).toBe(`Bearer ${issued.token}`);
  });

  it("subject and claims are the userinfo's", async () => {
    const token = await verifier().verifyToken(workos.upstream.issue({ login: "leroy", scopes: ["openid", "email"] }).token);
    expect(token).toMatchObject({ subject: workos.subjectOf("leroy"), clientId: workos.subjectOf("leroy"), scopes: [] });
    expect(token!.claims).toEqual({ sub: workos.subjectOf("leroy"), email: "leroy@acme.example", email_verified: true });
  });

  it("puts https:// before a bare domain", () => {
    expect(new WorkOSTokenVerifier({ authkitDomain: "acme.authkit.app/" }).userinfoUrl.href).toBe("https://acme.authkit.app/oauth2/userinfo");
  });
});

describe("WorkOSTokenVerifier: refusals", () => {
  it("a token WorkOS does not know (401) is refused, silently", async () => {
    const sink = errorSink();
    const expired = workos.upstream.issue({ login: "leroy", scopes: ["openid"], ttlSeconds: -1 });
    for (const token of ["unknown-token", expired.token]) expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("userinfo failing (HTTP 500) refuses the token and reports the endpoint, not the token", async () => {
    const sink = errorSink();
    workos.upstream.broken.set("/oauth2/userinfo", "error");
    const issued = workos.upstream.issue({ login: "leroy", scopes: ["openid"] });
    expect(await verifier({ onError: sink.onError }).verifyToken(issued.token)).toBeNull();
    expect(sink.messages()).toHaveLength(1);
    expect(sink.messages()[0]).toMatch(new RegExp(`^WorkOSTokenVerifier: ${workos.domain}/oauth2/userinfo could not verify a token`));
    expect(sink.messages()[0]).not.toContain(issued.token);
  });

  it("userinfo hanging refuses the token after timeoutSeconds, reported", async () => {
    const sink = errorSink();
    workos.upstream.broken.set("/oauth2/userinfo", "hang");
    const started = Date.now();
    expect(await verifier({ timeoutSeconds: 0.3, onError: sink.onError }).verifyToken(workos.upstream.issue({ login: "leroy", scopes: ["openid"] }).token)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sink.messages().join()).toMatch(/timeout/i);
  });

  it.each(["", "x".repeat(20_000)])("a token no WorkOS token looks like is refused without a call (%#)", async (token) => {
    const before = workos.upstream.requests.length;
    expect(await verifier().verifyToken(token)).toBeNull();
    expect(workos.upstream.requests.length).toBe(before);
  });

  describe("answers that are not what WorkOS sends", () => {
    let endpoint: TestEndpoint;
    beforeAll(async () => {
      endpoint = await TestEndpoint.start();
    });
    afterAll(async () => {
      await endpoint.close();
    });

    const answering = (reply: Reply, onError: (error: unknown) => void = () => undefined) => {
      endpoint.reply = () => reply;
      return new WorkOSTokenVerifier({ authkitDomain: endpoint.origin, onError });
    };

    it("scopes come from `scope` or `scopes` when userinfo lists them", async () => {
      expect((await answering({ body: { sub: "user_1", scope: "openid email" } }).verifyToken("t"))?.scopes).toEqual(["openid", "email"]);
      expect((await answering({ body: { sub: "user_1", scopes: ["openid", "profile"] } }).verifyToken("t"))?.scopes).toEqual(["openid", "profile"]);
    });

    it.each([
      ["no sub", { body: { email: "leroy@acme.example" } }],
      ["an empty sub", { body: { sub: "" } }],
      ["not JSON", { body: "<html>oops</html>", headers: { "content-type": "text/html" } }],
    ])("%s → refused, reported as WorkOS misbehaving", async (_case, reply) => {
      const sink = errorSink();
      expect(await answering(reply, sink.onError).verifyToken("t")).toBeNull();
      expect(sink.errors).toHaveLength(1);
    });

    it("a 403 refuses the token silently", async () => {
      const sink = errorSink();
      expect(await answering({ status: 403, body: { error: "insufficient_scope" } }, sink.onError).verifyToken("t")).toBeNull();
      expect(sink.errors).toEqual([]);
    });
  });
});
