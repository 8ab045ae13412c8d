/**
 * The fastmcp-ts quickstart: a few tools, a resource, a resource template and a prompt.
 *
 *   npx fastmcp-ts run examples/quickstart/server.ts --transport http --port 8000
 *   npx fastmcp-ts call http://127.0.0.1:8000/mcp add a=2 b=3
 */
import * as z from "zod";
import { FastMCP, ResourceError, ToolError } from "fastmcp-ts";

export const mcp = new FastMCP({
  name: "Quickstart",
  version: "1.0.0",
  instructions: "A demo server: arithmetic, a changelog resource, user profiles and a code review prompt.",
});

mcp.tool({
  name: "add",
  description: "Add two numbers",
  parameters: z.object({ a: z.number().describe("First addend"), b: z.number().describe("Second addend") }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  execute: ({ a, b }) => a + b,
});

mcp.tool({
  name: "divide",
  description: "Divide a by b",
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => {
    if (b === 0) throw new ToolError("Cannot divide by zero");
    return a / b;
  },
});

mcp.tool({
  name: "word_stats",
  description: "Count the words and characters of a text",
  parameters: z.object({ text: z.string().min(1) }),
  outputSchema: z.object({ words: z.number(), characters: z.number() }),
  execute: ({ text }) => ({ words: text.trim().split(/\s+/).length, characters: text.length }),
});

mcp.tool({
  name: "countdown",
  description: "Count down from n, reporting progress and logging each step",
  parameters: z.object({ n: z.number().int().min(1).max(20) }),
  execute: async ({ n }, ctx) => {
    for (let i = n; i > 0; i--) {
      await ctx.reportProgress(n - i + 1, n, `${i}...`);
      await ctx.log.info(`${i}...`);
    }
    return "Liftoff!";
  },
});

mcp.resource({
  uri: "quickstart://changelog",
  name: "changelog",
  description: "What changed in this server",
  mimeType: "text/markdown",
  read: () => "# Changelog\n\n- 1.0.0: first release\n",
});

const users: Record<string, { name: string; role: string }> = {
  "1": { name: "Ada", role: "admin" },
  "2": { name: "Linus", role: "maintainer" },
};

mcp.resourceTemplate({
  uriTemplate: "quickstart://users/{id}",
  name: "user",
  description: "A user profile by id",
  mimeType: "application/json",
  complete: { id: (prefix) => Object.keys(users).filter((id) => id.startsWith(prefix)) },
  read: ({ id }) => {
    const user = users[String(id)];
    if (!user) throw new ResourceError(`No user ${String(id)}`);
    return { id, ...user };
  },
});

mcp.prompt({
  name: "review_code",
  description: "Ask for a code review",
  arguments: z.object({
    code: z.string().describe("The code to review"),
    language: z.string().optional().describe("Its language"),
  }),
  render: ({ code, language }) => `Please review this ${language ?? "code"} and point out bugs:\n\n${code}`,
});

export default mcp;
