import { defineCommand } from "citty";
import { Client } from "../../client/client.js";
import { NoOAuthMetadataError } from "../../client/auth/errors.js";
import { ServerTokenStore } from "../../client/auth/token-store.js";
import type { KeyValueStore } from "../../storage/store.js";
import { UsageError } from "../errors.js";
import { commonFlags } from "../flags.js";
import {
  cliTokenStore,
  createCliOAuth,
  describeTokens,
  parseCallbackPort,
  parseLoginTimeout,
  parseScopes,
  quietSdkWarnings,
  readLoginSettings,
  saveLoginSettings,
  serverUrl,
  storedTokens,
  withLoginErrors,
  type LoginSettings,
} from "../oauth.js";
import { print } from "../output.js";

export const notes = `Runs the OAuth flow with the server's authorization server (discovery, registration, PKCE,
a loopback callback on 127.0.0.1) and keeps the tokens, so that list and call --auth oauth need no
browser afterwards (they refresh the tokens themselves). Without --force, tokens that still work
are kept and no browser opens.

The authorization URL is always printed on stderr. On a machine without a browser, use
--no-browser, open the URL anywhere, and let the browser come back to the callback: on the same
machine, or through a tunnel with a fixed port, e.g.
  ssh -L 8976:127.0.0.1:8976 server        (then, on the server)
  fastmcp-ts login https://mcp.example.com/mcp --no-browser --callback-port 8976

Tokens and registrations are kept in $FASTMCP_CONFIG_DIR/oauth, else
$XDG_CONFIG_HOME/fastmcp-ts/oauth, else ~/.config/fastmcp-ts/oauth (directory 0700, files 0600).
--client-id, --client-secret and --callback-port are kept there too, for the commands that follow.

EXAMPLES

  fastmcp-ts login http://127.0.0.1:8000/mcp
  fastmcp-ts login http://127.0.0.1:8000/mcp --scopes todo:read,todo:write --force
  fastmcp-ts login https://mcp.example.com/mcp --client-id my-app --client-secret "$SECRET" --callback-port 8976`;

export const command = defineCommand({
  meta: {
    name: "login",
    description: "Log in to an OAuth-protected server and keep the tokens for list and call --auth oauth",
  },
  args: {
    url: { type: "positional", required: true, description: "http(s) URL of the MCP server" },
    scopes: { type: "string", description: "Scopes to ask for, comma or space separated (default: what the server advertises)", valueHint: "a,b" },
    force: { type: "boolean", description: "Log in again even if the stored tokens still work" },
    browser: { type: "boolean", default: true, description: "Open the system browser", negativeDescription: "Only print the login URL (headless machines)" },
    "callback-port": { type: "string", description: "Port of the loopback callback (default: a free one, the registered one when it is free)", valueHint: "port" },
    "client-id": { type: "string", description: "A client registered beforehand at the authorization server (default: dynamic registration)", valueHint: "id" },
    "client-secret": { type: "string", description: "The secret of --client-id, for a confidential client", valueHint: "secret" },
    timeout: { type: "string", description: "Seconds to wait for the login to finish in the browser (default 300)", valueHint: "seconds" },
    ...commonFlags,
  },
  async run({ args }) {
    if (args._.length > 1) throw new UsageError(`Unexpected argument "${args._[1]}": login takes one URL (see fastmcp-ts login --help)`);
    const server = serverUrl(args.url);
    const scopes = parseScopes(args.scopes);
    const callbackPort = parseCallbackPort(args["callback-port"]);
    const loginTimeoutMs = parseLoginTimeout(args.timeout);
    if (args["client-secret"] !== undefined && args["client-id"] === undefined) throw new UsageError("--client-secret needs --client-id");
    quietSdkWarnings(args.debug === true);
    // Settings of an earlier login (a pre-registered client, a fixed port) hold unless given again.
    const store = cliTokenStore();
    const previous = await readLoginSettings(store, server);
    const settings: LoginSettings = args["client-id"] !== undefined
      ? { clientId: args["client-id"], ...(args["client-secret"] !== undefined ? { clientSecret: args["client-secret"] } : {}) }
      : { ...(previous.clientId !== undefined ? { clientId: previous.clientId } : {}), ...(previous.clientSecret !== undefined ? { clientSecret: previous.clientSecret } : {}) };
    const port = callbackPort ?? previous.callbackPort;
    if (port !== undefined) settings.callbackPort = port;

    const { oauth, logins } = createCliOAuth({
      server,
      browser: args.browser,
      ...settings,
      ...(scopes !== undefined ? { scopes } : {}),
      ...(loginTimeoutMs !== undefined ? { loginTimeoutMs } : {}),
    }, store);
    const client = new Client(server, { name: "fastmcp-ts-cli", auth: oauth });
    try {
      await withLoginErrors(server, async () => {
        const held = await storedTokens(store, server);
        if (!args.force && held && covers(held.scope, scopes)) {
          // Tokens are kept: the server says whether they still work (a refusal logs in again).
          await client.connect();
        } else {
          // A refresh cannot widen a grant: asking for more than is held needs a new authorization.
          await oauth.login({ force: args.force === true || held !== undefined }).catch(async (error: unknown) => {
            if (error instanceof NoOAuthMetadataError) await forgetDiscovery(store, server);
            throw error;
          });
        }
      });
    } finally {
      await client.close().catch(() => undefined);
    }
    await saveLoginSettings(store, server, settings);
    const what = logins() > 0 ? "Logged in to" : "Already logged in to";
    await print(`${what} ${server}${describeTokens(await storedTokens(store, server))}`);
  },
});

/** Nothing to log in to: forget what the attempt stored, unless tokens or registrations are kept too. */
async function forgetDiscovery(store: KeyValueStore, server: string): Promise<void> {
  const storage = new ServerTokenStore(store, server);
  const record = await storage.read();
  if (Object.keys(record.tokens).length === 0 && Object.keys(record.clients).length === 0) await storage.clear();
}

/** Whether the granted scopes include every requested one (nothing requested: yes). */
function covers(granted: string | undefined, requested: string | undefined): boolean {
  if (requested === undefined) return true;
  const held = new Set((granted ?? "").split(" "));
  return requested.split(" ").every((scope) => held.has(scope));
}
