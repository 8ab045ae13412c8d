import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolError } from "@modelcontextprotocol/client";
import type { FastMCP, RunningServer } from "fastmcp-ts";
import { Client, ToolError, type ClientOptions } from "fastmcp-ts/client";
import { everythingServer } from "../fixtures/everything.js";

type TransportCase = {
  name: string;
  sessions: boolean;
  http: boolean;
  connect: (options: ClientOptions) => Promise<Client>;
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
};

function httpCase(name: string, stateless: boolean): TransportCase {
  let mcp: FastMCP;
  let running: RunningServer;
  return {
    name,
    sessions: !stateless,
    http: true,
    setup: async () => {
      mcp = everythingServer({ statelessHttp: stateless });
      running = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
    },
    teardown: () => mcp.close(),
    connect: (options) => new Client(running.url!, options).connect(),
  };
}

const cases: TransportCase[] = [
  { name: "in-memory", sessions: true, http: false, connect: (options) => new Client(everythingServer(), options).connect() },
  {
    name: "stdio",
    sessions: true,
    http: false,
    connect: (options) => new Client({ command: "node_modules/.bin/tsx", args: ["test/fixtures/stdio-server.ts"], stderr: "ignore" }, options).connect(),
  },
  httpCase("streamable-http (sessions)", false),
  httpCase("streamable-http (stateless)", true),
];

const answerers: ClientOptions = {
  elicitation: async () => ({ action: "accept", content: { name: "Ann" } }),
  sampling: async (params) => ({
    role: "assistant",
    model: "test-model",
    content: { type: "text", text: `summary of ${JSON.stringify(params.messages[0]?.content)}` },
  }),
  roots: [{ uri: "file:///work", name: "work" }],
};

describe.each(cases)("$name", (transport) => {
  let client: Client;
  const logs: Array<{ level: string; data: unknown }> = [];

  beforeAll(async () => {
    await transport.setup?.();
    client = await transport.connect({ ...answerers, onLog: (params) => logs.push({ level: params.level, data: params.data }) });
  });
  afterAll(async () => {
    await client?.close();
    await transport.teardown?.();
  });

  it("introduces the server", () => {
    expect(client.serverInfo).toMatchObject({ name: "everything", version: "1.2.3" });
    expect(client.instructions).toBe("Use add to add.");
    expect(client.serverCapabilities).toMatchObject({ tools: { listChanged: true }, resources: { subscribe: true }, prompts: {}, logging: {} });
  });

  it("lists tools with JSON Schema parameters from zod and from plain JSON Schema", async () => {
    const tools = await client.listTools();
    const add = tools.find((tool) => tool.name === "add")!;
    expect(add.description).toBe("Add two numbers");
    expect(add.annotations).toEqual({ readOnlyHint: true });
    expect(add.inputSchema).toMatchObject({
      type: "object",
      properties: { a: { type: "number", description: "first" }, b: { type: "number", description: "second" } },
      required: ["a", "b"],
    });
    expect(tools.find((tool) => tool.name === "divide")!.inputSchema).toMatchObject({ required: ["a", "b"] });
    expect(tools.find((tool) => tool.name === "profile")!.outputSchema).toMatchObject({ type: "object", required: ["name", "length"] });
    expect(tools.find((tool) => tool.name === "crash")!.inputSchema).toEqual({ type: "object", properties: {} });
  });

  it("calls a tool", async () => {
    const result = await client.callTool("add", { a: 2, b: 3 });
    expect(result.content).toEqual([{ type: "text", text: "5" }]);
    expect(result.isError).toBeFalsy();
  });

  it("reports invalid arguments as a tool error naming the field", async () => {
    const result = await client.callTool("add", { a: "two", b: 3 }, { raiseOnError: false });
    expect(result.isError).toBe(true);
    expect(result.content[0]).toMatchObject({ type: "text", text: expect.stringMatching(/^Invalid arguments for tool "add": a: .*expected number/) });
    const jsonSchema = await client.callTool("divide", { a: 1 }, { raiseOnError: false });
    expect(jsonSchema.content[0]).toMatchObject({ text: expect.stringContaining("must have required property 'b'") });
  });

  it("passes ToolError messages through and reports other errors with their message", async () => {
    await expect(client.callTool("divide", { a: 1, b: 0 })).rejects.toThrow(new ToolError("Cannot divide by zero"));
    await expect(client.callTool("crash")).rejects.toThrow('Error calling tool "crash": database exploded');
    expect((await client.callTool("add", { a: 1, b: 1 })).content).toEqual([{ type: "text", text: "2" }]);
  });

  it("answers an unknown tool with a JSON-RPC invalid-params error", async () => {
    const error = await client.callTool("no_such_tool").catch((e: unknown) => e);
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: -32602, message: expect.stringContaining("Unknown tool: no_such_tool") });
  });

  it("returns structured content validated against the output schema", async () => {
    const result = await client.callTool("profile", { name: "Ada" });
    expect(result.structuredContent).toEqual({ name: "Ada", length: 3 });
    expect(result.data).toEqual({ name: "Ada", length: 3 });
    expect(result.content).toEqual([{ type: "text", text: JSON.stringify({ name: "Ada", length: 3 }) }]);
  });

  it("returns content blocks, empty results and custom results as given", async () => {
    expect((await client.callTool("blocks")).content).toEqual([{ type: "text", text: "one" }, { type: "image", data: "aGk=", mimeType: "image/png" }]);
    expect((await client.callTool("nothing")).content).toEqual([]);
    const custom = await client.callTool("custom_result");
    expect(custom).toMatchObject({ content: [{ type: "text", text: "custom" }], structuredContent: { ok: true }, _meta: { source: "test" } });
  });

  it("gives handlers a context, also through getContext()", async () => {
    const result = await client.callTool("whoami");
    const seen = JSON.parse((result.content[0] as { text: string }).text);
    expect(seen.requestId).toEqual(expect.anything());
    expect(seen.sameContext).toBe(true);
    expect(seen.token).toBeNull();
    expect(seen.ctxAuth).toBeNull();
    expect(seen.hasHttpRequest).toBe(transport.http);
    if (transport.http && transport.sessions) expect(seen.sessionId).toEqual(expect.any(String));
    if (!transport.sessions || !transport.http) expect(seen.sessionId === null || typeof seen.sessionId === "string").toBe(true);
  });

  it("reports progress to a client that asks for it", async () => {
    const updates: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await client.callTool("progress", { steps: 3 }, { onProgress: (p) => updates.push(p) });
    expect(result.content).toEqual([{ type: "text", text: "did 3 steps" }]);
    expect(updates).toEqual([
      { progress: 1, total: 3, message: "step 1" },
      { progress: 2, total: 3, message: "step 2" },
      { progress: 3, total: 3, message: "step 3" },
    ]);
  });

  it("sends log messages, honouring the log level on session transports", async () => {
    logs.length = 0;
    await client.callTool("chatty");
    expect(logs.map((log) => log.level)).toEqual(["debug", "info", "warning", "error"]);
    expect(logs[1]!.data).toEqual({ message: "info line", detail: 1 });
    await client.setLogLevel("warning");
    logs.length = 0;
    await client.callTool("chatty");
    expect(logs.map((log) => log.level)).toEqual(transport.sessions ? ["warning", "error"] : ["debug", "info", "warning", "error"]);
    await client.setLogLevel("debug");
  });

  it("asks the client for elicitation, sampling and roots when there is a session", async () => {
    if (!transport.sessions) {
      await expect(client.callTool("ask_name")).rejects.toThrow(/needs a session/);
      return;
    }
    expect((await client.callTool("ask_name")).content).toEqual([{ type: "text", text: "Hello Ann" }]);
    expect((await client.callTool("summarize", { text: "long text" })).content[0]).toMatchObject({ text: expect.stringContaining("Summarize: long text") });
    expect((await client.callTool("roots")).content).toEqual([{ type: "text", text: "file:///work" }]);
  });

  it("cancels a running call when the client aborts it, and keeps serving", async () => {
    if (!transport.sessions) return; // without a session a cancellation cannot be tied to its request
    const counters = async () => JSON.parse(((await client.callTool("counters")).content[0] as { text: string }).text) as { slowStarted: number; cancellations: number };
    const before = await counters();
    const abort = new AbortController();
    const call = client.callTool("slow", { ms: 5_000 }, { signal: abort.signal });
    await expect.poll(async () => (await counters()).slowStarted).toBe(before.slowStarted + 1);
    abort.abort("user gave up");
    await expect(call).rejects.toThrow();
    await expect.poll(async () => (await counters()).cancellations).toBe(before.cancellations + 1);
  });

  it("lists and reads resources: text, bytes, JSON", async () => {
    const resources = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(["test://static/broken", "test://static/bytes", "test://static/hello", "test://static/json"]);
    expect(resources.find((r) => r.uri === "test://static/hello")).toMatchObject({ name: "hello", description: "A greeting", mimeType: "text/plain" });
    expect(await client.readResource("test://static/hello")).toEqual([{ uri: "test://static/hello", mimeType: "text/plain", text: "Hello, world" }]);
    expect(await client.readResource("test://static/bytes")).toEqual([{ uri: "test://static/bytes", mimeType: "application/octet-stream", blob: "AAEC/w==" }]);
    expect(await client.readResource("test://static/json")).toEqual([{ uri: "test://static/json", mimeType: "application/json", text: '{"answer":42}' }]);
  });

  it("reads resource templates with validated parameters", async () => {
    expect((await client.listResourceTemplates()).map((t) => t.uriTemplate)).toEqual(["test://users/{id}/profile"]);
    expect(await client.readResource("test://users/7/profile")).toEqual([{ uri: "test://users/7/profile", mimeType: "application/json", text: '{"id":7,"doubled":14}' }]);
    await expect(client.readResource("test://users/seven/profile")).rejects.toMatchObject({ code: -32602, message: expect.stringContaining("Invalid parameters") });
  });

  it("reports unknown and failing resources as errors", async () => {
    await expect(client.readResource("test://static/missing")).rejects.toMatchObject({ code: -32602, message: expect.stringContaining("Unknown resource") });
    await expect(client.readResource("test://static/broken")).rejects.toMatchObject({ code: -32603, message: expect.stringContaining("disk on fire") });
  });

  it("lists and renders prompts", async () => {
    const prompts = await client.listPrompts();
    expect(prompts.find((p) => p.name === "greet")).toMatchObject({
      description: "Greets someone",
      arguments: [{ name: "who", description: "Whom to greet", required: true }, { name: "style" }],
    });
    expect(prompts.find((p) => p.name === "review")!.arguments).toEqual([
      { name: "code", description: "The code", required: true },
      { name: "language", required: false },
    ]);
    expect((await client.getPrompt("greet", { who: "Ann" })).messages).toEqual([{ role: "user", content: { type: "text", text: "Hi Ann!" } }]);
    const review = await client.getPrompt("review", { code: "x = 1", language: "python" });
    expect(review.messages.map((m) => m.role)).toEqual(["user", "user", "assistant"]);
    expect(review.messages[0]!.content).toEqual({ type: "text", text: "Review this python:" });
  });

  it("rejects prompt calls with missing arguments or unknown names", async () => {
    await expect(client.getPrompt("greet")).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Missing required argument "who"') });
    await expect(client.getPrompt("review", {})).rejects.toMatchObject({ code: -32602, message: expect.stringContaining("code") });
    await expect(client.getPrompt("nope")).rejects.toMatchObject({ code: -32602 });
  });

  it("completes prompt arguments and template variables", async () => {
    expect(await client.complete({ type: "ref/prompt", name: "greet" }, { name: "style", value: "f" })).toMatchObject({ values: ["formal"] });
    expect(await client.complete({ type: "ref/resource", uri: "test://users/{id}/profile" }, { name: "id", value: "1" })).toMatchObject({ values: ["1", "10"] });
    expect(await client.complete({ type: "ref/prompt", name: "greet" }, { name: "who", value: "x" })).toMatchObject({ values: [] });
  });

  it("lets a handler read the server's own resources", async () => {
    const result = await client.callTool("read_own_resource");
    expect(JSON.parse((result.content[0] as { text: string }).text)).toMatchObject({ uri: "test://static/hello", text: "Hello, world" });
  });

  it("answers ping", async () => {
    await expect(client.ping()).resolves.toBeUndefined();
  });
});
