import { defineCommand } from "citty";
import { UsageError } from "../errors.js";
import { commonFlags } from "../flags.js";
import { cliTokenStore, createCliOAuth, forgetLoginSettings, hasStoredState, quietSdkWarnings, readLoginSettings, serverUrl } from "../oauth.js";
import { print } from "../output.js";

export const notes = `Forgets the tokens, the client registration and the login settings kept for the server. Where the
authorization server has a revocation endpoint, the refresh and access tokens are revoked there
first (best effort: the tokens are forgotten even when the server cannot be reached).

EXAMPLES

  fastmcp-ts logout http://127.0.0.1:8000/mcp`;

export const command = defineCommand({
  meta: {
    name: "logout",
    description: "Forget (and revoke) the tokens kept for a server by login",
  },
  args: {
    url: { type: "positional", required: true, description: "http(s) URL of the MCP server" },
    ...commonFlags,
  },
  async run({ args }) {
    if (args._.length > 1) throw new UsageError(`Unexpected argument "${args._[1]}": logout takes one URL (see fastmcp-ts logout --help)`);
    const server = serverUrl(args.url);
    quietSdkWarnings(args.debug === true);
    const store = cliTokenStore();
    const settings = await readLoginSettings(store, server);
    const loggedIn = await hasStoredState(store, server);
    // The stored registration (or --client-id of the login) authenticates the revocation requests.
    const { oauth } = createCliOAuth({ server, browser: false, ...settings }, store);
    oauth.bind(new URL(server));
    const { revoked } = await oauth.logout();
    const hadSettings = await forgetLoginSettings(store, server);
    if (!loggedIn && !hadSettings) {
      await print(`Not logged in to ${server}: nothing was stored for it`);
      return;
    }
    await print(`Logged out of ${server}: ${revoked ? "tokens revoked at the authorization server and forgotten" : "stored tokens and registration forgotten"}`);
  },
});
