/**
 * `fastmcp-ts login`, `logout` and `list`/`call --auth oauth`, as a user runs them: the real
 * binary against examples/todo (LocalOAuthProvider) in a child process, with the login pages
 * answered by a scripted browser that reads the authorization URL the CLI prints and is sent back
 * to the CLI's own loopback callback.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { JWTKeyPair, JWTVerifier, RemoteAuthProvider } from "fastmcp-ts/auth";
import { serveHttp as serveInProcess } from "../helpers/http.js";
import { startTodoServer, type ServerProcess } from "../helpers/todo-server.js";
import { UserAgent, type AuthorizationOutcome } from "../helpers/user-agent.js";
import { closedPort } from "../helpers/ports.js";
import { expectOneLineFailure, freePort, killChildren, runCli, startCli, waitForStderr, type CliProcess, type CliResult } from "./helpers.js";

afterEach(killChildren);

const USERS = "alice:wonderland,bob:builder";
/** The line every login prints on stderr, ending with the authorization URL. */
const LOGIN_URL = /visit: (http\S+)\n/;

interface StoredFile {
  key: string;
  value: {
    latestIssuer?: string;
    tokens: Record<string, { access_token: string; refresh_token?: string; scope?: string; expires_at?: number }>;
    clients: Record<string, { client_id: string }>;
  };
}

/** A fresh FASTMCP_CONFIG_DIR, removed after the file's tests. */
const configDirs: string[] = [];
function newConfigDir(): string {
  const directory = mkdtempSync(join(tmpdir(), "fastmcp-cli-oauth-"));
  configDirs.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of configDirs) rmSync(directory, { recursive: true, force: true });
});

/** Waits for the authorization URL on the CLI's stderr and logs in there as a browser would. */
async function completeLogin(cli: CliProcess, agent: UserAgent, occurrence = 1): Promise<{ url: URL; outcome: AuthorizationOutcome }> {
  const pattern = new RegExp(`(?:[\\s\\S]*?${LOGIN_URL.source}){${occurrence}}`);
  await waitForStderr(cli, pattern, 20_000);
  const url = new URL([...cli.stderr().matchAll(new RegExp(LOGIN_URL.source, "g"))][occurrence - 1]![1]!);
  const outcome = await agent.authorize(url, url.searchParams.get("redirect_uri")!);
  return { url, outcome };
}

function loginUrls(stderr: string): string[] {
  return [...stderr.matchAll(new RegExp(LOGIN_URL.source, "g"))].map((match) => match[1]!);
}

function tokenFiles(configDir: string): string[] {
  const directory = join(configDir, "oauth");
  return readdirSync(directory).filter((name) => name.endsWith(".json")).map((name) => join(directory, name));
}

/** The stored OAuth record of `server` (the FileStore keeps one file per key). */
function storedRecord(configDir: string, server: string): StoredFile | undefined {
  for (const file of tokenFiles(configDir)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as StoredFile;
    if (stored.key === `mcp-oauth:${server}`) return stored;
  }
  return undefined;
}

function tokensOf(configDir: string, server: string) {
  const record = storedRecord(configDir, server)!.value;
  return record.tokens[record.latestIssuer!]!;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function expectLoginFailure(result: CliResult, message: string): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  const last = lines.at(-1)!;
  expect(last).toBe(`fastmcp-ts: ${message}`);
  // Only the login prompt before it; no stack.
  expect(lines.filter((line) => line.startsWith("fastmcp-ts: "))).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

describe("fastmcp-ts login / logout / --auth oauth against examples/todo", () => {
  let server: ServerProcess;
  let storeDir: string;
  const alice = () => new UserAgent({ login: "alice", password: "wonderland", deliver: true });

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), "fastmcp-cli-todo-"));
    server = await startTodoServer({ TODO_USERS: USERS, TODO_STORE_DIR: storeDir });
  });

  afterAll(async () => {
    await server?.stop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  it("login once, then list and two calls with no browser; tokens 0600 in a 0700 directory; logout revokes and forgets them", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };

    const login = startCli(["login", server.url, "--no-browser"], { env });
    const { url, outcome } = await completeLogin(login, alice());
    const done = await login.exited;
    expect(done.code, done.stderr).toBe(0);
    // The callback answered the browser, which came back with a code for the CLI only.
    expect(outcome.delivered?.status).toBe(200);
    expect(outcome.prompts).toEqual(["login", "consent"]);
    expect(url.origin).toBe(server.baseUrl);
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(url.searchParams.get("resource")).toBe(server.url);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(done.stderr).toContain(`To log in to ${server.url}, visit: ${url.href}\n`);
    expect(done.stdout).toMatch(new RegExp(`^Logged in to ${server.url.replace(/[.]/g, "\\.")} as alice \\(scopes: todo:read todo:write; access token expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, refreshed automatically\\)\\n$`));

    // Stored under FASTMCP_CONFIG_DIR/oauth: the directory 0700, every file 0600.
    expect(mode(join(config, "oauth"))).toBe(0o700);
    const files = tokenFiles(config);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(mode(file)).toBe(0o600);
    const tokens = tokensOf(config, server.url);
    expect(tokens.refresh_token).toBeTruthy();

    // Two calls and a listing: the stored tokens, no login URL, no browser.
    for (const tool of ["whoami", "list_todos"]) {
      const call = await runCli(["call", server.url, tool, "--auth", "oauth"], { env });
      expect(call.code, call.stderr).toBe(0);
      expect(call.stderr).toBe("");
      if (tool === "whoami") expect(JSON.parse(call.stdout)).toMatchObject({ user: "alice", scopes: ["todo:read", "todo:write"] });
      else expect(JSON.parse(call.stdout)).toEqual({ todos: [] });
    }
    const list = await runCli(["list", server.url, "--auth", "oauth"], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toBe("");
    expect(list.stdout).toContain("create_todo(title: string, description?: string)");

    // A second login finds working tokens and keeps them.
    const again = await runCli(["login", server.url, "--no-browser"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe("");
    expect(again.stdout).toMatch(/^Already logged in to \S+ as alice \(scopes: todo:read todo:write;/);

    // Nothing printed anywhere carries a token.
    for (const output of [done.stdout, done.stderr, list.stdout, again.stdout]) {
      expect(output).not.toContain(tokens.access_token);
      expect(output).not.toContain(tokens.refresh_token!);
    }

    const logout = await runCli(["logout", server.url], { env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toBe(`Logged out of ${server.url}: tokens revoked at the authorization server and forgotten\n`);
    expect(storedRecord(config, server.url)).toBeUndefined();
    // Revoked (RFC 7009): the refresh token no longer refreshes, the access token no longer works.
    const refreshed = await fetch(`${server.baseUrl}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: url.searchParams.get("client_id")! }),
    });
    expect(refreshed.ok).toBe(false);
    expect(await refreshed.json()).toMatchObject({ error: "invalid_grant" });
    const mcp = await fetch(server.url, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(mcp.status).toBe(401);

    const twice = await runCli(["logout", server.url], { env });
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stdout).toBe(`Not logged in to ${server.url}: nothing was stored for it\n`);

    // Logged out: the next call logs in again by itself.
    const relogin = startCli(["call", server.url, "whoami", "--auth", "oauth", "--no-browser"], { env });
    await completeLogin(relogin, alice());
    const result = await relogin.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(loginUrls(result.stderr)).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ user: "alice" });
  });

  it("login, then two calls open the system browser once", async () => {
    const config = newConfigDir();
    // The bundled xdg-open, without a desktop, runs $BROWSER: a script that records what it was given.
    const opened = join(config, "opened.log");
    const browser = join(config, "browser.sh");
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`);
    chmodSync(browser, 0o755);
    const env = { FASTMCP_CONFIG_DIR: config, BROWSER: browser, DISPLAY: "", WAYLAND_DISPLAY: "", XDG_CURRENT_DESKTOP: "" };

    const login = startCli(["login", server.url], { env });
    await waitForStderr(login, /Opening your browser to log in to \S+… If it does not open, visit: http\S+\n/);
    const url = await waitForFile(opened);
    expect(login.stderr()).toContain(`If it does not open, visit: ${url}\n`);
    const target = new URL(url);
    await alice().authorize(target, target.searchParams.get("redirect_uri")!);
    const done = await login.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^Logged in to /);

    for (let i = 0; i < 2; i++) {
      const call = await runCli(["call", server.url, "whoami", "--auth", "oauth"], { env });
      expect(call.code, call.stderr).toBe(0);
      expect(call.stderr).toBe("");
    }
    expect(readFileSync(opened, "utf8").trim().split("\n")).toHaveLength(1);
  });

  it("a browser that fails to open is not an error: the printed URL still works", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config, BROWSER: "/bin/false", DISPLAY: "", WAYLAND_DISPLAY: "", XDG_CURRENT_DESKTOP: "" };
    const login = startCli(["login", server.url], { env });
    await completeLogin(login, alice());
    const done = await login.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/^Opening your browser to log in to \S+… If it does not open, visit: http\S+\n$/);
  });

  it("refreshes expired tokens without a browser", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const login = startCli(["login", server.url, "--no-browser"], { env });
    await completeLogin(login, alice());
    expect((await login.exited).code).toBe(0);
    const before = tokensOf(config, server.url);

    // Expire the access token in the store: the next call refreshes it first.
    const file = tokenFiles(config).find((path) => (JSON.parse(readFileSync(path, "utf8")) as StoredFile).key === `mcp-oauth:${server.url}`)!;
    const stored = JSON.parse(readFileSync(file, "utf8")) as StoredFile;
    stored.value.tokens[stored.value.latestIssuer!]!.expires_at = Date.now() - 1_000;
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });

    const call = await runCli(["call", server.url, "whoami", "--auth", "oauth", "--no-browser"], { env });
    expect(call.code, call.stderr).toBe(0);
    expect(call.stderr).toBe("");
    const after = tokensOf(config, server.url);
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.expires_at!).toBeGreaterThan(Date.now());
    expect(mode(file)).toBe(0o600);
  });

  it("--force logs in again even with working tokens", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const first = startCli(["login", server.url, "--no-browser"], { env });
    await completeLogin(first, alice());
    expect((await first.exited).code).toBe(0);
    const forced = startCli(["login", server.url, "--no-browser", "--force"], { env });
    await completeLogin(forced, new UserAgent({ login: "bob", password: "builder", deliver: true }));
    const done = await forced.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^Logged in to \S+ as bob /);
  });

  it("steps up through the CLI: a todo:read login calling create_todo logs in again for todo:write", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const login = startCli(["login", server.url, "--no-browser", "--scopes", "todo:read"], { env });
    const first = await completeLogin(login, alice());
    const done = await login.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(first.url.searchParams.get("scope")!.split(" ")).not.toContain("todo:write");
    expect(done.stdout).toContain("(scopes: todo:read;");

    // The server hides create_todo from a todo:read token; calling it asks for todo:write.
    const call = startCli(["call", server.url, "create_todo", "title=42", "--auth", "oauth", "--no-browser"], { env });
    const second = await completeLogin(call, alice());
    const result = await call.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(loginUrls(result.stderr)).toHaveLength(1);
    expect(second.url.searchParams.get("scope")!.split(" ")).toEqual(expect.arrayContaining(["todo:read", "todo:write"]));
    // Coerced by the tool's schema once it was listed: the title stays a string.
    expect(JSON.parse(result.stdout)).toMatchObject({ todo: { title: "42", completed: false } });
    expect(tokensOf(config, server.url).scope!.split(" ")).toEqual(expect.arrayContaining(["todo:read", "todo:write"]));

    // The wider grant is kept: the next write needs no login.
    const next = await runCli(["call", server.url, "create_todo", "title=bread", "--auth", "oauth", "--no-browser"], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toBe("");
  });

  it("a pre-registered confidential client: --client-id, --client-secret and --callback-port are kept for the calls that follow", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const port = await freePort();
    const registered = await fetch(`${server.baseUrl}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "pre-registered", redirect_uris: [`http://127.0.0.1:${port}/callback`], token_endpoint_auth_method: "client_secret_basic", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] }),
    });
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as { client_id: string; client_secret: string };

    const login = startCli(["login", server.url, "--no-browser", "--client-id", client.client_id, "--client-secret", client.client_secret, "--callback-port", String(port)], { env });
    const { url } = await completeLogin(login, alice());
    const done = await login.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(url.searchParams.get("client_id")).toBe(client.client_id);
    expect(url.searchParams.get("redirect_uri")).toBe(`http://127.0.0.1:${port}/callback`);
    expect(done.stderr).not.toContain(client.client_secret);
    for (const file of tokenFiles(config)) expect(mode(file)).toBe(0o600);

    // An expired token is refreshed with the client's credentials, which the call has from login.
    const file = tokenFiles(config).find((path) => (JSON.parse(readFileSync(path, "utf8")) as StoredFile).key === `mcp-oauth:${server.url}`)!;
    const stored = JSON.parse(readFileSync(file, "utf8")) as StoredFile;
    const before = stored.value.tokens[stored.value.latestIssuer!]!;
    before.expires_at = Date.now() - 1_000;
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    const call = await runCli(["call", server.url, "whoami", "--auth", "oauth", "--no-browser"], { env });
    expect(call.code, call.stderr).toBe(0);
    expect(call.stderr).toBe("");
    expect(JSON.parse(call.stdout)).toMatchObject({ user: "alice", client: client.client_id });
    expect(tokensOf(config, server.url).access_token).not.toBe(before.access_token);

    // Revocation authenticates as that client too.
    const refreshToken = tokensOf(config, server.url).refresh_token!;
    const logout = await runCli(["logout", server.url], { env });
    expect(logout.stdout).toBe(`Logged out of ${server.url}: tokens revoked at the authorization server and forgotten\n`);
    expect(tokenFiles(config)).toEqual([]);
    const refreshed = await fetch(`${server.baseUrl}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
    expect(await refreshed.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("tokens revoked behind the CLI's back: the next call logs in again, quietly", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const login = startCli(["login", server.url, "--no-browser"], { env });
    const { url } = await completeLogin(login, alice());
    expect((await login.exited).code).toBe(0);
    const tokens = tokensOf(config, server.url);
    const revoked = await fetch(`${server.baseUrl}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.refresh_token!, client_id: url.searchParams.get("client_id")! }),
    });
    expect(revoked.status).toBe(200);

    const call = startCli(["call", server.url, "whoami", "--auth", "oauth", "--no-browser"], { env });
    await completeLogin(call, alice());
    const result = await call.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ user: "alice" });
    // Only the login prompt: the SDK's warnings about discarding the refused tokens stay out of it.
    expect(result.stderr).not.toContain("[mcp-sdk]");
    expect(result.stderr.split("\n").filter((line) => line !== "")).toHaveLength(2);
  });

  it("a denied login exits 1 with one line saying so", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const deny = () => new UserAgent({ login: "alice", password: "wonderland", decision: "deny", deliver: true });
    const login = startCli(["login", server.url, "--no-browser"], { env });
    await completeLogin(login, deny());
    expectLoginFailure(await login.exited, "Login refused: access denied by the authorization server");

    const call = startCli(["call", server.url, "whoami", "--auth", "oauth", "--no-browser"], { env });
    await completeLogin(call, deny());
    expectLoginFailure(await call.exited, "Login refused: access denied by the authorization server");
  });

  it("a login nobody finishes times out with a clear message", async () => {
    const config = newConfigDir();
    const result = await runCli(["login", server.url, "--no-browser", "--timeout", "1"], { env: { FASTMCP_CONFIG_DIR: config } });
    expectLoginFailure(result, "Login timed out: no authorization response reached the callback within 1 s; run the command again to retry");
    expect(loginUrls(result.stderr)).toHaveLength(1);
  });

  it("logout forgets the tokens even when the authorization server cannot be reached", async () => {
    const config = newConfigDir();
    const env = { FASTMCP_CONFIG_DIR: config };
    const store = mkdtempSync(join(tmpdir(), "fastmcp-cli-todo-"));
    const other = await startTodoServer({ TODO_USERS: USERS, TODO_STORE_DIR: store });
    try {
      const login = startCli(["login", other.url, "--no-browser"], { env });
      await completeLogin(login, alice());
      expect((await login.exited).code).toBe(0);
      expect(storedRecord(config, other.url)).toBeDefined();
    } finally {
      await other.stop();
      rmSync(store, { recursive: true, force: true });
    }
    const logout = await runCli(["logout", other.url], { env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toBe("");
    expect(logout.stdout).toBe(`Logged out of ${other.url}: stored tokens and registration forgotten\n`);
    expect(storedRecord(config, other.url)).toBeUndefined();
  });
});

describe("fastmcp-ts login / --auth failures", () => {
  it("an unreachable server: the usual one-line message", async () => {
    const config = newConfigDir();
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const env = { FASTMCP_CONFIG_DIR: config };
    expectOneLineFailure(await runCli(["login", url, "--no-browser"], { env }), `Could not connect to ${url}: connection refused (is the server running?)`, 1);
    expectOneLineFailure(await runCli(["call", url, "whoami", "--auth", "oauth", "--no-browser"], { env }), `Could not connect to ${url}: connection refused (is the server running?)`, 1);
  });

  it("--auth takes oauth only, and not with --token", async () => {
    const env = { FASTMCP_CONFIG_DIR: newConfigDir() };
    const url = "http://127.0.0.1:9/mcp";
    expectOneLineFailure(await runCli(["call", url, "whoami", "--auth", "basic"], { env }), '--auth must be "oauth", got "basic"', 2);
    expectOneLineFailure(await runCli(["list", url, "--auth=basic"], { env }), '--auth must be "oauth", got "basic"', 2);
    const both = await runCli(["call", url, "whoami", "--auth", "oauth", "--token", "tok-0123456789"], { env });
    expectOneLineFailure(both, "--auth oauth and --token cannot be used together", 2);
    expect(both.stderr).not.toContain("tok-0123456789");
    expectOneLineFailure(await runCli(["list", url, "--token", "tok-0123456789", "--auth", "oauth"], { env }), "--auth oauth and --token cannot be used together", 2);
    expectOneLineFailure(await runCli(["list", "server.ts", "--auth", "oauth"], { env }), "--auth oauth only applies to http(s) URLs", 2);
    expectOneLineFailure(await runCli(["list", url, "--no-browser"], { env }), "--no-browser only applies with --auth oauth", 2);
  });

  it("login's own flags are checked", async () => {
    const env = { FASTMCP_CONFIG_DIR: newConfigDir() };
    expectOneLineFailure(await runCli(["login"], { env }), /Missing required positional argument: URL/, 2);
    expectOneLineFailure(await runCli(["login", "not-a-url"], { env }), "Not a URL: not-a-url", 2);
    expectOneLineFailure(await runCli(["login", "ftp://example.com/mcp"], { env }), "Unsupported URL scheme ftp:", 2);
    expectOneLineFailure(await runCli(["login", "http://127.0.0.1:9/mcp", "--callback-port", "70000"], { env }), '--callback-port must be an integer between 1 and 65535, got "70000"', 2);
    expectOneLineFailure(await runCli(["login", "http://127.0.0.1:9/mcp", "--timeout", "0"], { env }), "--timeout must be a positive number of seconds", 2);
    expectOneLineFailure(await runCli(["login", "http://127.0.0.1:9/mcp", "--client-secret", "shh-0123456789"], { env }), "--client-secret needs --client-id", 2);
    expectOneLineFailure(await runCli(["logout", "http://127.0.0.1:9/mcp", "--force"], { env }), 'Unknown option --force for "logout"', 2);
  });

  it("never prints --client-secret, even with --debug", async () => {
    const secret = "cl1ent-s3cret-value";
    const url = `http://127.0.0.1:${await closedPort()}/mcp?tenant=${secret}`;
    const env = { FASTMCP_CONFIG_DIR: newConfigDir() };
    for (const extra of [[], ["--debug"]]) {
      const result = await runCli(["login", url, "--no-browser", "--client-id", "my-app", "--client-secret", secret, ...extra], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Could not connect to");
      expect(result.stderr).toContain("tenant=***");
      expect(result.stderr).not.toContain(secret);
    }
  });
});

describe("--auth oauth when the server's OAuth metadata points somewhere unreachable", () => {
  it("an authorization server on a closed port: the message names its metadata URL, not the MCP server", async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const port = await freePort();
    const mcp = new FastMCP({ name: "remote-auth", auth: new RemoteAuthProvider({ authorizationServerUrl: closed, baseUrl: `http://127.0.0.1:${port}` }) });
    await using server = await serveInProcess(mcp, { port });
    const env = { FASTMCP_CONFIG_DIR: newConfigDir() };
    for (const command of [["list", server.url!, "--auth", "oauth"], ["login", server.url!]]) {
      const result = await runCli([...command, "--no-browser"], { env });
      expectOneLineFailure(result, `Could not reach the authorization server metadata at ${closed}/.well-known/oauth-authorization-server (connection refused) while logging in to ${server.url}`, 1);
      expect(result.stderr).not.toContain(`Could not connect to ${server.url}`);
      expect(result.stderr).not.toContain("is the server running");
    }
  });

  it("examples/todo with a BASE_URL naming a port nothing listens on: the unreachable metadata URL is named", async () => {
    const storeDir = mkdtempSync(join(tmpdir(), "fastmcp-cli-todo-"));
    configDirs.push(storeDir);
    const wrong = `http://127.0.0.1:${await closedPort()}`;
    const server = await startTodoServer({ TODO_USERS: USERS, TODO_STORE_DIR: storeDir, BASE_URL: wrong });
    try {
      const result = await runCli(["list", server.url, "--auth", "oauth", "--no-browser"], { env: { FASTMCP_CONFIG_DIR: newConfigDir() } });
      expectOneLineFailure(result, `Could not reach the protected resource metadata at ${wrong}/.well-known/oauth-protected-resource/mcp (connection refused) while logging in to ${server.url}`, 1);
      expect(result.stderr).toContain("base URL");
      expect(result.stderr).not.toContain("is the server running");
    } finally {
      await server.stop();
    }
  });
});

describe("--auth oauth against a server that only validates tokens (JWTVerifier, no OAuth metadata)", () => {
  it("says to pass a token with --token, not the library's auth: \"<token>\"", async () => {
    const keys = JWTKeyPair.generate();
    const mcp = new FastMCP({ name: "tokens-only", auth: new JWTVerifier({ publicKey: keys.publicKey, issuer: "https://idp.example", audience: "tokens-only" }) });
    await using server = await serveInProcess(mcp);
    const env = { FASTMCP_CONFIG_DIR: newConfigDir() };
    for (const command of [["list", server.url!, "--auth", "oauth"], ["call", server.url!, "whoami", "--auth", "oauth"], ["login", server.url!]]) {
      const result = await runCli([...command, "--no-browser"], { env });
      expectOneLineFailure(result, `${server.url} asks for a token but says nowhere how to log in`, 1);
      expect(result.stderr).toMatch(/pass it to list or call with --token <token>\n$/);
      expect(result.stderr).not.toContain("auth:");
      expect(result.stderr).not.toContain("visit:");
    }
  });
});

describe("--help", () => {
  it("login, logout, list and call describe the OAuth flags", async () => {
    const login = await runCli(["login", "--help"]);
    expect(login.code).toBe(0);
    for (const text of ["USAGE fastmcp-ts login [OPTIONS] <URL>", "--scopes=<a,b>", "--force", "--no-browser", "--callback-port=<port>", "--client-id=<id>", "--client-secret=<secret>", "--timeout=<seconds>", "$FASTMCP_CONFIG_DIR/oauth", "0600", "ssh -L"]) {
      expect(login.stdout).toContain(text);
    }
    const logout = await runCli(["logout", "--help"]);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toContain("USAGE fastmcp-ts logout [OPTIONS] <URL>");
    expect(logout.stdout).toContain("revoked");
    for (const name of ["list", "call"]) {
      const help = await runCli([name, "--help"]);
      expect(help.stdout).toContain("--auth=<oauth>");
      expect(help.stdout).toContain("--no-browser");
    }
    const root = await runCli(["--help"]);
    expect(root.stdout).toMatch(/login\s+Log in to an OAuth-protected server/);
    expect(root.stdout).toMatch(/logout\s+Forget \(and revoke\) the tokens/);
  });
});

async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = readFileSync(path, "utf8").trim();
      if (text) return text.split("\n")[0]!;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`${path} was never written`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
