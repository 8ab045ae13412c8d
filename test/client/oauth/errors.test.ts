/**
 * What goes wrong, and what the caller is told: auth where it cannot apply (stdio, in memory), a
 * bearer token (still the way for servers without OAuth), a server that publishes no OAuth
 * metadata, an unreachable or broken authorization server, a browser that cannot be opened, a user
 * who refuses or never comes back.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { InMemoryOAuthProvider, JWTKeyPair, JWTVerifier, LocalOAuthProvider, RemoteAuthProvider } from "fastmcp-ts/auth";
import { Client, NoOAuthMetadataError, OAuth, OAuthFlowError, OAuthUnreachableError } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";
import { closedPort } from "../../helpers/ports.js";
import { SCOPES, scriptedBrowser, startServer, TOOL, textOf, USER, watchMcpTraffic, type McpServer } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** What a promise rejected with. */
async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(() => undefined, (error: unknown) => error);
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

/**
 * An "authorization server" on loopback that answers every metadata URL with `metadata(origin)` (a
 * string as it is), and registers every client that asks at /register; with no metadata
 * (undefined), answers 404 to everything.
 */
async function stubAuthorizationServer(metadata: (origin: string) => unknown): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const body = metadata(origin);
    if (body === undefined) return void res.writeHead(404).end();
    if (req.method === "POST" && req.url === "/register") return void registerAny(req, res);
    if (!req.url?.includes("/.well-known/")) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Metadata with every endpoint on the stub itself. */
function workingMetadata(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/register`,
    response_types_supported: ["code"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
  };
}

async function registerAny(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = "";
  for await (const chunk of req) body += String(chunk);
  const client = { ...(JSON.parse(body) as object), client_id: "stub-client", client_id_issued_at: Math.floor(Date.now() / 1000) };
  res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(client));
}

describe("auth where it does not apply", () => {
  it("a stdio server with auth is an error that says why, for OAuth and for a bearer token alike", () => {
    for (const auth of ["oauth", "a-token", new OAuth()] as const) {
      expect(() => new Client({ command: "node", args: ["server.js"] }, { auth })).toThrow(/stdio server runs as your own child process.*MCP authorization applies to HTTP transports only/);
    }
  });

  it("an in-memory server with OAuth is an error that says what to do instead", () => {
    const mcp = new FastMCP({ name: "in-memory" });
    expect(() => new Client(mcp, { auth: "oauth" })).toThrow(/OAuth needs an HTTP server: an in-memory server takes a bearer token \(auth: "<token>"\) instead/);
  });
});

describe("a JWTVerifier server (tokens from elsewhere, no OAuth metadata)", () => {
  const keys = JWTKeyPair.generate();
  const issuer = "https://idp.example";
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer((baseUrl) => new JWTVerifier({ publicKey: keys.publicKey, issuer, baseUrl, requiredScopes: SCOPES.required }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('takes a bearer token, auth: "<token>", sent as Authorization: Bearer on every request', async () => {
    const token = await keys.createToken({ issuer, audience: server.url, scopes: ["mcp:read"] });
    const traffic = watchMcpTraffic(server.url);
    await using client = new Client(server.url, { auth: token });
    await client.connect();
    await client.ping();
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
    expect(client.oauth).toBeUndefined();
    expect(traffic.exchanges.length).toBeGreaterThan(0);
    expect(traffic.exchanges.every((e) => e.authorization === `Bearer ${token}` && e.status < 300)).toBe(true);
  });

  it("a refused bearer token is an HTTP 401 error, not a login attempt", async () => {
    const token = await keys.createToken({ issuer, audience: "https://another.example/mcp", scopes: ["mcp:read"] });
    const failure = await failureOf(new Client(server.url, { auth: token }).connect());
    expect(failure.message).toMatch(/HTTP 401|Unauthorized/);
  });

  it('with auth: "oauth": a clear error that the server says nowhere how to log in, and what to do instead; the browser never opens', async () => {
    const opened: string[] = [];
    const client = new Client(server.url, { auth: new OAuth({ openBrowser: (url) => void opened.push(url) }) });
    const failure = await failureOf(client.connect());
    expect(failure).toBeInstanceOf(NoOAuthMetadataError);
    expect(failure).toBeInstanceOf(OAuthFlowError);
    expect(failure).toMatchObject({ serverUrl: server.url, missing: "oauth-metadata" });
    expect(failure.message).toContain(server.url);
    expect(failure.message).toMatch(/no OAuth metadata|publishes no/);
    expect(failure.message).toMatch(/auth: "<token>"$/);
    // The problem on its own, for callers that give their own advice (the CLI: --token).
    const problem = (failure as NoOAuthMetadataError).problem;
    expect(failure.message.startsWith(problem)).toBe(true);
    expect(problem).not.toMatch(/<token>/);
    expect(opened).toHaveLength(0);
  });

  it("protected resource metadata naming an authorization server without OAuth metadata: says which one", async () => {
    const bare = await stubAuthorizationServer(() => undefined);
    const remote = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: bare.origin, baseUrl }));
    try {
      const failure = await failureOf(new Client(remote.url, { auth: new OAuth({ openBrowser: () => undefined }) }).connect());
      expect(failure).toBeInstanceOf(NoOAuthMetadataError);
      expect(failure).toMatchObject({ serverUrl: remote.url, missing: "authorization-server-metadata", authorizationServerUrl: bare.origin });
      expect(failure.message).toContain(`names ${bare.origin}, which publishes no OAuth metadata`);
      expect(failure.message).toMatch(/auth: "<token>"$/);
    } finally {
      await remote.close();
      await bare.close();
    }
  });
});

describe("the authorization server", () => {
  it("unreachable: the error names the metadata URL that could not be reached and what it was for, not the MCP server", async () => {
    const nobody = `http://127.0.0.1:${await closedPort()}`;
    const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: nobody, baseUrl }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: () => undefined }) }).connect());
      expect(failure).toBeInstanceOf(OAuthUnreachableError);
      expect(failure).toBeInstanceOf(OAuthFlowError);
      expect(failure).toMatchObject({ url: `${nobody}/.well-known/oauth-authorization-server`, purpose: "the authorization server metadata", reason: "connection refused" });
      expect(failure.message).toContain(`Could not reach the authorization server metadata at ${nobody}/.well-known/oauth-authorization-server (connection refused)`);
      expect(failure.message).toContain(`logging in to ${server.url}`);
      expect(failure.message).not.toMatch(/is the server running|Could not connect/);
    } finally {
      await server.close();
    }
  });

  it("a server whose challenge names protected resource metadata on an unreachable address (a wrong base URL): that URL is named", async () => {
    const nobody = `http://127.0.0.1:${await closedPort()}`;
    const server = await startServer(() => new RemoteAuthProvider({ authorizationServerUrl: "https://as.example", baseUrl: nobody }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: () => undefined }) }).connect());
      expect(failure).toBeInstanceOf(OAuthUnreachableError);
      expect(failure.message).toContain(`Could not reach the protected resource metadata at ${nobody}/.well-known/oauth-protected-resource/mcp (connection refused)`);
      expect(failure.message).not.toMatch(/is the server running|Could not connect/);
    } finally {
      await server.close();
    }
  });

  for (const [endpoint, purpose] of [["registration_endpoint", "the registration endpoint"], ["token_endpoint", "the token endpoint"]] as const) {
    it(`an unreachable ${endpoint}: named, with what it was for`, async () => {
      const nobody = `http://127.0.0.1:${await closedPort()}/${endpoint}`;
      const stub = await stubAuthorizationServer((origin) => ({ ...workingMetadata(origin), [endpoint]: nobody }));
      const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: stub.origin, baseUrl }));
      try {
        // The browser comes straight back with a code, as a user who approves at once.
        const openBrowser = async (url: string) => {
          const request = new URL(url);
          const callback = new URL(request.searchParams.get("redirect_uri")!);
          callback.search = new URLSearchParams({ code: "a-code", state: request.searchParams.get("state")!, iss: stub.origin }).toString();
          await (await fetch(callback)).text();
        };
        const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser }) }).connect());
        expect(failure).toBeInstanceOf(OAuthUnreachableError);
        expect(failure).toMatchObject({ url: nobody, purpose });
        expect(failure.message).toContain(`Could not reach ${purpose} at ${nobody} (connection refused)`);
      } finally {
        await server.close();
        await stub.close();
      }
    });
  }

  it("metadata that is not JSON: a clear error", async () => {
    const stub = await stubAuthorizationServer(() => "<html>not metadata</html>");
    const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: stub.origin, baseUrl }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: () => undefined }) }).connect());
      expect(failure.message).toMatch(/metadata/i);
      expect(failure.message).toContain(stub.origin);
    } finally {
      await server.close();
      await stub.close();
    }
  });

  it("metadata missing required fields: a clear error", async () => {
    const stub = await stubAuthorizationServer((origin) => ({ issuer: origin, response_types_supported: ["code"] }));
    const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: stub.origin, baseUrl }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: () => undefined }) }).connect());
      expect(failure.message).toMatch(/metadata/i);
      expect(failure.message).toMatch(/authorization_endpoint|token_endpoint/);
    } finally {
      await server.close();
      await stub.close();
    }
  });

  it("metadata naming another issuer (RFC 8414 §3.3, a mix-up): refused, nothing opened", async () => {
    const opened: string[] = [];
    const stub = await stubAuthorizationServer(() => ({
      issuer: "https://attacker.example",
      authorization_endpoint: "https://attacker.example/authorize",
      token_endpoint: "https://attacker.example/token",
      registration_endpoint: "https://attacker.example/register",
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    }));
    const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: stub.origin, baseUrl }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: (url) => void opened.push(url) }) }).connect());
      expect(failure.message).toMatch(/issuer/i);
      expect(failure.message).toContain("https://attacker.example");
      expect(opened).toHaveLength(0);
    } finally {
      await server.close();
      await stub.close();
    }
  });

  it("an authorization endpoint that is not http(s): never opened", async () => {
    const opened: string[] = [];
    const stub = await stubAuthorizationServer((origin) => ({
      issuer: origin,
      authorization_endpoint: "file:///etc/passwd",
      token_endpoint: `${origin}/token`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    }));
    const server = await startServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: stub.origin, baseUrl }));
    try {
      const failure = await failureOf(new Client(server.url, { auth: new OAuth({ clientId: "pre-registered", openBrowser: (url) => void opened.push(url) }) }).connect());
      expect(failure.message).toMatch(/file:|authorization_endpoint|URL/);
      expect(opened).toHaveLength(0);
    } finally {
      await server.close();
      await stub.close();
    }
  });
});

describe("the browser and the user", () => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer((baseUrl) => new LocalOAuthProvider({ baseUrl, users: { [USER.login]: USER.password }, store: new MemoryStore(), requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it("openBrowser throwing: that error reaches the caller at once, and the callback server is closed", async () => {
    let redirectUri = "";
    const oauth = new OAuth({
      openBrowser: (url) => {
        redirectUri = new URL(url).searchParams.get("redirect_uri")!;
        throw new Error("no display");
      },
    });
    const failure = await failureOf(new Client(server.url, { auth: oauth }).connect());
    expect(failure.message).toMatch(/no display/);
    await expect(fetch(redirectUri)).rejects.toThrow();
  });

  it("the user refusing at the first login: AuthorizationDeniedError, not a connection error", async () => {
    const browser = scriptedBrowser({ decision: "deny" });
    const failure = await failureOf(new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser }) }).connect());
    expect(failure).toMatchObject({ name: "AuthorizationDeniedError", message: "Access was denied by the authorization server" });
    expect(browser.opened).toHaveLength(1);
  });

  it("the user never coming back: a timeout after loginTimeoutMs, naming it", async () => {
    const failure = await failureOf(new Client(server.url, { auth: new OAuth({ loginTimeoutMs: 300, openBrowser: () => undefined }) }).connect());
    expect(failure).toMatchObject({ name: "CallbackTimeoutError" });
    expect(failure.message).toMatch(/No authorization response reached the callback within/);
  });

  it("the authorization server refusing the request (a scope it does not know): the error it sent", async () => {
    const browser = scriptedBrowser();
    const failure = await failureOf(new Client(server.url, { auth: new OAuth({ scopes: ["mcp:read", "no-such-scope"], openBrowser: browser.openBrowser }) }).connect());
    // Refused at registration already: the server's own words.
    expect(failure.message).toMatch(/Dynamic Client Registration rejected \(HTTP 400\).*unknown scope\(s\) no-such-scope/);
    expect(browser.opened).toHaveLength(0);
  });
});

describe("what goes to the authorization server", () => {
  let server: McpServer;
  beforeAll(async () => {
    server = await startServer((baseUrl) => new InMemoryOAuthProvider({ baseUrl, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false } }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it("the Client's headers go to the MCP server only, never to discovery, registration or the token endpoint", async () => {
    const traffic = watchMcpTraffic(server.url);
    const browser = scriptedBrowser();
    await using client = new Client(server.url, { auth: new OAuth({ openBrowser: browser.openBrowser }), headers: { "x-api-key": "for-the-mcp-server" } });
    await client.connect();
    expect(traffic.exchanges.every((e) => e.headers.get("x-api-key") === "for-the-mcp-server")).toBe(true);
    const oauthRequests = traffic.others.exchanges.filter((e) => e.url.pathname !== "/authorize" && e.url.pathname !== "/callback");
    expect(oauthRequests.map((e) => e.url.pathname)).toEqual(expect.arrayContaining(["/.well-known/oauth-protected-resource/mcp", "/register", "/token"]));
    expect(oauthRequests.every((e) => !e.headers.has("x-api-key"))).toBe(true);
  });
});
