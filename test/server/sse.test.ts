import { afterEach, describe, expect, it } from "vitest";
import { Client as SdkClient, SSEClientTransport } from "@modelcontextprotocol/client";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import { Client } from "fastmcp-ts/client";
import { MCP_HEADERS } from "../helpers/http.js";

let mcp: FastMCP;

async function start() {
  mcp = new FastMCP({ name: "sse-test" });
  mcp.tool({ name: "add", parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
  mcp.tool({ name: "progress", execute: async (_args, ctx) => { await ctx.reportProgress(1, 1); return "ok"; } });
  return mcp.run({ transport: "sse", port: 0, banner: false, handleSignals: false });
}

afterEach(async () => {
  await mcp?.close();
});

describe("legacy HTTP+SSE transport", () => {
  it("serves the official SDK's SSE client", async () => {
    const { url } = await start();
    expect(url).toMatch(/\/sse$/);
    const client = new SdkClient({ name: "sdk-sse", version: "1.0.0" });
    await client.connect(new SSEClientTransport(new URL(url!)));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["add", "progress"]);
    expect(await client.callTool({ name: "add", arguments: { a: 2, b: 2 } })).toMatchObject({ content: [{ type: "text", text: "4" }] });
    await client.close();
  });

  it("is chosen by our Client for a URL ending in /sse", async () => {
    const { url } = await start();
    await using client = await new Client(url!).connect();
    expect((await client.callTool("add", { a: 1, b: 1 })).content).toEqual([{ type: "text", text: "2" }]);
    const updates: unknown[] = [];
    await client.callTool("progress", {}, { onProgress: (p) => updates.push(p) });
    expect(updates).toEqual([{ progress: 1, total: 1 }]);
  });

  it("announces the message endpoint and rejects posts to unknown sessions", async () => {
    const { url } = await start();
    const stream = await fetch(url!, { headers: { accept: "text/event-stream" } });
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: endpoint\ndata: \/messages\/\?session_id=[0-9a-f]{32}\n\n/);
    const base = new URL(url!);
    const missing = await fetch(new URL("/messages/", base), { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(missing.status).toBe(400);
    const unknown = await fetch(new URL("/messages/?session_id=ffff", base), { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(unknown.status).toBe(404);
    const sessionPath = /data: (\S+)/.exec(first)![1]!;
    const garbage = await fetch(new URL(sessionPath, base), { method: "POST", headers: MCP_HEADERS, body: "nope" });
    expect(garbage.status).toBe(400);
    await reader.cancel();
  });
});
