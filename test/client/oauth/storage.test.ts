/**
 * Where the client keeps what it learns: one record per MCP server URL (path included), inside it
 * a registration and tokens per authorization server (issuer); in memory by default, or in files
 * under the user's config directory (0600) with `tokenStorage: "file"`.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemoryOAuthProvider, RemoteAuthProvider } from "fastmcp-ts/auth";
import { Client, OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { defaultTokenDirectory } from "../../../src/client/auth/token-store.js";
import { startIdentityProvider, type IdentityProvider } from "../../helpers/idp.js";
import { SCOPES, scriptedBrowser, startServer, storedRecord, storedTokens, TOOL, textOf, watchMcpTraffic, type McpServer } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

function inMemoryServer(options: { port?: number } = {}): Promise<McpServer> {
  return startServer((baseUrl) => new InMemoryOAuthProvider({ baseUrl, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }), options);
}

async function issuerOf(baseUrl: string): Promise<string> {
  const metadata = (await (await fetch(`${baseUrl}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
  return metadata.issuer;
}

describe("per server URL", () => {
  let first: McpServer;
  let second: McpServer;
  beforeAll(async () => {
    [first, second] = await Promise.all([inMemoryServer(), inMemoryServer()]);
  });
  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
  });

  it("two servers on one host, one store: each its own record, and neither's token is ever sent to the other", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    await using a = new Client(first.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store }) });
    await a.connect();
    const tokenA = (await storedTokens(store, first.url))!.access_token;

    const traffic = watchMcpTraffic(second.url);
    await using b = new Client(second.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store }) });
    await b.connect();
    expect(traffic.exchanges[0]).toMatchObject({ status: 401, authorization: null });
    expect(traffic.exchanges.every((e) => e.authorization !== `Bearer ${tokenA}`)).toBe(true);
    expect(browser.opened).toHaveLength(2);
    expect(browser.opened[1]!.origin).toBe(second.baseUrl);

    const recordA = await storedRecord(store, first.url);
    const recordB = await storedRecord(store, second.url);
    expect(recordB.tokens[recordB.latestIssuer!]!.access_token).not.toBe(tokenA);
    expect(Object.keys(recordA.clients)).toEqual([await issuerOf(first.baseUrl)]);
    expect(Object.keys(recordB.clients)).toEqual([await issuerOf(second.baseUrl)]);
    expect(textOf(await a.callTool(TOOL.read))).toBe("read ok");
    expect(textOf(await b.callTool(TOOL.read))).toBe("read ok");
  });

  it("the key is the full URL: another path on the same origin has no tokens", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store });
    await using client = new Client(first.url, { auth: oauth });
    await client.connect();
    expect(await oauth.hasTokens()).toBe(true);

    const elsewhere = new OAuth({ tokenStorage: store });
    elsewhere.bind(new URL("/other/mcp", first.url));
    expect(await elsewhere.hasTokens()).toBe(false);
    const sameUrl = new OAuth({ tokenStorage: store });
    sameUrl.bind(new URL(first.url));
    expect(await sameUrl.hasTokens()).toBe(true);
  });

  it("one OAuth instance serves one server: binding it to a second is an error", async () => {
    const oauth = new OAuth();
    new Client(first.url, { auth: oauth });
    expect(() => new Client(second.url, { auth: oauth })).toThrow(/already used for .*create one per server/);
  });

  it("logout() forgets the server's tokens and registration: the next connection logs in again", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store });
    {
      await using client = new Client(first.url, { auth: oauth });
      await client.connect();
    }
    await oauth.logout();
    expect(await oauth.hasTokens()).toBe(false);
    expect(await storedRecord(store, first.url)).toEqual({ clients: {}, tokens: {} });
    await using again = new Client(first.url, { auth: oauth });
    await again.connect();
    expect(browser.opened).toHaveLength(2);
  });
});

describe("per issuer", () => {
  let idpA: IdentityProvider;
  let idpB: IdentityProvider;
  let server: McpServer;
  beforeAll(async () => {
    [idpA, idpB] = await Promise.all([startIdentityProvider(), startIdentityProvider()]);
    server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idpA.issuer, baseUrl, requiredScopes: SCOPES.required }));
    idpA.allowResource(server.url);
    idpB.allowResource(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([idpA?.close(), idpB?.close()]);
  });

  it("keys the registration and tokens by issuer; when the server moves to another authorization server, the client registers and logs in there", async () => {
    const store = new MemoryStore();
    const browser = scriptedBrowser();
    const oauth = new OAuth({ openBrowser: browser.openBrowser, tokenStorage: store });
    {
      await using client = new Client(server.url, { auth: oauth });
      await client.connect();
    }
    let record = await storedRecord(store, server.url);
    expect(record.latestIssuer).toBe(idpA.issuer);
    expect(Object.keys(record.clients)).toEqual([idpA.issuer]);
    expect(Object.keys(record.tokens)).toEqual([idpA.issuer]);

    // The same MCP URL, now trusting another identity provider (issuers differ by port).
    const port = server.port;
    await server.close();
    server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idpB.issuer, baseUrl, requiredScopes: SCOPES.required }), { port });

    await using client = new Client(server.url, { auth: oauth });
    await client.connect();
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(2);
    expect(browser.opened[1]!.origin).toBe(new URL(idpB.issuer).origin);
    expect(idpB.registrations).toHaveLength(1);
    record = await storedRecord(store, server.url);
    expect(record.latestIssuer).toBe(idpB.issuer);
    // A's registration is A's alone: never sent to B (MCP 2026-07-28, credentials bound to their issuer).
    expect(Object.keys(record.clients).sort()).toEqual([idpA.issuer, idpB.issuer].sort());
    expect(record.clients[idpB.issuer]!.client_id).not.toBe(record.clients[idpA.issuer]!.client_id);
  });
});

describe('tokenStorage: "file"', () => {
  let server: McpServer;
  let configDir: string;
  const saved = process.env.FASTMCP_CONFIG_DIR;
  beforeAll(async () => {
    server = await inMemoryServer();
    configDir = await mkdtemp(join(tmpdir(), "fastmcp-client-oauth-"));
    process.env.FASTMCP_CONFIG_DIR = configDir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.FASTMCP_CONFIG_DIR;
    else process.env.FASTMCP_CONFIG_DIR = saved;
    await server?.close();
    await rm(configDir, { recursive: true, force: true });
  });

  it("keeps tokens in files of mode 0600 in a 0700 directory under FASTMCP_CONFIG_DIR, which a later process reads", async () => {
    const browser = scriptedBrowser();
    {
      await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: "file" }) });
      await client.connect();
    }
    const directory = join(configDir, "oauth");
    expect(defaultTokenDirectory()).toBe(directory);
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    const files = await readdir(directory);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect((await stat(join(directory, file))).mode & 0o777).toBe(0o600);
    const contents = await Promise.all(files.map((file) => readFile(join(directory, file), "utf8")));
    expect(contents.some((text) => text.includes("access_token"))).toBe(true);

    // A new process, as far as the client can tell: a new OAuth over the same directory.
    const traffic = watchMcpTraffic(server.url);
    await using later = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser, tokenStorage: "file" }) });
    await later.connect();
    expect(textOf(await later.callTool(TOOL.read))).toBe("read ok");
    expect(browser.opened).toHaveLength(1);
    expect(traffic.exchanges.every((e) => e.status < 300)).toBe(true);
  });
});

describe("defaultTokenDirectory", () => {
  const saved = { config: process.env.FASTMCP_CONFIG_DIR, xdg: process.env.XDG_CONFIG_HOME };
  afterEach(() => {
    for (const [name, value] of [["FASTMCP_CONFIG_DIR", saved.config], ["XDG_CONFIG_HOME", saved.xdg]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("is FASTMCP_CONFIG_DIR/oauth, else XDG_CONFIG_HOME/fastmcp-ts/oauth, else ~/.config/fastmcp-ts/oauth; relative paths are ignored", () => {
    process.env.FASTMCP_CONFIG_DIR = "/srv/fastmcp";
    expect(defaultTokenDirectory()).toBe("/srv/fastmcp/oauth");
    process.env.FASTMCP_CONFIG_DIR = "relative/dir";
    process.env.XDG_CONFIG_HOME = "/home/u/.xdg";
    expect(defaultTokenDirectory()).toBe("/home/u/.xdg/fastmcp-ts/oauth");
    delete process.env.FASTMCP_CONFIG_DIR;
    process.env.XDG_CONFIG_HOME = "also/relative";
    expect(defaultTokenDirectory()).toMatch(/\/\.config\/fastmcp-ts\/oauth$/);
  });
});
