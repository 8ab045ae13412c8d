/**
 * GitHubTokenVerifier against a stand-in of GitHub's `GET /user`: the request GitHub requires,
 * the claims and scopes read from the answer and its headers, the cache, and every way a token is
 * refused or GitHub fails without the verifier crashing or leaking the token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GitHubTokenVerifier, type GitHubTokenVerifierOptions } from "fastmcp-ts/auth/providers/github-token-verifier";
import { FakeGitHub } from "../../helpers/fake-github.js";
import { closedPort } from "../../helpers/ports.js";
import { errorSink, nowSeconds, TestEndpoint, withoutAuthEnvironment } from "../verifiers/helpers.js";

withoutAuthEnvironment();

let github: FakeGitHub;
let app: FakeGitHub;
beforeAll(async () => {
  [github, app] = await Promise.all([FakeGitHub.start(), FakeGitHub.start({ kind: "github-app", accessTokenTtlSeconds: 1 })]);
});
afterAll(async () => {
  await Promise.all([github?.close(), app?.close()]);
});
afterEach(() => {
  github.userBreakage = undefined;
});

function verifier(options: Partial<GitHubTokenVerifierOptions> = {}, on = github): GitHubTokenVerifier {
  return new GitHubTokenVerifier({ apiUrl: on.apiUrl, onError: () => undefined, ...options });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("GitHubTokenVerifier: an accepted token", () => {
  it("asks GET /user with the token as a Bearer credential and the headers GitHub's API requires", async () => {
    const token = github.issue("alice", ["read:user"]);
    await verifier().verifyToken(token);
    await verifier({ userAgent: "my-server/1.0" }).verifyToken(token);
    const [first, second] = github.userRequests.slice(-2);
    expect(first).toMatchObject({ authorization: `Bearer ${token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "fastmcp-ts" });
    expect(second!["user-agent"]).toBe("my-server/1.0");
  });

  it("subject and sub are the numeric id as a string; login, name, email and avatar_url are claims", async () => {
    const token = await verifier().verifyToken(github.issue("alice", ["read:user"]));
    const id = String(github.idOf("alice"));
    expect(token).toMatchObject({ subject: id, clientId: id });
    expect(token!.claims).toEqual({
      sub: id,
      login: "alice",
      name: "Alice Octocat",
      email: "alice@users.example",
      avatar_url: `https://avatars.githubusercontent.example/u/${id}?v=4`,
    });
  });

  it("a user who keeps name and email private has them null", async () => {
    const token = await verifier().verifyToken(github.issue("bob"));
    expect(token!.claims).toMatchObject({ login: "bob", name: null, email: null });
  });

  it("scopes come from X-OAuth-Scopes, comma-separated; an OAuth App token has no expiry", async () => {
    const token = await verifier().verifyToken(github.issue("alice", ["read:user", "user:email", "repo"]));
    expect(token!.scopes).toEqual(["read:user", "user:email", "repo"]);
    expect(token!.expiresAt).toBeUndefined();
    expect((await verifier().verifyToken(github.issue("alice", [])))!.scopes).toEqual([]);
  });

  it("a GitHub App user token (no X-OAuth-Scopes) has no scopes, and the expiry GitHub states", async () => {
    const token = await verifier({}, app).verifyToken(app.issue("carol", ["read:user"], 3600));
    expect(app.userRequests.length).toBeGreaterThan(0);
    expect(token).toMatchObject({ subject: String(app.idOf("carol")), scopes: [] });
    expect(token!.expiresAt).toBeGreaterThanOrEqual(nowSeconds() + 3598);
    expect(token!.expiresAt).toBeLessThanOrEqual(nowSeconds() + 3600);
  });
});

describe("GitHubTokenVerifier: the cache", () => {
  it("a second request with the same token costs no call to GitHub", async () => {
    const token = github.issue("dave", ["read:user"]);
    const cached = verifier();
    const before = github.userRequests.length;
    const first = await cached.verifyToken(token);
    const second = await cached.verifyToken(token);
    expect(second).toBe(first);
    expect(github.userRequests.length).toBe(before + 1);
  });

  it("an entry lasts cacheTtlSeconds, then GitHub is asked again (and a revoked token is then refused)", async () => {
    const token = github.issue("dave", ["read:user"]);
    const cached = verifier({ cacheTtlSeconds: 0.2 });
    await cached.verifyToken(token);
    github.revoke(token);
    expect((await cached.verifyToken(token))?.subject).toBe(String(github.idOf("dave")));
    await sleep(250);
    const before = github.userRequests.length;
    expect(await cached.verifyToken(token)).toBeNull();
    expect(github.userRequests.length).toBe(before + 1);
  });

  it("an entry never outlives the token's own expiry", async () => {
    // GitHub states the expiry to the second: 2 s leave at least one.
    const token = app.issue("erin", [], 2);
    const cached = verifier({ cacheTtlSeconds: 60 }, app);
    expect(await cached.verifyToken(token)).not.toBeNull();
    await sleep(2_100);
    expect(await cached.verifyToken(token)).toBeNull();
  });

  it("holds at most maxCacheSize tokens, the least recently used leaving first", async () => {
    const cached = verifier({ maxCacheSize: 1 });
    const [a, b] = [github.issue("frank"), github.issue("grace")];
    const before = github.userRequests.length;
    await cached.verifyToken(a);
    await cached.verifyToken(b);
    await cached.verifyToken(a);
    expect(github.userRequests.length).toBe(before + 3);
  });

  it("cacheTtlSeconds 0 asks GitHub every time", async () => {
    const token = github.issue("heidi");
    const uncached = verifier({ cacheTtlSeconds: 0 });
    const before = github.userRequests.length;
    await uncached.verifyToken(token);
    await uncached.verifyToken(token);
    expect(github.userRequests.length).toBe(before + 2);
  });

  it("a refusal is not remembered", async () => {
    const cached = verifier();
    const token = github.issue("ivan");
    github.revoke(token);
    const before = github.userRequests.length;
    expect(await cached.verifyToken(token)).toBeNull();
    expect(await cached.verifyToken(token)).toBeNull();
    expect(github.userRequests.length).toBe(before + 2);
  });
});

describe("GitHubTokenVerifier: refusals and failures", () => {
  it("a revoked, expired or unknown token (401 Bad credentials) is refused, and nothing is reported", async () => {
    const sink = errorSink();
    const revoked = github.issue("judy");
    github.revoke(revoked);
    const expired = app.issue("judy", [], 1);
    await sleep(1_100);
    expect(await verifier({ onError: sink.onError }).verifyToken(revoked)).toBeNull();
    expect(await verifier({ onError: sink.onError }, app).verifyToken(expired)).toBeNull();
    expect(await verifier({ onError: sink.onError }).verifyToken("gho_unknown0000000000000000000000000000")).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("an empty or absurdly long token is refused without asking GitHub", async () => {
    const before = github.userRequests.length;
    expect(await verifier().verifyToken("")).toBeNull();
    expect(await verifier().verifyToken("x".repeat(5_000))).toBeNull();
    expect(github.userRequests.length).toBe(before);
  });

  it("a 5xx is reported (what failed, never the token) and refuses the request", async () => {
    const sink = errorSink();
    const token = github.issue("ken");
    github.userBreakage = "error";
    expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.messages()).toEqual([expect.stringMatching(/GitHubTokenVerifier: http:\/\/127\.0\.0\.1:\d+\/api\/v3\/user could not verify a token: it answered HTTP 500/)]);
    expect(sink.messages().join("\n")).not.toContain(token);
  });

  it("a spent rate limit is reported as GitHub failing, not as a refused token, and is not cached", async () => {
    const sink = errorSink();
    const token = github.issue("ken");
    const cached = verifier({ onError: sink.onError });
    github.userBreakage = "rate-limited";
    expect(await cached.verifyToken(token)).toBeNull();
    expect(sink.messages().join("\n")).toMatch(/HTTP 403 \(rate limit exceeded\)/);
    github.userBreakage = undefined;
    expect((await cached.verifyToken(token))?.subject).toBe(String(github.idOf("ken")));
  });

  it("an unreachable GitHub is reported", async () => {
    const sink = errorSink();
    const port = await closedPort();
    expect(await new GitHubTokenVerifier({ apiUrl: `http://127.0.0.1:${port}/api/v3`, onError: sink.onError }).verifyToken("gho_any")).toBeNull();
    expect(sink.messages()).toEqual([expect.stringMatching(/could not verify a token/)]);
  });

  it("an answer without a numeric id and login is reported, not accepted", async () => {
    const endpoint = await TestEndpoint.start();
    try {
      const sink = errorSink();
      endpoint.reply = () => ({ status: 200, body: { login: "mallory", id: "not-a-number" } });
      expect(await new GitHubTokenVerifier({ apiUrl: endpoint.url("/api/v3"), onError: sink.onError }).verifyToken("gho_any")).toBeNull();
      endpoint.reply = () => ({ status: 200, headers: { "content-type": "text/html" }, body: "<html>maintenance</html>" });
      expect(await new GitHubTokenVerifier({ apiUrl: endpoint.url("/api/v3"), onError: sink.onError }).verifyToken("gho_any")).toBeNull();
      expect(sink.messages()).toEqual([expect.stringMatching(/no numeric id and login/), expect.stringMatching(/could not verify a token/)]);
    } finally {
      await endpoint.close();
    }
  });

  it("a timeout is reported", async () => {
    const endpoint = await TestEndpoint.start();
    try {
      const sink = errorSink();
      endpoint.reply = () => ({ hang: true });
      expect(await new GitHubTokenVerifier({ apiUrl: endpoint.url("/api/v3"), timeoutSeconds: 0.2, onError: sink.onError }).verifyToken("gho_any")).toBeNull();
      expect(sink.messages()).toEqual([expect.stringMatching(/could not verify a token/)]);
    } finally {
      await endpoint.close();
    }
  });
});

describe("GitHubTokenVerifier: configuration", () => {
  it("asks api.github.com by default, and refuses a plain-http API off loopback", () => {
    expect(new GitHubTokenVerifier().userUrl.href).toBe("https://api.github.com/user");
    expect(new GitHubTokenVerifier({ apiUrl: "https://github.example.com/api/v3/" }).userUrl.href).toBe("https://github.example.com/api/v3/user");
    expect(() => new GitHubTokenVerifier({ apiUrl: "http://github.internal/api/v3" })).toThrow(/apiUrl must use https/);
  });
});
