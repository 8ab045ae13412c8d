import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { Hono } from "hono";
import * as z from "zod";
import { FastMCP, PortInUseError } from "fastmcp-ts";
import { Client } from "fastmcp-ts/client";
import { INITIALIZE, postRaw } from "../helpers/http.js";

let mcp: FastMCP;
afterEach(async () => { await mcp?.close(); });

let started: () => void = () => undefined;

function server() {
  mcp = new FastMCP({ name: "life" });
  mcp.tool({
    name: "slow",
    parameters: z.object({ ms: z.number() }),
    execute: async ({ ms }) => {
      started();
      await new Promise((r) => setTimeout(r, ms));
      return "finished";
    },
  });
  return mcp;
}

describe("running and stopping", () => {
  it("lets in-flight calls finish when the server is closed", async () => {
    const running = await server().run({ transport: "http", port: 0, banner: false, handleSignals: false });
    await using client = await new Client(running.url!).connect();
    const inFlight = new Promise<void>((resolve) => { started = resolve; });
    const call = client.callTool("slow", { ms: 300 });
    await inFlight;
    const closing = running.close();
    expect((await call).content).toEqual([{ type: "text", text: "finished" }]);
    await closing;
    await expect(fetch(running.url!, { method: "POST" })).rejects.toThrow();
  });

  it("returns the same server when run() is called twice", async () => {
    const mcp = server();
    const first = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    const second = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    expect(second).toBe(first);
  });

  it("fails with PortInUseError when the port is taken", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(server().run({ transport: "http", port, banner: false, handleSignals: false })).rejects.toThrow(PortInUseError);
      await expect(server().run({ transport: "http", port, banner: false, handleSignals: false })).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it("rejects an unknown transport name", async () => {
    await expect(server().run({ transport: "carrier-pigeon" as never })).rejects.toThrow(/Unknown transport/);
  });
});

describe("httpApp()", () => {
  it("is a Hono app whose fetch serves MCP on any runtime", async () => {
    const app = server().httpApp({ stateless: true });
    const response = await app.fetch(new Request("http://worker.example/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 1, result: { tools: [{ name: "slow" }] } });
  });

  it("mounts under a prefix in another app", async () => {
    const outer = new Hono();
    outer.route("/api", server().httpApp({ path: "/mcp" }));
    const response = await outer.fetch(new Request("http://host.example/api/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify(INITIALIZE),
    }));
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toBeTruthy();
  });

  it("serves the MCP path given to run()", async () => {
    const running = await server().run({ transport: "http", port: 0, path: "/custom/endpoint", banner: false, handleSignals: false });
    expect(running.url).toMatch(/\/custom\/endpoint$/);
    expect((await postRaw(running.url!, INITIALIZE)).status).toBe(200);
  });
});
