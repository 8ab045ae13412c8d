/**
 * examples/oidc-proxy as a new user runs it: an OpenID Connect provider (oidc-provider) with the
 * proxy's confidential app registered for `<baseUrl>/auth/callback`, the example started with the
 * built CLI (`fastmcp-ts run examples/oidc-proxy/server.ts --transport http --port <port>`)
 * configured by environment variables or by the README's Google and Okta `.env` files in the
 * directory it is run from, and the official MCP client, which knows only the server's URL,
 * signing in through the provider.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "../helpers/idp.js";
import { OAuthMcpClient } from "../helpers/mcp-oauth-client.js";
import { mcpStatus, refresh } from "../helpers/oauth-flow.js";
import { CLI, cleanEnv, freePort, REPO, startServerProcess, type ServerProcess } from "../helpers/todo-server.js";
import { UserAgent } from "../helpers/user-agent.js";

const EXAMPLE = "examples/oidc-proxy/server.ts";
const APP = { id: "mcp-example", secret: randomBytes(24).toString("base64url") };

function structured<T>(result: CallToolResult): T {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const [block] = result.content;
  if (result.content.length !== 1 || block?.type !== "text") throw new Error(`expected one text block, got ${JSON.stringify(result.content)}`);
  return JSON.parse(block.text) as T;
}

/** The identity provider, with the example's app registered for the callback of a server on `port`. */
async function providerFor(port: number, options: IdentityProviderOptions = {}): Promise<IdentityProvider> {
  const idp = await startIdentityProvider({
    ...options,
    scopes: ["mcp:read", "mcp:write"],
    refreshAndRevocation: true,
    accountClaims: (id) => ({ email: `${id}@example.com`, name: id }),
    clients: [{
      client_id: APP.id,
      client_secret: APP.secret,
      redirect_uris: [`http://127.0.0.1:${port}/auth/callback`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
  });
  idp.allowResource(`http://127.0.0.1:${port}/mcp`);
  return idp;
}

describe("examples/oidc-proxy in front of a provider whose access tokens are JWTs for this server (environment variables)", () => {
  let idp: IdentityProvider;
  let server: ServerProcess;
  let home: string;
  let client: OAuthMcpClient;

  beforeAll(async () => {
    const port = await freePort();
    idp = await providerFor(port);
    home = await mkdtemp(join(tmpdir(), "fastmcp-oidc-proxy-"));
    server = await startServerProcess((listen) => [CLI, "run", EXAMPLE, "--transport", "http", "--port", String(listen)], {
      port,
      env: {
        FASTMCP_HOME: home,
        FASTMCP_SERVER_AUTH_OIDCPROXY_CONFIG_URL: idp.metadataUrl,
        FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_ID: APP.id,
        FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_SECRET: APP.secret,
        FASTMCP_SERVER_AUTH_OIDCPROXY_REQUIRED_SCOPES: "mcp:read",
        FASTMCP_SERVER_AUTH_OIDCPROXY_VALID_SCOPES: "mcp:read mcp:write",
      },
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await idp?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("starts without warnings and advertises itself as the authorization server, with the callback registered upstream", async () => {
    expect(server.url).toBe(`${server.baseUrl}/mcp`);
    expect(server.stderr()).not.toMatch(/warning/);
    const resource = (await (await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ resource: server.url, authorization_servers: [server.baseUrl], scopes_supported: ["mcp:read", "mcp:write"] });
    const metadata = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ issuer: server.baseUrl, registration_endpoint: `${server.baseUrl}/register`, jwks_uri: `${server.baseUrl}/.well-known/jwks.json` });
  });

  it("the official client signs in through the consent page and the provider's login, and whoami shows the provider's user", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice" }) }).connect();
    // This server's consent page, then the provider's login and consent pages.
    expect(client.authorizations[0]!.prompts).toEqual(["consent", "login", "consent"]);
    expect(client.fetched).toContain(`${server.baseUrl}/register`);
    const upstream = idp.authorizationRequests.at(-1)!;
    expect(upstream.get("client_id")).toBe(APP.id);
    expect(upstream.get("redirect_uri")).toBe(`${server.baseUrl}/auth/callback`);
    expect(upstream.get("resource")).toBe(server.url);

    const me = structured<{ subject: string; client: string; scopes: string[]; upstream_claims: Record<string, unknown> }>(await client.callTool("whoami"));
    expect(me).toMatchObject({ subject: "alice", scopes: ["mcp:read"] });
    expect(me.upstream_claims).toMatchObject({ sub: "alice", iss: idp.issuer, aud: server.url });
    // The client holds this server's token, never the provider's.
    expect(decodeJwt(client.tokens!.access_token)).toMatchObject({ iss: server.baseUrl, aud: server.url, sub: "alice", client_id: me.client });
  });

  it("userinfo reports the provider's refusal honestly: oidc-provider's userinfo refuses an access token issued for another resource", async () => {
    const result = await client.callTool("userinfo");
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("userinfo endpoint answered HTTP 401");
  });

  it("the client's refresh token renews this server's token, which keeps working", async () => {
    const held = client.tokens!;
    const renewed = await refresh(server.baseUrl, decodeJwt(held.access_token).client_id as string, held.refresh_token!);
    expect((await mcpStatus(server.url, renewed.access_token)).status).toBe(200);
    // Nothing went wrong on the server's side along the way.
    expect(server.stderr()).not.toContain("[fastmcp-ts]");
  });
});

describe("examples/oidc-proxy with the README's Google .env in its working directory (ID tokens verified, opaque access tokens)", () => {
  let idp: IdentityProvider;
  let server: ServerProcess;
  let workdir: string;

  beforeAll(async () => {
    const port = await freePort();
    idp = await providerFor(port);
    workdir = await mkdtemp(join(tmpdir(), "fastmcp-oidc-proxy-env-"));
    // The README's Google .env, verbatim but for this provider's URL and app.
    await writeFile(join(workdir, ".env"), await readmeEnv("Google", idp));
    server = await startInDirectory(workdir, port, { FASTMCP_HOME: join(workdir, "data") });
  });

  afterAll(async () => {
    await server?.stop();
    await idp?.close();
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it("reads .env from its working directory, asks the provider for UPSTREAM_SCOPES, and verifies the provider's ID token", async () => {
    expect(server.stderr()).not.toMatch(/warning/);
    await using client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "bob" }) }).connect();
    expect(client.authorizations[0]!.prompts).toEqual(["consent", "login", "consent"]);
    const upstream = idp.authorizationRequests.at(-1)!;
    expect(upstream.get("scope")).toBe("openid email profile");
    expect(upstream.get("access_type")).toBe("offline");
    expect(upstream.get("prompt")).toBe("consent");
    expect(upstream.get("nonce")).toBeTruthy();
    expect(upstream.has("resource")).toBe(false);

    const me = structured<{ subject: string; scopes: string[]; upstream_claims: Record<string, unknown> }>(await client.callTool("whoami"));
    expect(me).toMatchObject({ subject: "bob", scopes: ["openid"] });
    // The claims of the ID token: its audience is the app at the provider.
    expect(me.upstream_claims).toMatchObject({ sub: "bob", iss: idp.issuer, aud: APP.id });
  });

  it("userinfo calls the provider's userinfo endpoint with the upstream access token (upstreamAccessToken)", async () => {
    await using client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "carol" }) }).connect();
    expect(structured<Record<string, unknown>>(await client.callTool("userinfo"))).toMatchObject({ sub: "carol" });
    expect(server.stderr()).not.toContain("[fastmcp-ts]");
  });
});

describe("examples/oidc-proxy with the README's Okta .env in its working directory (JWT access tokens for api://default)", () => {
  let idp: IdentityProvider;
  let server: ServerProcess;
  let workdir: string;

  beforeAll(async () => {
    const port = await freePort();
    // Like Okta's default authorization server: access tokens are JWTs whose aud is api://default.
    idp = await providerFor(port, { audience: () => "api://default" });
    workdir = await mkdtemp(join(tmpdir(), "fastmcp-oidc-proxy-okta-"));
    await writeFile(join(workdir, ".env"), await readmeEnv("Okta", idp));
    // Okta issues JWTs for its audience whatever the request says; oidc-provider only for a
    // requested resource. A variable of the real environment wins over .env.
    server = await startInDirectory(workdir, port, { FASTMCP_HOME: join(workdir, "data"), UPSTREAM_FORWARD_RESOURCE: "true" });
  });

  afterAll(async () => {
    await server?.stop();
    await idp?.close();
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it("asks for mcp:read, sends the audience and UPSTREAM_SCOPES upstream, and accepts tokens for api://default carrying mcp:read", async () => {
    expect(server.stderr()).not.toMatch(/warning/);
    const challenge = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(challenge.headers.get("www-authenticate")).toContain('scope="mcp:read"');
    await using client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "dave" }) }).connect();
    const upstream = idp.authorizationRequests.at(-1)!;
    expect(upstream.get("audience")).toBe("api://default");
    expect(upstream.get("scope")).toBe("openid profile email offline_access mcp:read mcp:write");
    const me = structured<{ subject: string; scopes: string[]; upstream_claims: Record<string, unknown> }>(await client.callTool("whoami"));
    // Granted what the client asked for, not everything asked upstream.
    expect(me).toMatchObject({ subject: "dave", scopes: ["mcp:read"] });
    expect(me.upstream_claims).toMatchObject({ sub: "dave", iss: idp.issuer, aud: "api://default" });
    expect(server.stderr()).not.toContain("[fastmcp-ts]");
  });
});

/**
 * The `.env` block of the README's `## <section>`, with the provider's discovery URL and the
 * app's id and secret replaced by this test's; every other line as the README has it.
 */
async function readmeEnv(section: string, idp: IdentityProvider): Promise<string> {
  const readme = await readFile(join(REPO, "examples/oidc-proxy/README.md"), "utf8");
  const start = readme.indexOf(`## ${section}\n`);
  const end = readme.indexOf("\n## ", start + 1);
  const block = /```bash\n(FASTMCP_SERVER_AUTH_OIDCPROXY_CONFIG_URL=[\s\S]*?)```/.exec(readme.slice(start, end))?.[1];
  if (start === -1 || block === undefined) throw new Error(`examples/oidc-proxy/README.md has no .env block under ## ${section}`);
  const replaced: Record<string, string> = {
    FASTMCP_SERVER_AUTH_OIDCPROXY_CONFIG_URL: idp.metadataUrl,
    FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_ID: APP.id,
    FASTMCP_SERVER_AUTH_OIDCPROXY_CLIENT_SECRET: APP.secret,
  };
  return block.split("\n").map((line) => {
    const name = line.split("=", 1)[0]!;
    return name in replaced ? `${name}=${replaced[name]}` : line;
  }).join("\n");
}

/** `fastmcp-ts run <example> --transport http --port <port>` started from `cwd`, as a user who keeps `.env` there. */
async function startInDirectory(cwd: string, port: number, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, "run", join(REPO, EXAMPLE), "--transport", "http", "--port", String(port)], { cwd, env: { ...cleanEnv(), ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.kill(signal);
    await exited;
    clearTimeout(force);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const banner = /serving Streamable HTTP at (http:\/\/\S+)/.exec(stderr)?.[1];
    if (banner) return { baseUrl: `http://127.0.0.1:${port}`, url: banner, child, stderr: () => stderr, stdout: () => stdout, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`the server did not start; stderr:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
