/**
 * What the proxy does when the upstream fails or misbehaves, and every way its callback can be
 * abused: honest errors (an outage is not invalid_grant, upstream text never reaches a client),
 * tokens that have already expired refused, a callback that works once, in the browser that
 * started the sign-in, and errors sent only to a redirect URI the client registered.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pkcePair } from "../../helpers/pkce.js";
import { authorize, exchangeCode, mcpStatus, registerClient, type RegisteredClient } from "../../helpers/oauth-flow.js";
import { startFaultyFront, type FaultyFront } from "../../helpers/faulty-front.js";
import { UserAgent } from "../../helpers/user-agent.js";
import { startProxiedServer, type ProxiedServer } from "./harness.js";

let server: ProxiedServer;
let front: FaultyFront;
let client: RegisteredClient;

beforeAll(async () => {
  server = await startProxiedServer(async (idp) => {
    front = await startFaultyFront(idp.origin);
    return { upstreamTokenEndpoint: `${front.origin}/token` };
  });
});

afterAll(async () => {
  await server?.close();
  await front?.close();
});

beforeEach(async () => {
  front.mode = "pass";
  server.errors.length = 0;
  client = await registerClient(server.baseUrl);
});

/** An authorization request of `client` at the proxy, and its state. */
function authorizeUrl(state = "client-state"): string {
  const { challenge } = pkcePair();
  const url = new URL(`${server.baseUrl}/authorize`);
  url.search = new URLSearchParams({ response_type: "code", client_id: client.client_id, redirect_uri: client.redirect_uris[0]!, code_challenge: challenge, code_challenge_method: "S256", state, scope: "mcp:read" }).toString();
  return url.href;
}

/** Runs the sign-in up to the upstream's redirect back to the proxy; returns the browser and that callback URL, not yet visited. */
async function upToCallback(agent = new UserAgent({ login: "alice" })): Promise<{ agent: UserAgent; callback: URL }> {
  const outcome = await agent.authorize(authorizeUrl(), server.proxy.callbackUrl);
  const callback = new URL(server.proxy.callbackUrl);
  callback.search = outcome.params.toString();
  return { agent, callback };
}

/** Where the proxy's answer to a callback sends the browser (the client's redirect URI), and its query. */
async function deliver(agent: UserAgent, callback: URL): Promise<{ status: number; location?: URL; body: string }> {
  const response = await agent.visit(callback);
  const location = response.headers.get("location");
  return { status: response.status, body: await response.text(), ...(location ? { location: new URL(location) } : {}) };
}

describe("the proxy's callback", () => {
  it("completes once: the code reaches the client, and a replay of the callback is refused with a page", async () => {
    const { agent, callback } = await upToCallback();
    const first = await deliver(agent, callback);
    expect(first.status).toBe(302);
    expect(`${first.location!.origin}${first.location!.pathname}`).toBe(client.redirect_uris[0]);
    expect(first.location!.searchParams.get("code")).toBeTruthy();
    expect(first.location!.searchParams.get("state")).toBe("client-state");
    expect(first.location!.searchParams.get("iss")).toBe(server.baseUrl);
    const replay = await deliver(agent, callback);
    expect(replay.status).toBe(403); // its cookie was cleared with the first answer
    expect(replay.location).toBeUndefined();
  });

  it("refuses a callback in a browser that did not start the sign-in (403), leaving it usable in the one that did", async () => {
    const { agent, callback } = await upToCallback();
    const victim = await deliver(new UserAgent(), callback);
    expect(victim.status).toBe(403);
    expect(victim.body).toContain("did not start this sign-in");
    const owner = await deliver(agent, callback);
    expect(owner.location?.searchParams.get("code")).toBeTruthy();
  });

  it("refuses a callback whose state belongs to another sign-in of the same browser", async () => {
    const agent = new UserAgent({ login: "alice" });
    const first = await upToCallback(agent);
    const second = await upToCallback(agent);
    const swapped = new URL(first.callback);
    const state = second.callback.searchParams.get("state")!;
    // Same cookie name (its first 16 characters), another state.
    swapped.searchParams.set("state", `${state.slice(0, -1)}${state.endsWith("x") ? "y" : "x"}`);
    expect((await deliver(agent, swapped)).status).toBe(403);
    // The upstream code of one sign-in under the state of another is the upstream's to refuse.
    const crossed = new URL(second.callback);
    crossed.searchParams.set("code", first.callback.searchParams.get("code")!);
    const answer = await deliver(agent, crossed);
    expect(answer.location?.searchParams.get("error")).toBe("server_error");
  });

  it("refuses a callback without state, or with neither code nor error, with a page", async () => {
    for (const query of ["code=abc", "state=abc", ""]) {
      const response = await fetch(`${server.proxy.callbackUrl}?${query}`, { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    }
  });

  it("sends an upstream error (the user declined upstream) to the client's registered redirect URI, without the upstream's text", async () => {
    const { agent, callback } = await upToCallback();
    const declined = new URL(callback);
    declined.search = new URLSearchParams({ error: "access_denied", error_description: "internal detail", state: callback.searchParams.get("state")!, iss: callback.searchParams.get("iss")! }).toString();
    const answer = await deliver(agent, declined);
    expect(`${answer.location!.origin}${answer.location!.pathname}`).toBe(client.redirect_uris[0]);
    expect(answer.location!.searchParams.get("error")).toBe("access_denied");
    expect(answer.location!.searchParams.get("error_description")).not.toContain("internal detail");
    expect(answer.location!.searchParams.get("state")).toBe("client-state");
  });

  it("refuses an upstream callback from another issuer (RFC 9207 iss) as server_error", async () => {
    const { agent, callback } = await upToCallback();
    const mixedUp = new URL(callback);
    mixedUp.searchParams.set("iss", "https://attacker.example.com");
    const answer = await deliver(agent, mixedUp);
    expect(answer.location!.searchParams.get("error")).toBe("server_error");
    expect(answer.location!.searchParams.get("code")).toBeNull();
  });
});

describe("RFC 9207 iss in the upstream's callback", () => {
  it("is checked when present, and not required of an upstream whose metadata the proxy has not read (OAuthProxy)", async () => {
    const { agent, callback } = await upToCallback();
    expect(callback.searchParams.get("iss")).toBe(server.idp.issuer);
    callback.searchParams.delete("iss");
    const answer = await deliver(agent, callback);
    expect(answer.location!.searchParams.get("code")).toBeTruthy();
  });

  it("is required when the provider's discovery document says it always sends it (OIDCProxy)", async () => {
    const oidc = await startProxiedServer({}, {}, "oidc");
    try {
      const metadata = (await (await fetch(oidc.idp.metadataUrl)).json()) as Record<string, unknown>;
      expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
      const oidcClient = await registerClient(oidc.baseUrl);
      const { challenge } = pkcePair();
      const request = new URL(`${oidc.baseUrl}/authorize`);
      request.search = new URLSearchParams({ response_type: "code", client_id: oidcClient.client_id, redirect_uri: oidcClient.redirect_uris[0]!, code_challenge: challenge, code_challenge_method: "S256", state: "s", scope: "mcp:read" }).toString();
      const agent = new UserAgent({ login: "alice" });
      const outcome = await agent.authorize(request.href, oidc.proxy.callbackUrl);
      const callback = new URL(oidc.proxy.callbackUrl);
      callback.search = outcome.params.toString();
      callback.searchParams.delete("iss");
      const answer = await deliver(agent, callback);
      expect(answer.location!.searchParams.get("error")).toBe("server_error");
      expect(answer.location!.searchParams.get("code")).toBeNull();
      expect(oidc.errors.map(String).join("\n")).toMatch(/iss/);
    } finally {
      await oidc.close();
    }
  });
});

describe("upstream failures at the code exchange", () => {
  it("an upstream outage is temporarily_unavailable (never invalid_grant), reported, and retrying works once it is back", async () => {
    const { agent, callback } = await upToCallback();
    front.mode = "down";
    const answer = await deliver(agent, callback);
    expect(answer.location!.searchParams.get("error")).toBe("temporarily_unavailable");
    expect(server.errors.length).toBeGreaterThan(0);
    front.mode = "pass";
    const retry = await upToCallback(agent);
    expect((await deliver(agent, retry.callback)).location!.searchParams.get("code")).toBeTruthy();
  });

  it("an upstream refusal is server_error, and its text never reaches the client", async () => {
    const { agent, callback } = await upToCallback();
    front.mode = "refuse";
    const answer = await deliver(agent, callback);
    expect(answer.location!.searchParams.get("error")).toBe("server_error");
    expect(answer.location!.href).not.toContain("4711");
    expect(answer.location!.href).not.toContain("acme");
  });

  it("refuses upstream tokens that have already expired (expires_in 0) before any code is issued", async () => {
    const { agent, callback } = await upToCallback();
    front.mode = "expired-token";
    const answer = await deliver(agent, callback);
    expect(front.faults).toBeGreaterThan(0);
    expect(answer.location!.searchParams.get("code")).toBeNull();
    expect(answer.location!.searchParams.get("error")).toBe("server_error");
  });
});

describe("upstream failures when the upstream token expires (2 s) behind a live proxy token", () => {
  let expiring: ProxiedServer;
  let expiringFront: FaultyFront;

  beforeAll(async () => {
    expiring = await startProxiedServer(async (idp) => {
      expiringFront = await startFaultyFront(idp.origin);
      return { upstreamTokenEndpoint: `${expiringFront.origin}/token` };
    }, { accessTokenTtl: 2 });
  });
  afterAll(async () => {
    await expiring?.close();
    await expiringFront?.close();
  });

  async function expiredUpstream(): Promise<string> {
    const registered = await registerClient(expiring.baseUrl);
    const tokens = await exchangeCode(expiring.baseUrl, registered, await authorize(expiring.baseUrl, registered, new UserAgent({ login: "alice" }), { scope: "mcp:read" }));
    expect((await mcpStatus(expiring.url, tokens.access_token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    return tokens.access_token;
  }

  it("an outage of the upstream's refresh refuses the request (401, reported) and keeps the grant: it works once the upstream is back", async () => {
    const token = await expiredUpstream();
    expiringFront.mode = "down";
    expect((await mcpStatus(expiring.url, token)).status).toBe(401);
    expect(expiring.errors.length).toBeGreaterThan(0);
    expiringFront.mode = "pass";
    expect((await mcpStatus(expiring.url, token)).status).toBe(200);
  });

  it("a refresh the upstream refuses (its grant revoked there) ends the proxy token", async () => {
    const token = await expiredUpstream();
    expiringFront.mode = "refuse";
    expect((await mcpStatus(expiring.url, token)).status).toBe(401);
    expiringFront.mode = "pass";
    expect((await mcpStatus(expiring.url, token)).status).toBe(401);
  });
});
