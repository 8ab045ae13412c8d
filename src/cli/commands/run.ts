import { defineCommand } from "citty";
import type { RunningServer, RunOptions } from "../../server/run.js";
import { CliError } from "../errors.js";
import { loadEnvironment } from "../env.js";
import { commonFlags, parsePort } from "../flags.js";
import { isPortInUse, loadServer, parseFileTarget, setRunOverride, type FileTarget } from "../loader.js";

const TRANSPORTS = ["stdio", "http", "sse", "streamable-http"];

export const notes = `The server is the export named after ':', else the default export, else an export named mcp, server or app.
If the file calls mcp.run() itself, it starts once, with the flags given here winning over the file's options.
Stop it with Ctrl-C or SIGTERM: calls in flight finish first.

EXAMPLES

  fastmcp-ts run server.ts
  fastmcp-ts run server.ts --transport http --port 8000
  fastmcp-ts run servers.js:weather --transport sse --env-file prod.env`;

export const command = defineCommand({
  meta: {
    name: "run",
    description: "Serve the FastMCP server of a .ts/.js/.mjs file (stdio by default)",
  },
  args: {
    server: { type: "positional", required: true, description: "Server file, optionally with the export to serve: server.ts or server.ts:myServer" },
    transport: { type: "enum", options: TRANSPORTS, description: "stdio (default), http (Streamable HTTP) or sse" },
    host: { type: "string", description: "Interface to bind for http/sse (default 127.0.0.1)", valueHint: "host" },
    port: { type: "string", description: "Port for http/sse; 0 picks a free one (default 8000)", valueHint: "port" },
    path: { type: "string", description: "MCP endpoint path (default /mcp, or /sse for sse)", valueHint: "path" },
    "env-file": { type: "string", description: "Load environment variables from this file (./.env is always loaded when present)", valueHint: "path" },
    ...commonFlags,
  },
  async run({ args }) {
    const target = parseFileTarget(args.server);
    const flags = runFlags(args);
    loadEnvironment(args["env-file"]);
    // Set before the import: a file that calls mcp.run() itself then starts once, with these flags.
    setRunOverride(flags);
    const running = await start(target, flags).catch((error: unknown) => {
      if (isPortInUse(error)) throw new CliError(`${error.message}: stop the other server or pick another port with --port`, { cause: error });
      throw error;
    });
    await running.closed;
  },
});

/** Loads the file (which may start the server itself) and starts it if it has not; run() returns the started one. */
async function start(target: FileTarget, flags: RunOptions): Promise<RunningServer> {
  const server = await loadServer(target);
  return server.run({ transport: "stdio", ...flags });
}

/** Only the flags the user passed: the rest stays as the file's own run() call (or the defaults) says. */
function runFlags(args: { transport?: string; host?: string; port?: string; path?: string }): RunOptions {
  const flags: RunOptions = {};
  if (args.transport !== undefined) flags.transport = args.transport as RunOptions["transport"];
  if (args.host !== undefined) flags.host = args.host;
  if (args.port !== undefined) flags.port = parsePort(args.port);
  if (args.path !== undefined) flags.path = args.path.startsWith("/") ? args.path : `/${args.path}`;
  return flags;
}
