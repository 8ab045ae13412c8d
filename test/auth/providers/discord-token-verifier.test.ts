/**
 * DiscordTokenVerifier against a stand-in of Discord's `/api/oauth2/@me`: what it accepts and
 * reads, the application pinning, and every way a token is refused without the verifier crashing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthConfigurationError } from "fastmcp-ts/auth";
import { DiscordTokenVerifier, type DiscordTokenVerifierOptions } from "fastmcp-ts/auth/providers/discord-token-verifier";
import { DISCORD_APP, startFakeDiscord, type FakeDiscord } from "../../helpers/fake-discord.js";
import { errorSink, nowSeconds, TestEndpoint, withoutAuthEnvironment, type Reply } from "../verifiers/helpers.js";

withoutAuthEnvironment();

const ME = "/api/oauth2/@me";

let discord: FakeDiscord;
beforeAll(async () => {
  discord = await startFakeDiscord();
});
afterAll(async () => {
  await discord.close();
});
afterEach(() => {
  discord.upstream.broken.clear();
});

function verifier(options: Partial<DiscordTokenVerifierOptions> = {}): DiscordTokenVerifier {
  return new DiscordTokenVerifier({ expectedClientId: DISCORD_APP.clientId, currentAuthorizationUrl: discord.endpoints.currentAuthorization, cacheTtlSeconds: 0, onError: () => undefined, ...options });
}

const calls = () => discord.upstream.requests.filter((request) => request.url.pathname === ME).length;

describe("DiscordTokenVerifier: an accepted token", () => {
  it("asks /api/oauth2/@me with the token as a Bearer credential", async () => {
    const issued = discord.upstream.issue({ login: "wumpus", scopes: ["identify"] });
    await verifier().verifyToken(issued.token);
    const request = discord.upstream.requests.findLast((r) => r.url.pathname === ME)!;
    expect(request.method).toBe("GET");
    expect(request.headers.authorization).toBe(`Bearer ${issued.token}`);
  });

  it("subject is the user id, scopes and expiry Discord's, claims the user's profile", async () => {
    const issued = discord.upstream.issue({ login: "wumpus", scopes: ["identify", "guilds"], ttlSeconds: 1800 });
    const token = await verifier().verifyToken(issued.token);
    expect(token).toMatchObject({ token: issued.token, clientId: DISCORD_APP.clientId, subject: discord.subjectOf("wumpus"), scopes: ["identify", "guilds"], expiresAt: issued.expiresAt });
    expect(token!.claims).toEqual({
      sub: discord.subjectOf("wumpus"),
      username: "wumpus",
      global_name: "Wumpus",
      discriminator: "0",
      avatar: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it("the default endpoint is Discord's, and an application id is required", () => {
    expect(new DiscordTokenVerifier({ expectedClientId: "1" }).currentAuthorizationUrl.href).toBe("https://discord.com/api/oauth2/@me");
    expect(() => new DiscordTokenVerifier({ expectedClientId: "" })).toThrow(AuthConfigurationError);
  });

  it("an accepted token is remembered (cacheTtlSeconds, default 60): the second request costs no call", async () => {
    const issued = discord.upstream.issue({ login: "clyde", scopes: ["identify"] });
    const uncached = verifier();
    const before = calls();
    await uncached.verifyToken(issued.token);
    await uncached.verifyToken(issued.token);
    expect(calls()).toBe(before + 2);
    const cached = verifier({ cacheTtlSeconds: undefined });
    await cached.verifyToken(issued.token);
    expect((await cached.verifyToken(issued.token))?.subject).toBe(discord.subjectOf("clyde"));
    expect(calls()).toBe(before + 3);
  });

  it("the cache never outlives the token: an entry past Discord's expiry is asked again", async () => {
    const issued = discord.upstream.issue({ login: "clyde", scopes: ["identify"], ttlSeconds: 1 });
    const cached = verifier({ cacheTtlSeconds: 600 });
    expect(await cached.verifyToken(issued.token)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const before = calls();
    expect(await cached.verifyToken(issued.token)).toBeNull();
    expect(calls()).toBe(before + 1);
  });
});

describe("DiscordTokenVerifier: refusals", () => {
  it("a token Discord issued to another application is refused, silently", async () => {
    const sink = errorSink();
    const foreign = discord.upstream.issue({ login: "wumpus", scopes: ["identify"], clientId: "9876543210987654321" });
    expect(await verifier({ onError: sink.onError }).verifyToken(foreign.token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("unknown, expired and revoked tokens (Discord's 401) are refused, silently", async () => {
    const sink = errorSink();
    const expired = discord.upstream.issue({ login: "wumpus", scopes: ["identify"], ttlSeconds: -1 });
    const revoked = discord.upstream.issue({ login: "wumpus", scopes: ["identify"] });
    revoked.revoked = true;
    for (const token of ["unknown-token", expired.token, revoked.token]) expect(await verifier({ onError: sink.onError }).verifyToken(token)).toBeNull();
    expect(sink.errors).toEqual([]);
  });

  it("a token without identify (Discord names no user) is refused", async () => {
    expect(await verifier().verifyToken(discord.upstream.issue({ login: "wumpus", scopes: ["guilds"] }).token)).toBeNull();
  });

  it("Discord failing (HTTP 500) refuses the token and reports the endpoint, not the token", async () => {
    const sink = errorSink();
    discord.upstream.broken.set(ME, "error");
    const issued = discord.upstream.issue({ login: "wumpus", scopes: ["identify"] });
    expect(await verifier({ onError: sink.onError }).verifyToken(issued.token)).toBeNull();
    expect(sink.messages()).toHaveLength(1);
    expect(sink.messages()[0]).toMatch(new RegExp(`^DiscordTokenVerifier: ${discord.upstream.issuer}/api/oauth2/@me could not verify a token: it answered HTTP 500`));
    expect(sink.messages()[0]).not.toContain(issued.token);
  });

  it("Discord hanging refuses the token after timeoutSeconds, reported", async () => {
    const sink = errorSink();
    discord.upstream.broken.set(ME, "hang");
    const started = Date.now();
    expect(await verifier({ timeoutSeconds: 0.3, onError: sink.onError }).verifyToken(discord.upstream.issue({ login: "wumpus", scopes: ["identify"] }).token)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sink.messages().join()).toMatch(/timeout/i);
  });

  it.each(["", "x".repeat(5_000)])("a token no Discord token looks like is refused without a call (%#)", async (token) => {
    const before = calls();
    expect(await verifier().verifyToken(token)).toBeNull();
    expect(calls()).toBe(before);
  });

  describe("answers that are not what Discord sends", () => {
    let endpoint: TestEndpoint;
    beforeAll(async () => {
      endpoint = await TestEndpoint.start();
    });
    afterAll(async () => {
      await endpoint.close();
    });

    const answering = (reply: Reply, onError: (error: unknown) => void = () => undefined) => {
      endpoint.reply = () => reply;
      return new DiscordTokenVerifier({ expectedClientId: DISCORD_APP.clientId, currentAuthorizationUrl: endpoint.url(ME), onError });
    };
    const valid = () => ({ application: { id: DISCORD_APP.clientId }, scopes: ["identify"], expires: new Date((nowSeconds() + 600) * 1000).toISOString(), user: { id: "42", username: "u" } });

    it("the shape Discord documents is accepted", async () => {
      expect((await answering({ body: valid() }).verifyToken("t"))?.subject).toBe("42");
    });

    it.each([
      ["no application", { body: { ...valid(), application: undefined } }],
      ["an unreadable expires", { body: { ...valid(), expires: "next week" } }],
      ["scopes not a list", { body: { ...valid(), scopes: "identify" } }],
      ["not JSON", { body: "<html>oops</html>", headers: { "content-type": "text/html" } }],
    ])("%s → refused, reported as Discord misbehaving", async (_case, reply) => {
      const sink = errorSink();
      expect(await answering(reply, sink.onError).verifyToken("t")).toBeNull();
      expect(sink.errors).toHaveLength(1);
    });

    it("an answer whose expires has passed is refused", async () => {
      expect(await answering({ body: { ...valid(), expires: new Date(Date.now() - 1000).toISOString() } }).verifyToken("t")).toBeNull();
    });
  });
});
