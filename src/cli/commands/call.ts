import { defineCommand } from "citty";
import { InsufficientScopeError, type CallToolResult, type Tool } from "@modelcontextprotocol/client";
import type { Client, ToolCallResult } from "../../client/client.js";
import { coerceArguments, parseJsonArguments, parseKeyValues } from "../coerce.js";
import { openClient } from "../connect.js";
import { CliError, UsageError } from "../errors.js";
import { collectRepeated, commonFlags, connectionFlags } from "../flags.js";
import { formatToolResult, textOf, toolResultJson } from "../format.js";
import { oauthForConnection, withLoginErrors } from "../oauth.js";
import { print } from "../output.js";

export const notes = `Each key=value is coerced to the type the tool's input schema gives the key: numbers and integers,
booleans (true/false, yes/no, 1/0), objects and arrays (as JSON); strings stay as written. Keys the
schema does not describe are parsed as JSON when they parse, else kept as strings.
--json gives the arguments as one object; key=value pairs are merged over it.
A tool that reports an error prints its message on stderr and exits with code 1.
--auth oauth uses the tokens kept by fastmcp-ts login (refreshing them), and logs in by itself when
there are none or the server refuses them; a tool the tokens' scopes do not allow (the server answers
403 insufficient_scope, or does not list it) logs in again for more scope. The login URL is printed
on stderr; --no-browser only prints it.

EXAMPLES

  fastmcp-ts call server.ts add a=2 b=3
  fastmcp-ts call http://127.0.0.1:8000/mcp search --json '{"query": "mcp", "limit": 5}' limit=10
  fastmcp-ts call server.ts weather city=Paris --output json
  fastmcp-ts call http://127.0.0.1:8000/mcp whoami --auth oauth`;

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
    const oauth = await oauthForConnection({ target: args.target, auth: args.auth, token: args.token, browser: args.browser, debug: args.debug === true });
    const { tool, result } = await withLoginErrors(args.target, async () => {
      const client = await openClient({
        target: args.target,
        token: args.token,
        oauth: oauth?.oauth,
        headers: collectRepeated(rawArgs, ["--header", "-H"]),
        envFile: args["env-file"],
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      try {
        const tools = await client.listTools();
        let tool = tools.find((candidate) => candidate.name === args.tool);
        if (!tool && oauth) {
          // The server may hide the tools the token's scopes do not allow: ask for this one. A 403
          // insufficient_scope names the scope it needs; after that login the tool is listed.
          const probe = await probeHiddenTool(client, args.tool, { ...jsonArguments, ...coerceArguments(pairs, undefined) }, timeoutMs);
          if (probe.result) return { tool: { name: args.tool }, result: probe.result };
          if (probe.challenge) {
            await oauth.oauth.stepUp(probe.challenge.requiredScope, probe.challenge.resourceMetadataUrl);
            tool = (await client.listTools()).find((candidate) => candidate.name === args.tool);
          }
        }
        if (!tool) throw unknownTool(args.tool, tools);
        const toolArguments = { ...jsonArguments, ...coerceArguments(pairs, tool.inputSchema) };
        return { tool, result: await client.callTool(tool.name, toolArguments, { raiseOnError: false }) };
      } finally {
        await client.close().catch(() => undefined);
      }
    }, oauth !== undefined);
    if (args.output === "json") await print(toolResultJson(result));
    else if (!result.isError) await print(formatToolResult(result));
    if (result.isError) throw new CliError(textOf(result) || `Tool "${tool.name}" failed`);
  },
});

function unknownTool(name: string, tools: readonly Tool[]): CliError {
  const available = tools.length > 0 ? `available tools: ${tools.map((candidate) => candidate.name).join(", ")}` : "the server has no tools";
  return new CliError(`Unknown tool "${name}"; ${available}`);
}

/**
 * Calls a tool the server did not list, without the Client's own step-up: a server that hides it
 * for lack of scope answers 403 insufficient_scope (the challenge is returned); one that lets it
 * run gives its result; anything else means there is no such tool.
 */
async function probeHiddenTool(client: Client, name: string, toolArguments: Record<string, unknown>, timeoutMs: number | undefined): Promise<{ result?: ToolCallResult; challenge?: InsufficientScopeError }> {
  try {
    const result = (await client.raw.callTool({ name, arguments: toolArguments }, { timeout: timeoutMs ?? 60_000 })) as CallToolResult;
    return result.isError ? {} : { result: { ...result, data: result.structuredContent as Record<string, unknown> | undefined } };
  } catch (error) {
    for (let current: unknown = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
      if (current instanceof InsufficientScopeError) return { challenge: current };
    }
    return {};
  }
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got "${text}"`);
  return seconds * 1000;
}
