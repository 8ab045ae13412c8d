import { defineCommand } from "citty";
import type { Client } from "../../client/client.js";
import { openClient } from "../connect.js";
import { collectRepeated, commonFlags, connectionFlags } from "../flags.js";
import { formatListing, type ServerListing } from "../format.js";
import { oauthForConnection, withLoginErrors } from "../oauth.js";
import { print } from "../output.js";

export const notes = `--auth oauth uses the tokens kept by fastmcp-ts login (refreshing them), and logs in by itself when
there are none or the server refuses them (the login URL is printed on stderr; --no-browser only
prints it). The listing shows what those tokens allow: servers hide the tools a token's scopes do not.

EXAMPLES

  fastmcp-ts list server.ts
  fastmcp-ts list http://127.0.0.1:8000/mcp --token "$TOKEN"
  fastmcp-ts list http://127.0.0.1:8000/mcp --auth oauth
  fastmcp-ts list server.ts --json`;

export const command = defineCommand({
  meta: {
    name: "list",
    description: "List the tools, resources, resource templates and prompts of a server",
  },
  args: {
    target: { type: "positional", required: true, description: "http(s) URL of a running server, or a server file (server.ts[:export]) to query in memory" },
    json: { type: "boolean", description: "Print one JSON object (server, tools, resources, resourceTemplates, prompts) with full schemas" },
    ...connectionFlags,
    ...commonFlags,
  },
  async run({ args, rawArgs }) {
    const oauth = await oauthForConnection({ target: args.target, auth: args.auth, token: args.token, browser: args.browser, debug: args.debug === true });
    const listing = await withLoginErrors(args.target, async () => {
      const client = await openClient({
        target: args.target,
        token: args.token,
        oauth: oauth?.oauth,
        headers: collectRepeated(rawArgs, ["--header", "-H"]),
        envFile: args["env-file"],
      });
      try {
        return await listEverything(client);
      } finally {
        await client.close().catch(() => undefined);
      }
    }, oauth !== undefined);
    await print(args.json ? JSON.stringify(listing, null, 2) : formatListing(listing));
  },
});

/** Asks only for what the server advertises: a server without prompts would answer "method not found". */
async function listEverything(client: Client): Promise<ServerListing> {
  const capabilities = client.serverCapabilities ?? {};
  const [tools, resources, resourceTemplates, prompts] = await Promise.all([
    capabilities.tools ? client.listTools() : [],
    capabilities.resources ? client.listResources() : [],
    capabilities.resources ? client.listResourceTemplates() : [],
    capabilities.prompts ? client.listPrompts() : [],
  ]);
  return { server: client.serverInfo, instructions: client.instructions, tools, resources, resourceTemplates, prompts };
}
