import { Agent, request } from "node:http";
import { connect, createServer } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AuthorizationDeniedError,
  AuthorizationFailedError,
  CallbackIssuerMismatchError,
  CallbackServer,
  CallbackServerClosedError,
  CallbackTimeoutError,
  type CallbackServerOptions,
} from "../../../src/client/auth/callback-server.js";
import { escapeHtml } from "../../../src/auth/server/html.js";
import { FastMCPError, PortInUseError } from "../../../src/errors.js";
import { freePort } from "../../helpers/ports.js";

const ISSUER = "https://as.example.com";
const started: CallbackServer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

async function start(options: CallbackServerOptions = {}): Promise<CallbackServer> {
  const server = await CallbackServer.start(options);
  started.push(server);
  return server;
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function callback(server: CallbackServer, params: Record<string, string> | [string, string][]): Promise<Answer> {
  const url = new URL(server.redirectUri);
  url.search = new URLSearchParams(params).toString();
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A wait's outcome without unhandled rejections: the value, or the error it rejected with. */
function outcome<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch((error: Error) => error);
}

async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const winner = await Promise.race([promise.then(() => null, () => null), new Promise((resolve) => setTimeout(() => resolve(marker), 30))]);
  return winner === marker;
}

/** The page's markup with its text left out: what an injected value must not change. */
function tags(html: string): string[] {
  return html.match(/<[^>]*>/g) ?? [];
}

async function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });
}

describe("CallbackServer: a successful sign-in", () => {
  it("resolves with code, state and iss and answers with a safe, readable page", async () => {
    const server = await start({ applicationName: "Claude <Desktop>" });
    expect(server.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const result = outcome(server.wait({ state: "s-1", issuer: ISSUER }));
    const answer = await callback(server, { code: "the-code-123", state: "s-1", iss: ISSUER });

    expect(await result).toMatchObject({ code: "the-code-123", state: "s-1", iss: ISSUER });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(answer.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(answer.headers.get("x-frame-options")).toBe("DENY");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("referrer-policy")).toBe("no-referrer");
    expect(answer.body).toContain("You are signed in. You can close this window and return to Claude &lt;Desktop&gt;.");
    expect(answer.body).not.toContain("the-code-123");
  });

  it("exposes every parameter of the response", async () => {
    const server = await start();
    const result = server.wait({ state: "s" });
    await callback(server, { code: "c", state: "s", session_state: "xyz" });
    expect((await result).params.get("session_state")).toBe("xyz");
  });

  it("keeps a callback that arrives before wait() and settles with it once wait() is called", async () => {
    const server = await start();
    const early = callback(server, { code: "early-code", state: "s" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await server.wait({ state: "s" });
    expect(result.code).toBe("early-code");
    expect((await early).status).toBe(200);
  });

  it("uses the configured port and path, and localhost stays a name in the redirect URI", async () => {
    const port = await freePort();
    const server = await start({ host: "localhost", port, path: "/oauth/callback" });
    expect(server.redirectUri).toBe(`http://localhost:${port}/oauth/callback`);
    const result = server.wait({ state: "s" });
    await callback(server, { code: "c", state: "s" });
    expect((await result).code).toBe("c");
  });
});

describe("CallbackServer: responses that do not belong to the sign-in", () => {
  it("ignores a wrong state, and the real response still succeeds", async () => {
    const server = await start();
    const result = server.wait({ state: "right" });
    const stray = await callback(server, { code: "forged", state: "wrong" });
    expect(stray.status).toBe(400);
    expect(stray.body).toContain("does not belong to this sign-in");
    expect(await isPending(result)).toBe(true);

    await callback(server, { code: "real", state: "right" });
    expect((await result).code).toBe("real");
  });

  it("ignores a missing or empty state", async () => {
    const server = await start();
    const result = server.wait({ state: "right" });
    expect((await callback(server, { code: "c1" })).status).toBe(400);
    expect((await callback(server, { code: "c2", state: "" })).status).toBe(400);
    expect((await callback(server, { error: "access_denied" })).status).toBe(400);
    expect(await isPending(result)).toBe(true);
    await callback(server, { code: "c3", state: "right" });
    expect((await result).code).toBe("c3");
  });

  it("ignores a response that repeats code or state", async () => {
    const server = await start();
    const result = server.wait({ state: "s" });
    const twoCodes = await callback(server, [["code", "a"], ["code", "b"], ["state", "s"]]);
    const twoStates = await callback(server, [["code", "a"], ["state", "s"], ["state", "other"]]);
    expect([twoCodes.status, twoStates.status]).toEqual([400, 400]);
    expect(twoCodes.body).toContain("repeats a parameter");
    expect(await isPending(result)).toBe(true);
    await callback(server, { code: "ok", state: "s" });
    expect((await result).code).toBe("ok");
  });

  it("settles exactly once when 20 callbacks arrive at once", async () => {
    const server = await start();
    const result = server.wait({ state: "right" });
    const params = Array.from({ length: 20 }, (_, i) => ({ code: `code-${i}`, state: i % 3 === 0 ? "wrong" : "right" }));
    const answers = await Promise.all(params.map((p) => callback(server, p)));

    const signedIn = answers.filter((a) => a.status === 200);
    expect(signedIn).toHaveLength(1);
    expect(signedIn[0]!.body).toContain("You are signed in");
    answers.forEach((answer, i) => {
      if (answer.status === 200) return;
      if (params[i]!.state === "right") expect(answer.body).toContain("already finished");
      else expect([400, 409]).toContain(answer.status);
    });
    const winner = answers.findIndex((a) => a.status === 200);
    expect((await result).code).toBe(params[winner]!.code);
  });

  it("answers later callbacks, even valid ones, with 'already finished' and changes nothing", async () => {
    const server = await start();
    const result = server.wait({ state: "s" });
    await callback(server, { code: "first", state: "s" });
    const later = await callback(server, { code: "second", state: "s" });
    const laterError = await callback(server, { error: "access_denied", state: "s" });
    expect(later.status).toBe(409);
    expect(later.body).toContain("This sign-in has already finished");
    expect(laterError.body).toContain("already finished");
    expect((await result).code).toBe("first");
  });
});

describe("CallbackServer: error responses", () => {
  it("error=access_denied rejects with AuthorizationDeniedError", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    const answer = await callback(server, { error: "access_denied", error_description: "User said no", state: "s" });
    const error = await result;
    expect(error).toBeInstanceOf(AuthorizationDeniedError);
    expect(error).toBeInstanceOf(FastMCPError);
    expect((error as AuthorizationDeniedError).errorDescription).toBe("User said no");
    expect(answer.body).toContain("Access was denied");
  });

  it("another error rejects with AuthorizationFailedError carrying error and description", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    const answer = await callback(server, { error: "invalid_scope", error_description: "Scope 'admin' is unknown", state: "s" });
    const error = (await result) as AuthorizationFailedError;
    expect(error).toBeInstanceOf(AuthorizationFailedError);
    expect(error.error).toBe("invalid_scope");
    expect(error.errorDescription).toBe("Scope 'admin' is unknown");
    expect(error.message).toContain("invalid_scope");
    expect(answer.body).toContain(`Sign-in failed: ${escapeHtml("Scope 'admin' is unknown")}`);
  });

  it("shows the error code when there is no description, and never the code of an error response", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    const answer = await callback(server, { error: "server_error", code: "leaked-code", state: "s" });
    const error = (await result) as AuthorizationFailedError;
    expect(error.errorDescription).toBeUndefined();
    expect(answer.body).toContain("Sign-in failed: server_error");
    expect(`${error.message} ${answer.body}`).not.toContain("leaked-code");
  });

  it.each([["access_token", { token: "t" }], ["ID token", { id_token: "x.y.z" }], ["JARM", { response: "x.y.z" }]] as const)(
    "a response with the right state carrying %s (not the plain code flow) fails as invalid_response",
    async (_, extra) => {
      const server = await start();
      const result = outcome(server.wait({ state: "s" }));
      const answer = await callback(server, { code: "c", state: "s", ...extra });
      expect(await result).toMatchObject({ name: "AuthorizationFailedError", error: "invalid_response" });
      expect(answer.status).toBe(400);
    },
  );

  it("a response with the right state but neither code nor error fails", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    await callback(server, { state: "s" });
    expect(await result).toMatchObject({ name: "AuthorizationFailedError", error: "invalid_response" });
  });
});

describe("CallbackServer: hostile text", () => {
  const long = "<script>alert(1)</script>".repeat(160);
  const vectors = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(document.cookie)", "ünïcødé ✓ 🔐 \u202e\u0000\u001b[31m＜script＞", long];
  let baseline: string[] = [];
  beforeAll(async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    baseline = tags((await callback(server, { error: "invalid_request", error_description: "plain", state: "s" })).body);
    await result;
  });

  it.each(vectors.map((v, i) => [i, v] as const))("error_description vector %i is escaped and bounded", async (_, vector) => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    const answer = await callback(server, { error: "invalid_request", error_description: vector, state: "s" });
    const error = (await result) as AuthorizationFailedError;

    expect(tags(answer.body)).toEqual(baseline);
    expect(answer.body).not.toContain("<script>alert");
    expect(answer.body).not.toContain("<img");
    expect(answer.body.length).toBeLessThan(4_000);
    expect(error.errorDescription).toBe(vector);
    expect(error.message).not.toMatch(/[\u0000-\u001f\u202e]/);
    expect(error.message.length).toBeLessThan(500);
  });

  it("escapes a hostile error code and a hostile state", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    for (const vector of vectors.slice(0, 3)) {
      const stray = await callback(server, { code: "c", state: vector });
      expect(tags(stray.body)).toEqual(tags((await callback(server, { code: "c", state: "other" })).body));
      expect(stray.body).not.toContain(vector);
    }
    const answer = await callback(server, { error: '"><img src=x onerror=alert(1)>', state: "s" });
    expect(tags(answer.body)).toEqual(baseline);
    expect(answer.body).toContain(escapeHtml('"><img src=x onerror=alert(1)>'));
    expect(await result).toBeInstanceOf(AuthorizationFailedError);
  });

  it("shows unicode text as text, without control or bidi characters", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    const answer = await callback(server, { error: "x", error_description: "ünïcødé ✓ 🔐\u202eevil\u0007", state: "s" });
    await result;
    expect(answer.body).toContain("ünïcødé ✓ 🔐 evil");
    expect(answer.body).not.toMatch(/[\u202e\u0007]/);
  });
});

describe("CallbackServer: RFC 9207 iss", () => {
  it("a wrong iss rejects with CallbackIssuerMismatchError", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s", issuer: ISSUER }));
    const answer = await callback(server, { code: "c", state: "s", iss: "https://evil.example.com" });
    const error = (await result) as CallbackIssuerMismatchError;
    expect(error).toBeInstanceOf(CallbackIssuerMismatchError);
    expect([error.expected, error.received]).toEqual([ISSUER, "https://evil.example.com"]);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("unexpected authorization server");
  });

  it("compares iss as a plain string: a trailing slash is a mismatch", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s", issuer: ISSUER }));
    await callback(server, { code: "c", state: "s", iss: `${ISSUER}/` });
    expect(await result).toBeInstanceOf(CallbackIssuerMismatchError);
  });

  it("does not surface the error or error_description of a response from the wrong issuer", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s", issuer: ISSUER }));
    const answer = await callback(server, { error: "access_denied", error_description: "Call +1-555 EVIL support", state: "s", iss: "https://evil.example.com" });
    const error = await result;
    expect(error).toBeInstanceOf(CallbackIssuerMismatchError);
    expect(error).not.toBeInstanceOf(AuthorizationDeniedError);
    expect((error as Error).message).not.toContain("EVIL");
    expect(answer.body).not.toContain("EVIL");
    expect(answer.body).not.toContain("Access was denied");
  });

  it("an empty iss is a mismatch, not a missing iss", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s", issuer: ISSUER }));
    await callback(server, { code: "c", state: "s", iss: "" });
    const error = (await result) as CallbackIssuerMismatchError;
    expect(error).toBeInstanceOf(CallbackIssuerMismatchError);
    expect(error.received).toBe("");
  });

  it("a missing iss is an error when required", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s", issuer: ISSUER, requireIssuer: true }));
    await callback(server, { code: "c", state: "s" });
    const error = (await result) as CallbackIssuerMismatchError;
    expect(error).toBeInstanceOf(CallbackIssuerMismatchError);
    expect(error.received).toBeUndefined();
  });

  it("a missing iss is accepted when not required", async () => {
    const server = await start();
    const result = server.wait({ state: "s", issuer: ISSUER });
    await callback(server, { code: "c", state: "s" });
    expect((await result).iss).toBeUndefined();
  });

  it("an iss is accepted and passed on when there is nothing to compare it with", async () => {
    const server = await start();
    const result = server.wait({ state: "s" });
    await callback(server, { code: "c", state: "s", iss: "https://whoever.example" });
    expect((await result).iss).toBe("https://whoever.example");
  });
});

describe("CallbackServer: ending the wait", () => {
  it("times out with CallbackTimeoutError and stops listening", async () => {
    const server = await start({ timeoutMs: 50 });
    const error = await outcome(server.wait({ state: "s" }));
    expect(error).toBeInstanceOf(CallbackTimeoutError);
    expect((error as CallbackTimeoutError).timeoutMs).toBe(50);
    await server.close();
    await expect(fetch(server.redirectUri)).rejects.toThrow();
  });

  it("an abort rejects the wait with the signal's reason and closes the server", async () => {
    const controller = new AbortController();
    const server = await start({ signal: controller.signal });
    const result = outcome(server.wait({ state: "s" }));
    controller.abort();
    const error = await result;
    expect(error).toBe(controller.signal.reason);
    expect((error as Error).name).toBe("AbortError");
    await server.close();
    await expect(fetch(server.redirectUri)).rejects.toThrow();
  });

  it("an already aborted signal refuses to start", async () => {
    await expect(CallbackServer.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("close() before a callback rejects the wait, is idempotent and answers held callbacks", async () => {
    const server = await start();
    const held = callback(server, { code: "c", state: "s" });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect((await held).status).toBe(503);
    expect(await outcome(server.wait({ state: "s" }))).toBeInstanceOf(CallbackServerClosedError);
  });

  it("close() rejects a wait in progress", async () => {
    const server = await start();
    const result = outcome(server.wait({ state: "s" }));
    await server.close();
    expect(await result).toBeInstanceOf(CallbackServerClosedError);
  });

  it("close() cuts keep-alive connections instead of waiting for them", async () => {
    const server = await start();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    const url = new URL(server.redirectUri);
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: "/elsewhere", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      }).on("error", reject).end();
    });
    expect(status).toBe(404);
    const began = Date.now();
    await server.close();
    expect(Date.now() - began).toBeLessThan(1_000);
    agent.destroy();
  });

  it("close() also cuts a connection in the middle of a request", async () => {
    const server = await start();
    const url = new URL(server.redirectUri);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n");
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const began = Date.now();
    await server.close();
    await closed;
    expect(Date.now() - began).toBeLessThan(2_000);
  });

  it("refuses a second wait, an empty state and requireIssuer without an issuer", async () => {
    const server = await start();
    await expect(server.wait({ state: "" })).rejects.toBeInstanceOf(TypeError);
    await expect(server.wait({ state: "s", requireIssuer: true })).rejects.toBeInstanceOf(TypeError);
    const first = outcome(server.wait({ state: "s" }));
    await expect(server.wait({ state: "s" })).rejects.toThrow(/already called/);
    await server.close();
    await first;
  });
});

describe("CallbackServer: where it listens", () => {
  it.each(["0.0.0.0", "::", "192.168.1.10", "example.com", "", "localhost.evil.com"])("refuses the non-loopback host %j", async (host) => {
    await expect(CallbackServer.start({ host })).rejects.toBeInstanceOf(TypeError);
  });

  it("refuses bad port, path and timeout values", async () => {
    await expect(CallbackServer.start({ port: 70_000 })).rejects.toBeInstanceOf(TypeError);
    await expect(CallbackServer.start({ path: "callback" })).rejects.toBeInstanceOf(TypeError);
    await expect(CallbackServer.start({ path: "/cb?x=1" })).rejects.toBeInstanceOf(TypeError);
    await expect(CallbackServer.start({ timeoutMs: 0 })).rejects.toBeInstanceOf(TypeError);
  });

  it("a port in use gives PortInUseError naming host and port", async () => {
    const first = await start();
    const port = Number(new URL(first.redirectUri).port);
    const error = await outcome(CallbackServer.start({ port }));
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as Error).message).toContain(`${port}`);
    expect((error as Error).message).toContain("127.0.0.1");
  });

  it("listens on the IPv6 loopback ::1", async (context) => {
    if (!(await hasIPv6Loopback())) context.skip("this machine has no IPv6 loopback (::1)");
    const server = await start({ host: "::1" });
    expect(server.redirectUri).toMatch(/^http:\/\/\[::1\]:\d+\/callback$/);
    const result = server.wait({ state: "s" });
    expect((await callback(server, { code: "v6", state: "s" })).status).toBe(200);
    expect((await result).code).toBe("v6");
  });

  it("answers other paths with 404 and other methods with 405", async () => {
    const server = await start();
    const result = server.wait({ state: "s" });
    const origin = new URL(server.redirectUri).origin;
    const notFound = await fetch(`${origin}/favicon.ico`);
    const trailing = await fetch(`${origin}/callback/?code=c&state=s`);
    const post = await fetch(`${server.redirectUri}?code=c&state=s`, { method: "POST" });
    expect([notFound.status, trailing.status, post.status]).toEqual([404, 404, 405]);
    expect(post.headers.get("allow")).toBe("GET");
    expect(notFound.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await isPending(result)).toBe(true);
    await callback(server, { code: "c", state: "s" });
    expect((await result).code).toBe("c");
  });
});
