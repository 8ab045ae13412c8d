import { describe, expect, it } from "vitest";
import { Client } from "fastmcp-ts/client";
import { mcp } from "../../examples/quickstart/server.js";

describe("examples/quickstart", () => {
  it("serves every component it advertises", async () => {
    await using client = await new Client(mcp).connect();
    expect((await client.listTools()).map((tool) => tool.name)).toEqual(["add", "divide", "word_stats", "countdown"]);
    expect((await client.callTool("add", { a: 2, b: 3 })).content).toEqual([{ type: "text", text: "5" }]);
    await expect(client.callTool("divide", { a: 1, b: 0 })).rejects.toThrow("Cannot divide by zero");
    expect((await client.callTool("word_stats", { text: "hello there" })).data).toEqual({ words: 2, characters: 11 });
    const progress: number[] = [];
    expect((await client.callTool("countdown", { n: 3 }, { onProgress: (p) => progress.push(p.progress) })).content).toEqual([{ type: "text", text: "Liftoff!" }]);
    expect(progress).toEqual([1, 2, 3]);
    expect(await client.readResource("quickstart://changelog")).toMatchObject([{ mimeType: "text/markdown", text: expect.stringContaining("first release") }]);
    expect(await client.readResource("quickstart://users/1")).toMatchObject([{ text: '{"id":"1","name":"Ada","role":"admin"}' }]);
    await expect(client.readResource("quickstart://users/9")).rejects.toThrow("No user 9");
    expect(await client.complete({ type: "ref/resource", uri: "quickstart://users/{id}" }, { name: "id", value: "" })).toMatchObject({ values: ["1", "2"] });
    const prompt = await client.getPrompt("review_code", { code: "let x = 1", language: "js" });
    expect(prompt.messages[0]!.content).toMatchObject({ text: expect.stringContaining("review this js") });
  });
});
