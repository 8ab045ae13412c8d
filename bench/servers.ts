/**
 * The servers under benchmark, one per child process: `node servers.mjs <kind>`.
 *
 * bench/http.ts transpiles this file to plain JavaScript and runs it with `node` (no tsx loader
 * in the measured process); FastMCP is loaded from the built package (dist/) whose URL the
 * harness passes in FASTMCP_ENTRY. Every server binds 127.0.0.1 on a free port, exposes one
 * `echo` tool ({ text } -> text) at POST /mcp and prints `{"port":N}` on stdout once listening.
 *
 * With BENCH_GC=1, FastMCP servers also answer POST /__gc: a full GC (node --expose-gc), then
 * process.memoryUsage() and the size of V8's new space. The route is registered only then, so
 * throughput runs serve exactly the app a user would.
 */
import { createServer, type IncomingMessage, type Server as NodeHttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import { createAdaptorServer } from "@hono/node-server";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import * as z from "zod";

type FastMCPModule = typeof import("../src/index.js");

const HOST = "127.0.0.1";
const SERVERS: Record<string, () => Promise<NodeHttpServer | number>> = {
  raw: async () => createServer(rawEcho),
  "sdk-stateless": async () => createServer(toNodeHandler(createMcpHandler(sdkEchoServer))),
  "sdk-per-request": async () => createAdaptorServer({ fetch: sdkPerRequestApp().fetch }) as NodeHttpServer,
  "fastmcp-stateless": () => runFastMCP(true),
  "fastmcp-stateful": () => runFastMCP(false),
};

/** The ceiling: node:http, parse the JSON-RPC request, answer the tool result. No MCP at all. */
function rawEcho(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; params: { arguments: { text: string } } };
    const body = JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: message.params.arguments.text }] } });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
}

/** The SDK's documented server: a factory building a fresh McpServer with the echo tool. */
function sdkEchoServer(): McpServer {
  const server = new McpServer({ name: "bench-sdk", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echoes its text", inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  return server;
}

/** The v1-era stateless idiom: a new McpServer and transport per request, behind Hono. */
function sdkPerRequestApp(): Hono {
  const app = new Hono();
  app.post("/mcp", async (c) => {
    const server = sdkEchoServer();
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  return app;
}

async function runFastMCP(stateless: boolean): Promise<number> {
  const { FastMCP } = (await import(requiredEnv("FASTMCP_ENTRY"))) as FastMCPModule;
  const mcp = new FastMCP({ name: "bench-fastmcp", statelessHttp: stateless });
  mcp.tool({
    name: "echo",
    description: "Echoes its text",
    parameters: z.object({ text: z.string() }),
    execute: ({ text }) => text,
  });
  if (process.env.BENCH_GC === "1") mcp.route("POST", "/__gc", (c) => c.json(collectGarbage()));
  const running = await mcp.run({ transport: "http", host: HOST, port: 0, handleSignals: false, banner: false });
  return running.port!;
}

/** A full GC, then the process's memory, with the young generation's size (V8 grows it under load). */
function collectGarbage(): NodeJS.MemoryUsage & { newSpace: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("start the server with node --expose-gc");
  gc();
  gc();
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
  return { ...process.memoryUsage(), newSpace };
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function listen(server: NodeHttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const kind = process.argv[2] ?? "";
  const start = SERVERS[kind];
  if (!start) throw new Error(`unknown server ${JSON.stringify(kind)}; one of ${Object.keys(SERVERS).join(", ")}`);
  const started = await start();
  const port = typeof started === "number" ? started : await listen(started);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

// Exit (rather than die) on SIGTERM, so `node --cpu-prof` gets to write its profile.
process.on("SIGTERM", () => process.exit(0));

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
