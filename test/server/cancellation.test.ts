import type { AddressInfo } from "node:net";
import type { Server as NodeHttpServer } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { createHttpApp, type HttpApp, type HttpAppOptions } from "../../src/server/http/app.js";
import { openSession, postRaw, readSse } from "../helpers/http.js";

const SLOW_MS = 400;
let mcp: FastMCP;
/** What the handlers of the current server did (handlers of earlier tests may still be running). */
let seen = { started: 0, finished: 0, sawAbort: 0 };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await mcp?.close();
});

function server(): FastMCP {
  const counts = (seen = { started: 0, finished: 0, sawAbort: 0 });
  mcp = new FastMCP({ name: "cancel", onError: () => undefined });
  // On the SDK path (completion/complete is not on the fast lane); the completer ignores cancellation.
  mcp.prompt({
    name: "greet",
    arguments: [{ name: "who" }],
    complete: { who: async () => { counts.started++; await sleep(SLOW_MS); counts.finished++; return ["alice"]; } },
    render: ({ who }) => `Hello ${who}`,
  });
  // On the fast lane.
  mcp.tool({
    name: "slow",
    execute: async (_args, ctx) => {
      counts.started++;
      await sleep(SLOW_MS);
      if (ctx.signal.aborted) counts.sawAbort++;
      counts.finished++;
      return "too late";
    },
  });
  return mcp;
}

/** Serves the HTTP app on a loopback port, keeping hold of it to read its in-flight count. */
async function serve(options: HttpAppOptions = {}): Promise<{ url: string; http: HttpApp }> {
  const http = createHttpApp(server(), options);
  const node = createAdaptorServer({ fetch: http.app.fetch }) as NodeHttpServer;
  await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    await http.close();
    node.closeAllConnections();
    await new Promise((resolve) => node.close(resolve));
  });
  return { url: `http://127.0.0.1:${(node.address() as AddressInfo).port}/mcp`, http };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const complete = (id: number) => ({ jsonrpc: "2.0", id, method: "completion/complete", params: { ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "a" } } });
const callSlow = (id: number) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow", arguments: {} } });
const cancel = (requestId: number) => ({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason: "user gave up" } });

async function cancelOnceStarted(url: string, session: string, requestId: number): Promise<void> {
  await expect.poll(() => seen.started, { interval: 5 }).toBe(1);
  const response = await postRaw(url, cancel(requestId), { "mcp-session-id": session });
  expect(response.status).toBe(202);
}

describe.each([
  ["the SDK path (completion/complete)", complete],
  ["the fast lane (tools/call)", callSlow],
])("a cancelled request on %s", (_path, request) => {
  it("ends its JSON POST without an answer and leaves nothing in flight", async () => {
    const { url, http } = await serve();
    const session = await openSession(url);
    const post = postRaw(url, request(7), { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(url, session, 7);
    const response = await post;
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
    expect(seen.finished).toBe(0);
    expect(http.inFlight()).toBe(0);
  });

  it("ends its SSE stream without an answer", async () => {
    const { url, http } = await serve({ responseMode: "sse" });
    const session = await openSession(url);
    const response = await postRaw(url, request(8), { "mcp-session-id": session });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    await cancelOnceStarted(url, session, 8);
    const events = await readSse(response);
    expect(events.filter((event) => typeof event.data === "object" && event.data !== null && "id" in event.data)).toEqual([]);
    expect(seen.finished).toBe(0);
    expect(http.inFlight()).toBe(0);
  });

  it("still answers the other requests of its batch", async () => {
    const { url, http } = await serve();
    const session = await openSession(url);
    const post = postRaw(url, [request(9), { jsonrpc: "2.0", id: 10, method: "ping" }], { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(url, session, 9);
    const response = await post;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ jsonrpc: "2.0", id: 10, result: {} }]);
    expect(http.inFlight()).toBe(0);
  });

  it("sends nothing once the handler finishes after the cancellation", async () => {
    const { url } = await serve();
    const session = await openSession(url);
    const stream = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": session } });
    const post = postRaw(url, request(11), { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(url, session, 11);
    await (await post).text();
    await expect.poll(() => seen.finished, { timeout: 5_000 }).toBe(1);
    await sleep(50);
    // Nothing for request 11 may reach the session's GET stream either.
    await fetch(url, { method: "DELETE", headers: { "mcp-session-id": session } });
    const events = await readSse(stream);
    expect(events.filter((event) => JSON.stringify(event.data).includes('"id":11'))).toEqual([]);
  });
});

describe("sessions after a cancellation", () => {
  it("become idle and expire", async () => {
    const { url } = await serve({ sessionIdleTimeoutMs: 300 });
    const session = await openSession(url);
    const post = postRaw(url, complete(1), { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(url, session, 1);
    await post;
    // Each probe counts as activity, so probe less often than the idle timeout.
    const probe = { jsonrpc: "2.0", method: "notifications/initialized" };
    await expect.poll(async () => (await postRaw(url, probe, { "mcp-session-id": session })).status, { timeout: 5_000, interval: 500 }).toBe(404);
  });

  it("do not hold up a graceful shutdown", async () => {
    const running = await server().run({ transport: "http", port: 0, banner: false, handleSignals: false, shutdownTimeoutMs: 5_000 });
    const session = await openSession(running.url!);
    const post = postRaw(running.url!, complete(1), { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(running.url!, session, 1);
    await post;
    const before = Date.now();
    await running.close();
    expect(Date.now() - before).toBeLessThan(1_000);
  });

  it("tell a fast-lane handler through ctx.signal", async () => {
    const { url } = await serve();
    const session = await openSession(url);
    const post = postRaw(url, callSlow(2), { "mcp-session-id": session, accept: "application/json" });
    await cancelOnceStarted(url, session, 2);
    await post;
    await expect.poll(() => seen.finished, { timeout: 5_000 }).toBe(1);
    expect(seen.sawAbort).toBe(1);
  });
});
