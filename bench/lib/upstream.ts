/**
 * The proxy rows' identity provider: a real OpenID provider (oidc-provider, the one the tests use)
 * running in the harness's process, so on the harness's core, never the server's. The proxy's
 * confidential app is registered for the callback of the port the server will listen on, and
 * tokens are issued for that server's MCP URL. A sign-in goes through the proxy's consent page,
 * the provider's login (once per round) and the proxy's callback, which exchanges the provider's
 * code: outside the measured window. During the window the provider is idle: the proxy answers
 * `/token` and checks tools/call tokens from its own store and its cached verdict.
 */
import { randomBytes } from "node:crypto";
import { startProxyUpstream } from "../../test/helpers/proxied-server.js";
import { UserAgent } from "../../test/helpers/user-agent.js";
import { authorizationRequest, codeFrom, REDIRECT_URI, type BenchClient, type CodeSource, type PooledCode } from "./oauth.js";

const APP = { id: "fastmcp-bench-proxy", secret: randomBytes(24).toString("base64url") };

export interface BenchUpstream {
  /** The port the proxy's server must listen on (its callback is registered for it). */
  readonly port: number;
  /** What the server process is configured with (BENCH_PORT, BENCH_UPSTREAM_*). */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startUpstream(scopes: readonly string[]): Promise<BenchUpstream> {
  const { idp, port } = await startProxyUpstream(APP, { scopes, accountClaims: (id) => ({ email: `${id}@bench.fastmcp.local`, name: id }) });
  return {
    port,
    env: { BENCH_PORT: String(port), BENCH_UPSTREAM_CONFIG_URL: idp.metadataUrl, BENCH_UPSTREAM_CLIENT_ID: APP.id, BENCH_UPSTREAM_CLIENT_SECRET: APP.secret },
    close: () => idp.close(),
  };
}

/**
 * A browser that signs in through the proxy: the proxy's consent page (asked every time: a
 * scripted browser's navigations are not ones the browser started, so the approval is not
 * remembered for them), then the provider's login and consent the first time, then the proxy's
 * callback, until the redirect to the client.
 */
export class ProxyBrowser implements CodeSource {
  private readonly agent = new UserAgent({ login: "bench-user" });

  constructor(private readonly client: BenchClient) {}

  async code(): Promise<PooledCode> {
    const { url, verifier, state } = authorizationRequest(this.client);
    const outcome = await this.agent.authorize(url, REDIRECT_URI);
    return { code: codeFrom(outcome.params, state, this.client.baseUrl), verifier };
  }
}
