/**
 * examples/todo as its users run it: `fastmcp-ts run examples/todo/server.ts --transport http`
 * in a child process (BASE_URL, TODO_USERS, TODO_STORE_DIR from the environment), reached over
 * HTTP by the official MCP client logging in through a scripted browser, and by the commands of
 * the example's README (curl, node one-liners, and the real `fastmcp-ts call`).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { Client } from "fastmcp-ts/client";
import { OAuthMcpClient } from "../helpers/mcp-oauth-client.js";
import { mcpStatus, refresh, revoke, TokenError, type TokenResponse } from "../helpers/oauth-flow.js";
import { CLI, cleanEnv, developmentLogin, freePort, REPO, startServerProcess, startTodoServer, type ServerProcess } from "../helpers/todo-server.js";
import { UserAgent } from "../helpers/user-agent.js";

const USERS = "alice:wonderland,bob:builder";

interface Todo {
  id: string;
  title: string;
  description: string | null;
  completed: boolean;
}

/** What a todo tool returned: the example declares no output schemas, so its objects come as one JSON text block. */
function structured<T>(result: CallToolResult): T {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const [block] = result.content;
  if (result.content.length !== 1 || block?.type !== "text") throw new Error(`expected one text block, got ${JSON.stringify(result.content)}`);
  return JSON.parse(block.text) as T;
}

/** The parameters of a `Bearer` challenge. */
function challengeOf(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer\b/);
  return Object.fromEntries([...header!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key!, value!]));
}

function clientIdOf(accessToken: string): string {
  return decodeJwt(accessToken).client_id as string;
}

describe("examples/todo served by `fastmcp-ts run`, with the official MCP client", () => {
  let server: ServerProcess;
  let storeDir: string;
  const agent = new UserAgent({ login: "alice", password: "wonderland" });
  let client: OAuthMcpClient;

  beforeAll(async () => {
    storeDir = await mkdtemp(join(tmpdir(), "fastmcp-todo-"));
    server = await startTodoServer({ TODO_USERS: USERS, TODO_STORE_DIR: storeDir });
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it("prints no development login when TODO_USERS is set, and keeps its state in TODO_STORE_DIR", async () => {
    expect(server.url).toBe(`${server.baseUrl}/mcp`);
    expect(developmentLogin(server.stderr())).toBeUndefined();
    const metadata = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ issuer: server.baseUrl, jwks_uri: `${server.baseUrl}/.well-known/jwks.json`, scopes_supported: expect.arrayContaining(["todo:read", "todo:write"]) });
    expect((await readdir(storeDir)).length).toBeGreaterThan(0);
  });

  it("the client discovers the server, registers, logs in with todo:read, and lists only the tools todo:read allows", async () => {
    client = await new OAuthMcpClient(server.url, { userAgent: agent }).connect();
    expect(client.exchanges[0]).toMatchObject({ rpcMethod: "initialize", status: 401 });
    expect(challengeOf(client.exchanges[0]!.wwwAuthenticate)).toMatchObject({ scope: "todo:read", resource_metadata: `${server.baseUrl}/.well-known/oauth-protected-resource/mcp` });
    expect(client.fetched).toContain(`${server.baseUrl}/register`);
    expect(client.authorizations).toHaveLength(1);
    expect(client.authorizations[0]).toMatchObject({ resource: server.url, prompts: ["login", "consent"] });
    expect(client.authorizations[0]!.scopes).toContain("todo:read");
    expect(client.authorizations[0]!.scopes).not.toContain("todo:write");
    expect(decodeJwt(client.tokens!.access_token)).toMatchObject({ iss: server.baseUrl, aud: server.url, sub: "alice", scope: "todo:read" });

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["get_todo", "list_todos", "whoami"]);
    expect(structured(await client.callTool("list_todos"))).toEqual({ todos: [] });
  });

  it("create_todo gets 403 insufficient_scope; the client steps up to todo:write (consent only, no password) and the call succeeds", async () => {
    const before = client.exchanges.length;
    const created = structured<{ todo: Todo }>(await client.callTool("create_todo", { title: "Buy milk", description: "2 litres" }));
    expect(created.todo).toMatchObject({ title: "Buy milk", description: "2 litres", completed: false });

    const calls = client.exchanges.slice(before).filter((exchange) => exchange.rpcMethod === "tools/call");
    expect(calls.map((exchange) => exchange.status)).toEqual([403, 200]);
    const challenge = challengeOf(calls[0]!.wwwAuthenticate);
    expect(challenge.error).toBe("insufficient_scope");
    expect(challenge.scope!.split(" ")).toContain("todo:write");

    expect(client.authorizations).toHaveLength(2);
    expect(client.authorizations[1]!.scopes).toEqual(expect.arrayContaining(["todo:read", "todo:write"]));
    // The login session spared the password; the wider scope needed a new approval.
    expect(client.authorizations[1]!.prompts).toEqual(["consent"]);
    expect(agent.pages.at(-1)!.html).toContain("todo:write");
    expect(decodeJwt(client.tokens!.access_token).scope).toBe("todo:read todo:write");

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["create_todo", "delete_todo", "get_todo", "list_todos", "update_todo", "whoami"]);
  });

  it("lists, gets, updates and deletes todos; another user's list is their own", async () => {
    const second = structured<{ todo: Todo }>(await client.callTool("create_todo", { title: "Call Bob" })).todo;
    const { todos } = structured<{ todos: Todo[] }>(await client.callTool("list_todos"));
    expect(todos.map((todo) => todo.title)).toEqual(["Buy milk", "Call Bob"]);

    expect(structured<{ todo: Todo }>(await client.callTool("get_todo", { todo_id: second.id })).todo).toEqual(second);
    const updated = structured<{ todo: Todo }>(await client.callTool("update_todo", { todo_id: second.id, completed: true, title: "Call Bob back" })).todo;
    expect(updated).toEqual({ ...second, title: "Call Bob back", completed: true });
    expect(structured<{ todos: Todo[] }>(await client.callTool("list_todos", { completed: true })).todos).toEqual([updated]);
    expect(structured<{ todos: Todo[] }>(await client.callTool("list_todos", { completed: false })).todos.map((todo) => todo.title)).toEqual(["Buy milk"]);

    expect(structured(await client.callTool("delete_todo", { todo_id: second.id }))).toEqual({ deleted: second.id });
    const missing = await client.callTool("get_todo", { todo_id: second.id });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain(`Todo ${second.id} not found`);
    expect(structured(await client.callTool("whoami"))).toMatchObject({ user: "alice", scopes: ["todo:read", "todo:write"], client: clientIdOf(client.tokens!.access_token) });

    await using bob = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "bob", password: "builder" }) }).connect();
    expect(structured(await bob.callTool("list_todos"))).toEqual({ todos: [] });
    expect(structured(await bob.callTool("whoami"))).toMatchObject({ user: "bob" });
  });

  let refreshed: TokenResponse;

  it("the client's refresh token gets a new access token at /token, which works", async () => {
    const held = client.tokens!;
    expect(held.refresh_token).toBeDefined();
    refreshed = await refresh(server.baseUrl, clientIdOf(held.access_token), held.refresh_token!);
    expect(refreshed).toMatchObject({ token_type: "Bearer", scope: "todo:read todo:write", expires_in: 3600 });
    expect(refreshed.access_token).not.toBe(held.access_token);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(held.refresh_token);

    // The new token is alice's: another client (a plain bearer token) sees her todos.
    await using withToken = await new Client(server.url, { auth: refreshed.access_token }).connect();
    const listed = structured<{ todos: Todo[] }>(await withToken.callTool("list_todos"));
    expect(listed.todos.map((todo) => todo.title)).toEqual(["Buy milk"]);
  });

  it("revoking the access token at /revoke ends the grant: the MCP endpoint answers 401 and the refresh token is refused", async () => {
    const clientId = clientIdOf(refreshed.access_token);
    expect((await mcpStatus(server.url, refreshed.access_token)).status).toBe(200);
    expect(await revoke(server.baseUrl, clientId, refreshed.access_token)).toBe(200);

    const refused = await mcpStatus(server.url, refreshed.access_token);
    expect(refused.status).toBe(401);
    expect(challengeOf(refused.challenge).error).toBe("invalid_token");
    // The SDK client's access token came from the same grant.
    expect((await mcpStatus(server.url, client.tokens!.access_token)).status).toBe(401);
    const error = await refresh(server.baseUrl, clientId, refreshed.refresh_token!).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).error).toBe("invalid_grant");
  });

  it("the README's manual flow (curl register, PKCE one-liners, browser, curl /token) gives a token `fastmcp-ts call` works with", async () => {
    const readme = await readFile(join(REPO, "examples/todo/README.md"), "utf8");
    const steps = manualFlow(readme, server.baseUrl);
    // The acceptance line, verbatim.
    expect(readme).toContain('npx fastmcp-ts call http://127.0.0.1:8000/mcp list_todos --token "$ACCESS_TOKEN"');

    const first = await bash(`${steps.register}\n${steps.pkce}\n${steps.authorize}\nprintf 'VERIFIER=%s\\n' "$VERIFIER"`);
    const [clientId, authorizationUrl, verifierLine] = first.split("\n");
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(authorizationUrl).toMatch(new RegExp(`^${server.baseUrl}/authorize\\?`));
    const verifier = verifierLine!.replace(/^VERIFIER=/, "");

    // The browser: log in and approve; it lands on the callback, where nothing listens.
    const browser = new UserAgent({ login: "bob", password: "builder" });
    const landing = await browser.authorize(authorizationUrl!, "http://127.0.0.1:8765/callback");
    expect(landing.prompts).toEqual(["login", "consent"]);
    expect(landing.params.get("state")).toBe("by-hand");
    expect(landing.params.get("iss")).toBe(server.baseUrl);
    const code = landing.params.get("code")!;

    const env = { CLIENT_ID: clientId!, VERIFIER: verifier, CODE: code };
    const tokenStep = steps.token.replace(/^CODE=.*\n/m, "");
    const tokens = await bash(`${tokenStep}\nprintf '%s\\n%s\\n' "$ACCESS_TOKEN" "$REFRESH_TOKEN"`, env);
    const [accessToken, refreshToken] = tokens.split("\n");
    expect(decodeJwt(accessToken!)).toMatchObject({ sub: "bob", aud: server.url, scope: "todo:read todo:write", client_id: clientId });

    // `npx fastmcp-ts` is this package's bin: the built CLI.
    const calls = steps.call.replaceAll("npx fastmcp-ts ", `"${process.execPath}" "${CLI}" `);
    const output = await bash(calls, { ...env, ACCESS_TOKEN: accessToken! });
    // Each call prints the JSON its tool returned.
    const [created, listed] = output.split(/\n(?=\{)/);
    expect(JSON.parse(created!)).toMatchObject({ todo: { title: "Buy milk", completed: false } });
    expect(JSON.parse(listed!)).toEqual({ todos: [JSON.parse(created!).todo] });

    // The very command of the acceptance line, run directly.
    const direct = await run(process.execPath, [CLI, "call", server.url, "list_todos", "--token", accessToken!]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(JSON.parse(direct.stdout)).toEqual(JSON.parse(listed!));

    const refreshAndRevoke = await bash(steps.refresh, { ...env, ACCESS_TOKEN: accessToken!, REFRESH_TOKEN: refreshToken! });
    expect(JSON.parse(refreshAndRevoke)).toMatchObject({ token_type: "Bearer", access_token: expect.any(String), refresh_token: expect.any(String) });
    expect((await mcpStatus(server.url, accessToken!)).status).toBe(401);
    const after = await run(process.execPath, [CLI, "call", server.url, "list_todos", "--token", accessToken!]);
    expect(after.code).not.toBe(0);
    expect(after.stdout).toBe("");
  });
});

describe("examples/todo with the development login and short-lived tokens", () => {
  let server: ServerProcess;
  let storeDir: string;

  beforeAll(async () => {
    storeDir = await mkdtemp(join(tmpdir(), "fastmcp-todo-dev-"));
    // LocalOAuthProvider's own setting, read from the environment since the example does not set it.
    server = await startTodoServer({ TODO_STORE_DIR: storeDir, FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ACCESS_TOKEN_TTL_SECONDS: "2" });
  });

  afterAll(async () => {
    await server?.stop();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it("logs in with the development login printed on stderr; the client refreshes an expired access token by itself", async () => {
    const login = await waitForLogin(server);
    expect(login.username).toBe("dev");
    await using client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: login.username, password: login.password }) }).connect();
    expect(client.authorizations[0]!.prompts).toEqual(["login", "consent"]);
    expect(structured(await client.callTool("whoami"))).toMatchObject({ user: "dev", scopes: ["todo:read"] });

    const first = client.tokens!;
    expect(first.expires_in).toBe(2);
    // Wait until the server refuses the token: it expired.
    for (let attempt = 0; (await mcpStatus(server.url, first.access_token)).status !== 401; attempt++) {
      if (attempt > 100) throw new Error("the access token never expired");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tokenRequests = () => client.fetched.filter((url) => url === `${server.baseUrl}/token`).length;
    const [exchangesBefore, tokenRequestsBefore] = [client.exchanges.length, tokenRequests()];
    expect(structured(await client.callTool("whoami"))).toMatchObject({ user: "dev" });
    // The server refused the expired token; the client refreshed it and sent the call again.
    const calls = client.exchanges.slice(exchangesBefore).filter((exchange) => exchange.rpcMethod === "tools/call");
    expect(calls.map((exchange) => exchange.status)).toEqual([401, 200]);
    expect(challengeOf(calls[0]!.wwwAuthenticate).error).toBe("invalid_token");
    expect(tokenRequests()).toBe(tokenRequestsBefore + 1);
    expect(client.tokens!.access_token).not.toBe(first.access_token);
    expect(client.tokens!.refresh_token).not.toBe(first.refresh_token);
    // A refresh, not a new login.
    expect(client.authorizations).toHaveLength(1);
  });

  it("prints the same development login after a restart on the same TODO_STORE_DIR", async () => {
    const before = await waitForLogin(server);
    await server.stop();
    server = await startTodoServer({ TODO_STORE_DIR: storeDir });
    expect(await waitForLogin(server)).toEqual(before);
  });
});

async function waitForLogin(server: ServerProcess): Promise<{ username: string; password: string }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const login = developmentLogin(server.stderr());
    if (login) return login;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no development login on stderr:\n${server.stderr()}`);
}

/** The README's `<!-- manual-flow:<step> -->` shell blocks, with its port-8000 URLs pointing at `baseUrl`. */
function manualFlow(readme: string, baseUrl: string): Record<"register" | "pkce" | "authorize" | "token" | "call" | "refresh", string> {
  const blocks = new Map<string, string>();
  for (const [, name, body] of readme.matchAll(/<!-- manual-flow:(\w+) -->\n```bash\n([\s\S]*?)```/g)) blocks.set(name!, body!.replaceAll("http://127.0.0.1:8000", baseUrl));
  const step = (name: string) => {
    const body = blocks.get(name);
    if (body === undefined) throw new Error(`examples/todo/README.md has no manual-flow:${name} block`);
    return body;
  };
  return { register: step("register"), pkce: step("pkce"), authorize: step("authorize"), token: step("token"), call: step("call"), refresh: step("refresh") };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a shell snippet as a user would paste it (bash, stop at the first failure); its stdout, trimmed. */
describe("examples/todo run with --port alone, as a newcomer does (no BASE_URL)", () => {
  const runOnPort = (env: Record<string, string>) => startServerProcess((port) => [CLI, "run", "examples/todo/server.ts", "--transport", "http", "--port", String(port)], { env });

  it("advertises the port it listens on, in the challenge and both metadata documents, and the OAuth flow works", async () => {
    const storeDir = await mkdtemp(join(tmpdir(), "fastmcp-todo-port-"));
    const server = await runOnPort({ TODO_USERS: USERS, TODO_STORE_DIR: storeDir });
    try {
      const challenge = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
      expect(challenge.status).toBe(401);
      expect(challengeOf(challenge.headers.get("www-authenticate")).resource_metadata).toBe(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
      const resource = (await (await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
      expect(resource).toMatchObject({ resource: server.url, authorization_servers: [server.baseUrl] });
      const metadata = (await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({ issuer: server.baseUrl, token_endpoint: `${server.baseUrl}/token` });

      await using client = await new OAuthMcpClient(server.url, { userAgent: new UserAgent({ login: "alice", password: "wonderland" }) }).connect();
      expect(structured(await client.callTool("whoami"))).toMatchObject({ user: "alice", scopes: ["todo:read"] });
      expect(server.stderr()).not.toMatch(/warning/);
    } finally {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  it("warns at startup when BASE_URL is a loopback URL naming another port", async () => {
    const storeDir = await mkdtemp(join(tmpdir(), "fastmcp-todo-port-"));
    const other = await freePort();
    const server = await runOnPort({ TODO_USERS: USERS, TODO_STORE_DIR: storeDir, BASE_URL: `http://127.0.0.1:${other}` });
    try {
      const port = new URL(server.baseUrl).port;
      expect(server.stderr()).toContain(`warning: LocalOAuthProvider baseUrl http://127.0.0.1:${other} names port ${other}, but the server listens on port ${port}`);
    } finally {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});

async function bash(script: string, env: Record<string, string> = {}): Promise<string> {
  const result = await run("bash", ["-euo", "pipefail", "-c", script], env);
  if (result.code !== 0) throw new Error(`the snippet failed (exit ${result.code}):\n${script}\nstderr:\n${result.stderr}`);
  return result.stdout.trim();
}
