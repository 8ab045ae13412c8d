/**
 * The client under test for the official conformance suite's `client` leg: our Client with our
 * OAuth, run by the suite as `<command> <server URL>` (see client.test.ts for the command line).
 *
 * The suite sets MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON: pre-registered
 * credentials for some scenarios) and MCP_CONFORMANCE_PROTOCOL_VERSION, and appends the MCP
 * server's URL as the last argument. Every auth scenario wants the same of a client: connect,
 * list the tools, call one (the step-up scenarios answer the call with 403 insufficient_scope).
 * MCP_CONFORMANCE_PROTOCOL_VERSION is not read: Client speaks the 2025-11-25 wire only, so
 * at 2026-07-28 the mock server refuses its MCP requests (see docs/compliance.md, "Client").
 *
 * The suite's mock authorization server approves every request at once by redirecting to the
 * client's redirect URI, so the "browser" here is a headless user agent: it loads the
 * authorization URL without following redirects and then loads each `Location` itself, which
 * ends at our loopback callback server.
 *
 * Exit 0 when the tool call succeeded; otherwise exit 1 with one line on stderr saying why.
 */
import { Client, OAuth, type OAuthOptions } from "../../src/client/index.js";

/**
 * The Client ID Metadata Document URL the suite's `auth/basic-cimd` scenario expects as client_id
 * (its mock authorization server does not fetch it). OAuth uses it only where the authorization
 * server advertises client_id_metadata_document_supported; elsewhere it registers dynamically.
 */
const CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json";

/** Redirects the user agent follows before giving up (the mock server needs one). */
const MAX_REDIRECTS = 5;

/** What MCP_CONFORMANCE_CONTEXT may carry for the scenarios this harness runs. */
interface ScenarioContext {
  name?: string;
  client_id?: string;
  client_secret?: string;
  client_metadata_url?: string;
}

/**
 * A browser that approves at once: GET the authorization URL, then GET every `Location` it is
 * sent to (the authorization server's redirect to our callback server), without a cookie jar,
 * scripts or forms: the suite's authorization server needs none.
 */
async function headlessUserAgent(authorizationUrl: string): Promise<void> {
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await fetch(url, { redirect: "manual" });
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || location === null) {
      // The callback server's page: the OAuth flow reads the outcome from the callback itself.
      if (hop > 0) return;
      throw new Error(`the authorization endpoint answered ${response.status} instead of redirecting`);
    }
    url = new URL(location, url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`refusing to follow a redirect to ${url.protocol}`);
  }
  throw new Error(`more than ${MAX_REDIRECTS} redirects from the authorization URL`);
}

function readContext(): ScenarioContext {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT;
  if (!raw) return {};
  const parsed = JSON.parse(raw) as unknown;
  if (typeof parsed !== "object" || parsed === null) throw new Error("MCP_CONFORMANCE_CONTEXT is not a JSON object");
  return parsed as ScenarioContext;
}

function oauthOptions(context: ScenarioContext): OAuthOptions {
  return {
    clientName: "fastmcp-ts conformance harness",
    // Pre-registered credentials when the scenario hands some out (auth/pre-registration).
    ...(context.client_id !== undefined ? { clientId: context.client_id } : {}),
    ...(context.client_secret !== undefined ? { clientSecret: context.client_secret } : {}),
    clientMetadataUrl: context.client_metadata_url ?? CLIENT_METADATA_URL,
    openBrowser: headlessUserAgent,
    // The suite gives a scenario 30 s: a callback that never comes should fail well before that.
    loginTimeoutMs: 10_000,
  };
}

async function main(): Promise<void> {
  const serverUrl = process.argv.at(-1);
  if (!serverUrl || !/^https?:\/\//.test(serverUrl)) throw new Error(`expected the MCP server URL as the last argument, got ${JSON.stringify(serverUrl)}`);
  const client = new Client(serverUrl, { auth: new OAuth(oauthOptions(readContext())), name: "fastmcp-ts-conformance", timeoutMs: 20_000 });
  try {
    await client.connect();
    const tools = await client.listTools();
    const tool = tools[0];
    if (!tool) throw new Error("the server lists no tools");
    await client.callTool(tool.name, {});
  } finally {
    await client.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "(no scenario)";
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`${scenario}: ${reason.replace(/\s+/g, " ")}\n`);
    process.exit(1);
  },
);
