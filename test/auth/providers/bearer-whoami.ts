import { Client } from "fastmcp-ts/client";
import type { WhoAmI } from "../../helpers/oauth-server.js";

/** What the guarded server's `whoami` tool sees when called with `token` as the bearer. */
export async function whoamiWithBearer(url: string, token: string): Promise<WhoAmI> {
  await using client = await new Client(url, { auth: token }).connect();
  const [block] = (await client.callTool("whoami")).content;
  if (block?.type !== "text") throw new Error(`whoami answered ${JSON.stringify(block)}`);
  return JSON.parse(block.text) as WhoAmI;
}
