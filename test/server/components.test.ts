import { describe, expect, it } from "vitest";
import * as z from "zod";
import { ComponentDefinitionError, FastMCP, ToolResult } from "fastmcp-ts";
import { Client } from "fastmcp-ts/client";

const noop = () => "ok";

describe("registering components", () => {
  const mcp = () => new FastMCP({ name: "defs", onError: () => undefined });

  it("rejects invalid tool names", () => {
    for (const name of ["", "has space", "x".repeat(129), "emoji😀", undefined]) {
      expect(() => mcp().tool({ name: name as string, execute: noop })).toThrow(ComponentDefinitionError);
    }
    expect(() => mcp().tool({ name: "ok.name-with_chars", execute: noop })).not.toThrow();
  });

  it("rejects duplicates instead of silently replacing", () => {
    const server = mcp().tool({ name: "t", execute: noop });
    expect(() => server.tool({ name: "t", execute: noop })).toThrow(/already registered/);
    server.resource({ uri: "test://a", name: "a", read: noop });
    expect(() => server.resource({ uri: "test://a", name: "a2", read: noop })).toThrow(/already registered/);
  });

  it("rejects parameters that are not an object schema", () => {
    expect(() => mcp().tool({ name: "t", parameters: z.string() as never, execute: noop })).toThrow(/must describe an object/);
    expect(() => mcp().tool({ name: "t", parameters: { type: "array" }, execute: noop })).toThrow(/must describe an object/);
  });

  it("rejects an outputSchema whose root is not an object", () => {
    expect(() => mcp().tool({ name: "t", outputSchema: z.array(z.string()), execute: noop })).toThrow(/outputSchema must describe an object/);
  });

  it("rejects a missing handler, bad scopes and bad auth checks", () => {
    expect(() => mcp().tool({ name: "t" } as never)).toThrow(/"execute" must be a function/);
    expect(() => mcp().tool({ name: "t", scopes: ["has space"], execute: noop })).toThrow(/not a valid OAuth scope/);
    expect(() => mcp().tool({ name: "t", auth: "admin" as never, execute: noop })).toThrow(/auth check must be a function/);
  });

  it("rejects resources with relative or templated URIs and templates without variables", () => {
    expect(() => mcp().resource({ uri: "not a uri", name: "x", read: noop })).toThrow(/not an absolute URI/);
    expect(() => mcp().resource({ uri: "test://{id}", name: "x", read: noop })).toThrow(/use resourceTemplate/);
    expect(() => mcp().resourceTemplate({ uriTemplate: "test://fixed", name: "x", read: noop })).toThrow(/no variables/);
    expect(() => mcp().resourceTemplate({ uriTemplate: "test://{a}", name: "x", complete: { b: () => [] }, read: noop })).toThrow(/no such variable/);
  });

  it("rejects prompts with non-string arguments or completers for unknown arguments", () => {
    expect(() => mcp().prompt({ name: "p", arguments: z.object({ n: z.number() }), render: noop })).toThrow(/must be a string/);
    expect(() => mcp().prompt({ name: "p", arguments: [{ name: "a" }], complete: { b: () => [] }, render: noop })).toThrow(/no such argument/);
  });

});

describe("parameter schemas", () => {
  /** A Standard Schema from no particular library: what valibot or arktype provide. */
  const positiveCount = {
    "~standard": {
      version: 1 as const,
      vendor: "hand-made",
      types: undefined as unknown as { input: { count: number }; output: { count: number } },
      validate: (value: unknown) => {
        const count = (value as { count?: unknown } | null)?.count;
        return typeof count === "number" && count > 0 ? { value: { count } } : { issues: [{ message: "must be a positive number", path: ["count"] }] };
      },
      jsonSchema: {
        input: () => ({ type: "object", properties: { count: { type: "number", exclusiveMinimum: 0 } }, required: ["count"] }),
        output: () => ({ type: "object", properties: { count: { type: "number" } } }),
      },
    },
  };

  it("accepts any Standard Schema that can describe itself as JSON Schema", async () => {
    const server = new FastMCP({ name: "standard" }).tool({ name: "repeat", parameters: positiveCount, execute: ({ count }) => "x".repeat(count) });
    await using client = await new Client(server).connect();
    expect((await client.listTools())[0]!.inputSchema).toEqual({ type: "object", properties: { count: { type: "number", exclusiveMinimum: 0 } }, required: ["count"] });
    expect((await client.callTool("repeat", { count: 3 })).content).toEqual([{ type: "text", text: "xxx" }]);
    await expect(client.callTool("repeat", { count: -1 })).rejects.toThrow('Invalid arguments for tool "repeat": count: must be a positive number');
  });

  it("refuses a Standard Schema that cannot describe itself", () => {
    const opaque = { "~standard": { version: 1 as const, vendor: "opaque", validate: (value: unknown) => ({ value }) } };
    expect(() => new FastMCP({ name: "x" }).tool({ name: "t", parameters: opaque, execute: noop })).toThrow(/does not implement Standard JSON Schema/);
  });

  it("validates asynchronous schemas", async () => {
    const slowCheck = z.object({ name: z.string().refine(async (name) => name !== "taken", "is taken") });
    const server = new FastMCP({ name: "async" }).tool({ name: "claim", parameters: slowCheck, execute: ({ name }) => `claimed ${name}` });
    await using client = await new Client(server).connect();
    expect((await client.callTool("claim", { name: "free" })).content).toEqual([{ type: "text", text: "claimed free" }]);
    await expect(client.callTool("claim", { name: "taken" })).rejects.toThrow("name: is taken");
  });
});

describe("tool results", () => {
  it("converts return values into content", async () => {
    const server = new FastMCP({ name: "results", onError: () => undefined })
      .tool({ name: "number", execute: () => 42 })
      .tool({ name: "boolean", execute: () => false })
      .tool({ name: "object", execute: () => ({ a: 1 }) })
      .tool({ name: "strings", execute: () => ["a", "b"] })
      .tool({ name: "mixed", execute: () => ["note", { type: "text", text: "block" }] })
      .tool({ name: "error_result", execute: () => new ToolResult({ content: "handled failure", isError: true }) })
      .tool({ name: "bad_output", outputSchema: z.object({ n: z.number() }), execute: () => ({ n: "not a number" }) })
      .tool({ name: "not_object", outputSchema: z.object({ n: z.number() }), execute: () => "plain" });
    await using client = await new Client(server).connect();
    const text = async (name: string) => (await client.callTool(name, {}, { raiseOnError: false })).content;
    expect(await text("number")).toEqual([{ type: "text", text: "42" }]);
    expect(await text("boolean")).toEqual([{ type: "text", text: "false" }]);
    expect(await text("object")).toEqual([{ type: "text", text: '{"a":1}' }]);
    expect(await text("strings")).toEqual([{ type: "text", text: '["a","b"]' }]);
    expect(await text("mixed")).toEqual([{ type: "text", text: '["note"]' }, { type: "text", text: "block" }]);
    const failure = await client.callTool("error_result", {}, { raiseOnError: false });
    expect(failure).toMatchObject({ isError: true, content: [{ text: "handled failure" }] });
    expect(await text("bad_output")).toEqual([{ type: "text", text: expect.stringContaining("does not match its outputSchema: n:") }]);
    expect(await text("not_object")).toEqual([{ type: "text", text: expect.stringContaining("returned string, not an object") }]);
  });

  it("masks unexpected error details when asked, but not ToolError messages", async () => {
    const { ToolError } = await import("fastmcp-ts");
    const errors: string[] = [];
    const server = new FastMCP({ name: "masked", maskErrorDetails: true, onError: (_e, where) => errors.push(where) })
      .tool({ name: "leaky", execute: () => { throw new Error("password=hunter2 in connection string"); } })
      .tool({ name: "friendly", execute: () => { throw new ToolError("Please try again later"); } });
    await using client = await new Client(server).connect();
    await expect(client.callTool("leaky")).rejects.toThrow(/^Error calling tool "leaky"$/);
    await expect(client.callTool("friendly")).rejects.toThrow("Please try again later");
    expect(errors).toEqual(['Error calling tool "leaky"']);
  });

  it("announces list changes to connected clients", async () => {
    const server = new FastMCP({ name: "changes" }).tool({ name: "first", execute: noop });
    const seen: string[] = [];
    await using client = await new Client(server).connect();
    client.raw.setNotificationHandler("notifications/tools/list_changed", () => { seen.push("tools"); });
    server.tool({ name: "second", execute: noop });
    await expect.poll(() => seen).toEqual(["tools"]);
    expect((await client.listTools()).map((t) => t.name)).toEqual(["first", "second"]);
    expect(server.removeTool("first")).toBe(true);
    expect((await client.listTools()).map((t) => t.name)).toEqual(["second"]);
  });

  it("notifies subscribers of resource updates", async () => {
    const server = new FastMCP({ name: "subs" }).resource({ uri: "test://live", name: "live", read: () => "v1" });
    const updates: string[] = [];
    await using client = await new Client(server).connect();
    client.raw.setNotificationHandler("notifications/resources/updated", (n) => { updates.push(n.params.uri); });
    await server.notifyResourceUpdated("test://live");
    await client.subscribeResource("test://live");
    await server.notifyResourceUpdated("test://live");
    await server.notifyResourceUpdated("test://other");
    await expect.poll(() => updates).toEqual(["test://live"]);
    await client.unsubscribeResource("test://live");
  });
});
