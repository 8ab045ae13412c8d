import { defineCommand } from "citty";
import type { Tool } from "@modelcontextprotocol/client";
import type { Client } from "../../client/client.js";
import { coerceArguments, parseJsonArguments, parseKeyValues } from "../coerce.js";
import { openClient } from "../connect.js";
import { CliError, UsageError } from "../errors.js";
import { collectRepeated, commonFlags, connectionFlags } from "../flags.js";
import { formatToolResult, textOf, toolResultJson } from "../format.js";
import { print } from "../output.js";

export const notes = `Each key=value is coerced to the type the tool's input schema gives the key: numbers and integers,
booleans (true/false, yes/no, 1/0), objects and arrays (as JSON); strings stay as written. Keys the
schema does not describe are parsed as JSON when they parse, else kept as strings.
--json gives the arguments as one object; key=value pairs are merged over it.
A tool that reports an error prints its message on stderr and exits with code 1.

EXAMPLES

  fastmcp-ts call server.ts add a=2 b=3
  fastmcp-ts call http://127.0.0.1:8000/mcp search --json '{"query": "mcp", "limit": 5}' limit=10
  fastmcp-ts call server.ts weather city=Paris --output json`;

export const command = defineCommand({
  meta: {
    name: "call",
    description: "Call a tool and print its result",
  },
  args: {
    target: { type: "positional", required: true, description: "http(s) URL of a running server, or a server file (server.ts[:export]) to query in memory" },
    tool: { type: "positional", required: true, description: "Name of the tool to call" },
    arguments: { type: "positional", required: false, description: "Tool arguments as key=value pairs (any number of them)" },
    json: { type: "string", description: "Tool arguments as one JSON object", valueHint: "{...}" },
    output: { type: "enum", options: ["text", "json"], default: "text", description: "text: the result's text and structured content; json: the full result" },
    timeout: { type: "string", description: "Seconds to wait for the result (default 60)", valueHint: "seconds" },
    ...connectionFlags,
    ...commonFlags,
  },
  async run({ args, rawArgs }) {
    const pairs = parseKeyValues(args._.slice(2));
    const jsonArguments = parseJsonArguments(args.json);
    const timeoutMs = parseTimeout(args.timeout);
    const client = await openClient({
      target: args.target,
      token: args.token,
      headers: collectRepeated(rawArgs, ["--header", "-H"]),
      envFile: args["env-file"],
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    try {
      const tool = await findTool(client, args.tool);
      const toolArguments = { ...jsonArguments, ...coerceArguments(pairs, tool.inputSchema) };
      const result = await client.callTool(tool.name, toolArguments, { raiseOnError: false });
      if (args.output === "json") await print(toolResultJson(result));
      else if (!result.isError) await print(formatToolResult(result));
      if (result.isError) throw new CliError(textOf(result) || `Tool "${tool.name}" failed`);
    } finally {
      await client.close().catch(() => undefined);
    }
  },
});

async function findTool(client: Client, name: string): Promise<Tool> {
  const tools = await client.listTools();
  const tool = tools.find((candidate) => candidate.name === name);
  if (tool) return tool;
  const available = tools.length > 0 ? `available tools: ${tools.map((candidate) => candidate.name).join(", ")}` : "the server has no tools";
  throw new CliError(`Unknown tool "${name}"; ${available}`);
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got "${text}"`);
  return seconds * 1000;
}
