import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP, type RunningServer } from "fastmcp-ts";
import { INITIALIZE, MCP_HEADERS, openSession, postRaw, readSse } from "../helpers/http.js";

const CALL_ADD = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "add", arguments: { a: 1, b: 2 } } };
let mcp: FastMCP;

async function start(options: { stateless?: boolean; run?: Parameters<FastMCP["run"]>[0] } = {}): Promise<RunningServer> {
  mcp = new FastMCP({ name: "http-test", statelessHttp: options.stateless ?? false, onError: () => undefined });
  mcp.tool({ name: "add", parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
  mcp.tool({
    name: "notify_then_answer",
    execute: async (_args, ctx) => {
      await ctx.log.info("before");
      return "after";
    },
  });
  mcp.tool({
    name: "poll",
    execute: async (_args, ctx) => {
      await ctx.log.info("started");
      ctx.closeSSEStream();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return "finished while you were away";
    },
  });
  mcp.route("GET", "/health", (c) => c.json({ ok: true }));
  return mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false, ...options.run });
}

afterEach(async () => {
  await mcp?.close();
});

describe("Streamable HTTP endpoint", () => {
  it("answers on /mcp and /mcp/ without a redirect", async () => {
    const { url } = await start({ stateless: true });
    for (const target of [url!, `${url}/`]) {
      const response = await postRaw(target, CALL_ADD);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "3" }] } });
    }
  });

  it("serves custom routes next to the MCP endpoint", async () => {
    const { url } = await start();
    const response = await fetch(new URL("/health", url));
    expect(await response.json()).toEqual({ ok: true });
  });

  it("rejects a body that is not JSON with a parse error, not a 500", async () => {
    const { url } = await start({ stateless: true });
    const response = await postRaw(url!, "{not json");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
  });

  it("rejects JSON that is not JSON-RPC", async () => {
    const { url } = await start({ stateless: true });
    for (const body of [{ hello: "world" }, [], 42, { jsonrpc: "1.0", id: 1, method: "x" }]) {
      const response = await postRaw(url!, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: -32600 } });
    }
  });

  it("rejects a wrong content type with 415 and an unacceptable Accept with 406", async () => {
    const { url } = await start({ stateless: true });
    const text = await fetch(url!, { method: "POST", headers: { ...MCP_HEADERS, "content-type": "text/plain" }, body: JSON.stringify(CALL_ADD) });
    expect(text.status).toBe(415);
    const accept = await fetch(url!, { method: "POST", headers: { ...MCP_HEADERS, accept: "text/html" }, body: JSON.stringify(CALL_ADD) });
    expect(accept.status).toBe(406);
  });

  it("answers an unknown method with a JSON-RPC method-not-found error", async () => {
    const { url } = await start({ stateless: true });
    const response = await postRaw(url!, { jsonrpc: "2.0", id: 9, method: "does/not/exist" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 9, error: { code: -32601 } });
  });

  it("answers invalid params of a known method with -32602", async () => {
    const { url } = await start({ stateless: true });
    const response = await postRaw(url!, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { arguments: {} } });
    expect(await response.json()).toMatchObject({ id: 3, error: { code: -32602, message: expect.stringContaining("name") } });
  });

  it("accepts notifications with 202 and no body", async () => {
    const { url } = await start({ stateless: true });
    const response = await postRaw(url!, { jsonrpc: "2.0", method: "notifications/initialized" });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
  });

  it("answers a batch with an array of responses", async () => {
    const { url } = await start({ stateless: true });
    const response = await postRaw(url!, [CALL_ADD, { ...CALL_ADD, id: 2, params: { name: "add", arguments: { a: 5, b: 5 } } }]);
    const body = (await response.json()) as Array<{ id: number; result: unknown }>;
    expect(body.map((message) => message.id).sort()).toEqual([1, 2]);
  });

  it("keeps request ids from different clients apart on a stateless server", async () => {
    const { url } = await start({ stateless: true });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      postRaw(url!, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "add", arguments: { a: i, b: 0 } } }).then((r) => r.json()),
    ));
    expect(answers.map((answer) => (answer as { result: { content: Array<{ text: string }> } }).result.content[0]!.text)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(answers.every((answer) => (answer as { id: number }).id === 1)).toBe(true);
  });

  it("refuses bodies over the limit with 413, declared or streamed", async () => {
    const { url } = await start({ stateless: true, run: { maxBodyBytes: 1024 } });
    const big = JSON.stringify({ ...CALL_ADD, params: { name: "add", arguments: { a: 1, b: 2, pad: "x".repeat(2000) } } });
    const declared = await postRaw(url!, big);
    expect(declared.status).toBe(413);
    const chunks = new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(big)); controller.close(); } });
    const streamed = await fetch(url!, { method: "POST", headers: MCP_HEADERS, body: chunks, duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await postRaw(url!, CALL_ADD)).status).toBe(200);
  });

  it("answers other HTTP methods with 405 and an Allow header", async () => {
    const { url } = await start();
    const response = await fetch(url!, { method: "PUT", headers: MCP_HEADERS, body: "{}" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST, DELETE");
  });
});

describe("sessions", () => {
  it("issues a session id at initialize and requires it afterwards", async () => {
    const { url } = await start();
    const init = await postRaw(url!, INITIALIZE);
    expect(init.status).toBe(200);
    const id = init.headers.get("mcp-session-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await init.json()).toMatchObject({ id: 0, result: { protocolVersion: "2025-11-25", serverInfo: { name: "http-test" } } });

    const missing = await postRaw(url!, CALL_ADD);
    expect(missing.status).toBe(400);
    const unknown = await postRaw(url!, CALL_ADD, { "mcp-session-id": "00000000-0000-0000-0000-000000000000" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: -32001 } });
    const ok = await postRaw(url!, CALL_ADD, { "mcp-session-id": id! });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("mcp-session-id")).toBe(id);
  });

  it("rejects an unsupported protocol version header", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    const response = await postRaw(url!, CALL_ADD, { "mcp-session-id": session, "mcp-protocol-version": "1999-01-01" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("unsupported protocol version");
  });

  it("rejects initialize that carries a session id, and initialize in a batch", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    expect((await postRaw(url!, INITIALIZE, { "mcp-session-id": session })).status).toBe(400);
    expect((await postRaw(url!, [INITIALIZE, CALL_ADD])).status).toBe(400);
  });

  it("ends a session on DELETE", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    const deleted = await fetch(url!, { method: "DELETE", headers: { "mcp-session-id": session } });
    expect(deleted.status).toBe(204);
    expect((await postRaw(url!, CALL_ADD, { "mcp-session-id": session })).status).toBe(404);
  });

  it("streams a notification before the result when the client accepts SSE, JSON otherwise", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    const call = { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "notify_then_answer", arguments: {} } };
    const streamed = await postRaw(url!, call, { "mcp-session-id": session });
    expect(streamed.headers.get("content-type")).toBe("text/event-stream");
    const events = await readSse(streamed);
    expect(events.map((event) => (event.data as { method?: string }).method ?? "result")).toEqual(["notifications/message", "result"]);
    const json = await postRaw(url!, call, { "mcp-session-id": session, accept: "application/json" });
    expect(json.headers.get("content-type")).toBe("application/json");
    expect(await json.json()).toMatchObject({ id: 5, result: { content: [{ text: "after" }] } });
  });

  it("lets a tool close its stream and the client resume with Last-Event-ID (SEP-1699)", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
    const first = await postRaw(url!, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "poll", arguments: {} } }, headers);
    const text = await first.text();
    expect(text).toMatch(/^id: \S+_0\nretry: 1000\ndata: \n\n/);
    expect(text).not.toContain('"result"');
    const lastId = [...text.matchAll(/^id: (\S+)$/gm)].at(-1)![1]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const resumed = await fetch(url!, { headers: { ...headers, accept: "text/event-stream", "last-event-id": lastId } });
    expect(resumed.status).toBe(200);
    const replayed = await readSse(resumed);
    expect(replayed.at(-1)!.data).toMatchObject({ id: 7, result: { content: [{ text: "finished while you were away" }] } });
    const gone = await fetch(url!, { headers: { ...headers, accept: "text/event-stream", "last-event-id": "unknown_3" } });
    expect(gone.status).toBe(404);
  });

  it("does not close streams of clients that cannot resume them (before 2025-11-25)", async () => {
    const { url } = await start();
    const init = await postRaw(url!, { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion: "2025-06-18" } });
    const session = init.headers.get("mcp-session-id")!;
    const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
    const response = await postRaw(url!, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "poll", arguments: {} } }, headers);
    const events = await readSse(response);
    expect(events.at(-1)!.data).toMatchObject({ id: 8, result: { content: [{ text: "finished while you were away" }] } });
  });

  it("allows one GET stream per session and delivers server notifications on it", async () => {
    const { url } = await start();
    const session = await openSession(url!);
    const stream = await fetch(url!, { headers: { accept: "text/event-stream", "mcp-session-id": session } });
    expect(stream.status).toBe(200);
    const second = await fetch(url!, { headers: { accept: "text/event-stream", "mcp-session-id": session } });
    expect(second.status).toBe(409);
    const reader = stream.body!.getReader();
    mcp.tool({ name: "late", execute: () => "added later" });
    let received = "";
    while (!received.includes("list_changed")) received += new TextDecoder().decode((await reader.read()).value);
    expect(received).toContain("notifications/tools/list_changed");
    await reader.cancel();
  });

  it("in responseMode json, sends a tool's notifications on the session's GET stream (they cannot go in the JSON answer)", async () => {
    const { url } = await start({ run: { responseMode: "json" } });
    const session = await openSession(url!);
    const stream = await fetch(url!, { headers: { accept: "text/event-stream", "mcp-session-id": session } });
    const reader = stream.body!.getReader();
    const answer = await postRaw(url!, { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "notify_then_answer", arguments: {} } }, { "mcp-session-id": session });
    expect(answer.headers.get("content-type")).toContain("application/json");
    expect(await answer.json()).toMatchObject({ id: 9, result: { content: [{ text: "after" }] } });
    let received = "";
    while (!received.includes("notifications/message")) received += new TextDecoder().decode((await reader.read()).value);
    expect(received).toContain('"data":"before"');
    await reader.cancel();
  });

  it("answers GET and DELETE with 405 on a stateless server", async () => {
    const { url } = await start({ stateless: true });
    expect((await fetch(url!, { headers: { accept: "text/event-stream" } })).status).toBe(405);
    expect((await fetch(url!, { method: "DELETE" })).status).toBe(405);
  });

  it("expires idle sessions", async () => {
    const { url } = await start({ run: { sessionIdleTimeoutMs: 300 } });
    const session = await openSession(url!);
    await expect.poll(async () => (await postRaw(url!, { jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": session })).status, { timeout: 5_000, interval: 500 }).toBe(404);
  });

  it("refuses new sessions beyond the limit with 429", async () => {
    const { url } = await start({ run: { maxSessions: 2 } });
    await openSession(url!);
    await openSession(url!);
    const third = await postRaw(url!, INITIALIZE);
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("30");
  });
});

describe("DNS rebinding protection", () => {
  it("rejects foreign Host and Origin headers on a loopback bind", async () => {
    const { port } = await start({ stateless: true });
    const call = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
      // fetch() cannot set Host; use node:http.
      import("node:http").then(({ request }) => {
        const req = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { ...MCP_HEADERS, ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.end(JSON.stringify(CALL_ADD));
      }, reject);
    });
    expect(await call({ host: `localhost:${port}` })).toBe(200);
    expect(await call({ host: `evil.example:${port}` })).toBe(403);
    expect(await call({ host: `127.0.0.1:${port}`, origin: "https://evil.example" })).toBe(403);
    expect(await call({ host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` })).toBe(200);
  });

  it("is off when bound to all interfaces unless hosts are configured", async () => {
    const { port } = await start({ stateless: true, run: { host: "0.0.0.0" } });
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, origin: "https://elsewhere.example" }, body: JSON.stringify(CALL_ADD) });
    expect(response.status).toBe(200);
  });
});
