import { describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP } from "fastmcp-ts";
import { Client } from "fastmcp-ts/client";

describe("smoke", () => {
  it("calls a tool in memory", async () => {
    const mcp = new FastMCP({ name: "smoke" });
    mcp.tool({ name: "add", parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
    await using client = await new Client(mcp).connect();
    const result = await client.callTool("add", { a: 2, b: 3 });
    expect(result.content).toEqual([{ type: "text", text: "5" }]);
  });
});
