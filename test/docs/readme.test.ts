import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Client } from "fastmcp-ts/client";

/** The TypeScript blocks of a markdown section, in order. */
function codeBlocks(markdown: string, section: string): string[] {
  const start = markdown.indexOf(`## ${section}`);
  const end = markdown.indexOf("\n## ", start + 1);
  const body = markdown.slice(start, end === -1 ? undefined : end);
  return [...body.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

describe("README five-minute tour", () => {
  it("builds a server that does what the tour says", async () => {
    const [server] = codeBlocks(readFileSync("README.md", "utf8"), "Five-minute tour");
    expect(server).toContain("new FastMCP");
    mkdirSync("test/.tmp", { recursive: true });
    writeFileSync("test/.tmp/readme-tour.ts", server!);
    const { mcp } = await import("../.tmp/readme-tour.js");
    await using client = await new Client(mcp).connect();
    const forecast = await client.callTool("forecast", { city: "Oslo" });
    expect(JSON.parse((forecast.content[0] as { text: string }).text)).toEqual({ city: "Oslo", units: "metric", days: ["sun", "rain", "sun"] });
    await expect(client.callTool("forecast", { city: "Atlantis" })).rejects.toThrow("Unknown city");
    expect(await client.readResource("weather://stations/OSL")).toMatchObject([{ text: '{"id":"OSL"}' }]);
    expect((await client.getPrompt("packing_list", { city: "Oslo" })).messages[0]!.content).toMatchObject({ text: "What should I pack for Oslo?" });
  });
});
