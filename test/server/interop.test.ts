import { afterEach, describe, expect, it } from "vitest";
import { Client as SdkClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import * as z from "zod";
import { Client } from "fastmcp-ts/client";
import { everythingServer } from "../fixtures/everything.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("the official SDK client against our server", () => {
  it.each([false, true])("works over Streamable HTTP (stateless: %s)", async (stateless) => {
    const mcp = everythingServer({ statelessHttp: stateless });
    const { url } = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    cleanups.push(() => mcp.close());
    const client = new SdkClient({ name: "official", version: "2.4.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
    cleanups.push(() => client.close());
    expect(client.getServerVersion()).toMatchObject({ name: "everything" });
    expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    expect(await client.callTool({ name: "add", arguments: { a: 20, b: 22 } })).toMatchObject({ content: [{ type: "text", text: "42" }] });
    expect(await client.callTool({ name: "profile", arguments: { name: "Lin" } })).toMatchObject({ structuredContent: { name: "Lin", length: 3 } });
    expect((await client.readResource({ uri: "test://static/hello" })).contents[0]).toMatchObject({ text: "Hello, world" });
    expect((await client.getPrompt({ name: "greet", arguments: { who: "Bo" } })).messages).toHaveLength(1);
  });

  it("speaks the 2026-07-28 per-request era when the client pins it", async () => {
    const mcp = everythingServer();
    const { url } = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    cleanups.push(() => mcp.close());
    const client = new SdkClient({ name: "modern", version: "2.4.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("add");
    expect(await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).toMatchObject({ content: [{ type: "text", text: "3" }] });
    expect((await client.readResource({ uri: "test://users/3/profile" })).contents[0]).toMatchObject({ text: '{"id":3,"doubled":6}' });
  });

  it("negotiates the era automatically", async () => {
    const mcp = everythingServer();
    const { url } = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    cleanups.push(() => mcp.close());
    const client = new SdkClient({ name: "auto", version: "2.4.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
    cleanups.push(() => client.close());
    expect(await client.callTool({ name: "add", arguments: { a: 4, b: 4 } })).toMatchObject({ content: [{ type: "text", text: "8" }] });
  });
});

describe("our Client against a server built only with the official SDK", () => {
  it("calls tools, reads resources and renders prompts", async () => {
    const build = () => {
      const server = new McpServer({ name: "plain-sdk", version: "9.9.9" });
      server.registerTool("echo", { description: "Echo", inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({ content: [{ type: "text", text }] }));
      server.registerResource("motd", "test://motd", { mimeType: "text/plain" }, async (uri) => ({ contents: [{ uri: uri.href, text: "be kind" }] }));
      server.registerPrompt("hello", { argsSchema: z.object({ who: z.string() }) }, async ({ who }) => ({ messages: [{ role: "user", content: { type: "text", text: `hello ${who}` } }] }));
      return server;
    };
    const http = serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        const server = build();
        const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        await server.connect(transport);
        return transport.handleRequest(request);
      },
    });
    await new Promise((resolve) => http.once("listening", resolve));
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;

    await using client = await new Client(url).connect();
    expect(client.serverInfo).toMatchObject({ name: "plain-sdk", version: "9.9.9" });
    expect((await client.listTools()).map((tool) => tool.name)).toEqual(["echo"]);
    expect((await client.callTool("echo", { text: "hi" })).content).toEqual([{ type: "text", text: "hi" }]);
    expect(await client.readResource("test://motd")).toEqual([{ uri: "test://motd", text: "be kind" }]);
    expect((await client.getPrompt("hello", { who: "you" })).messages[0]!.content).toEqual({ type: "text", text: "hello you" });
  });
});
