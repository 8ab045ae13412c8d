/**
 * A restart on a FileStore: a new process (a new store object and provider on the same directory,
 * the same port) keeps the registered clients, grants and refresh tokens, the signing key, the
 * remembered consent and the development user's password.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JWTVerifier, LocalOAuthProvider, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { FileStore, SecretBox } from "fastmcp-ts/storage";
import {
  authorizationRequest,
  authorizeUrl,
  Browser,
  exchangeCode,
  freePort,
  jwtParts,
  mcpStatus,
  refreshRequest,
  register,
  SCOPES,
  startLocal,
  whoami,
  type LocalServer,
  type TokenResponse,
} from "./harness.js";

let directory: string;
const running: LocalServer[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "fastmcp-restart-"));
});

afterEach(async () => {
  vi.restoreAllMocks();
  while (running.length > 0) await running.pop()!.close();
  rmSync(directory, { recursive: true, force: true });
});

/** A "process": a new FileStore on the directory and a new provider, served on `port`. */
async function boot(port: number, options: Partial<LocalOAuthProviderOptions> = {}): Promise<{ server: LocalServer; devPassword: string | undefined }> {
  const printed: string[] = [];
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    const server = await startLocal((baseUrl) => new LocalOAuthProvider({ baseUrl, store: new FileStore({ directory }), ...SCOPES, ...options }), { port });
    running.push(server);
    await server.provider.ready();
    const line = printed.find((text) => text.includes("development login"));
    return { server, devPassword: line ? /password (\S+) /.exec(line)?.[1] : undefined };
  } finally {
    spy.mockRestore();
  }
}

async function stop(server: LocalServer): Promise<void> {
  running.splice(running.indexOf(server), 1);
  await server.close();
}

describe("LocalOAuthProvider restart on a FileStore", () => {
  it("keeps the client, the refresh token, the signing key and the development password", async () => {
    const port = await freePort();
    const first = await boot(port);
    expect(first.devPassword).toMatch(/^[\w-]{12}$/);
    const client = await register(first.server.baseUrl);
    const request = authorizationRequest(client, { scope: "mcp:read mcp:write" });
    const login = await new Browser(first.server.baseUrl).authorize(authorizeUrl(first.server.baseUrl, request), { username: "dev", password: first.devPassword! });
    const tokens = await exchangeCode(first.server.baseUrl, request, login.params.get("code")!);
    expect(tokens.refresh_token).toBeTruthy();
    const jwksBefore = await (await fetch(`${first.server.baseUrl}/.well-known/jwks.json`)).json();
    await stop(first.server);

    const second = await boot(port);
    expect(second.server.baseUrl).toBe(first.server.baseUrl);
    expect(second.devPassword).toBe(first.devPassword);

    // The signing key: the same JWKS, and the old access token still verifies (its grant survived too).
    expect(await (await fetch(`${second.server.baseUrl}/.well-known/jwks.json`)).json()).toEqual(jwksBefore);
    expect(await whoami(second.server.url, tokens.access_token)).toMatchObject({ subject: "dev", clientId: client.client_id, scopes: ["mcp:read", "mcp:write"] });
    const verifier = new JWTVerifier({ jwksUri: `${second.server.baseUrl}/.well-known/jwks.json`, issuer: second.server.baseUrl, audience: `${second.server.baseUrl}/mcp` });
    expect((await verifier.verifyToken(tokens.access_token))?.subject).toBe("dev");

    // The refresh token.
    const refreshed = await refreshRequest(second.server.baseUrl, client, tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as TokenResponse;
    expect(jwtParts(next.access_token).header.kid).toBe(jwtParts(tokens.access_token).header.kid);
    expect(await mcpStatus(second.server.url, next.access_token)).toBe(200);

    // The client: a new authorization with the same client_id, logging in with the same password.
    const again = authorizationRequest(client, { scope: "mcp:read mcp:write" });
    const relogin = await new Browser(second.server.baseUrl).authorize(authorizeUrl(second.server.baseUrl, again), { username: "dev", password: first.devPassword! });
    // The approval was remembered across the restart too: only the login is asked.
    expect(relogin.prompts).toEqual(["login"]);
    const fresh = await exchangeCode(second.server.baseUrl, again, relogin.params.get("code")!);
    expect(await mcpStatus(second.server.url, fresh.access_token)).toBe(200);
  });

  it("keeps a browser's login session across the restart", async () => {
    const port = await freePort();
    const first = await boot(port);
    const client = await register(first.server.baseUrl);
    const browser = new Browser(first.server.baseUrl);
    await browser.authorize(authorizeUrl(first.server.baseUrl, authorizationRequest(client, { scope: "mcp:read" })), { username: "dev", password: first.devPassword! });
    await stop(first.server);
    const second = await boot(port);
    const step = await browser.authorize(authorizeUrl(second.server.baseUrl, authorizationRequest(client, { scope: "mcp:read mcp:write" })));
    expect(step.prompts).toEqual(["consent"]);
  });

  it("keeps a revocation across the restart", async () => {
    const port = await freePort();
    const first = await boot(port);
    const client = await register(first.server.baseUrl);
    const request = authorizationRequest(client, { scope: "mcp:read" });
    const login = await new Browser(first.server.baseUrl).authorize(authorizeUrl(first.server.baseUrl, request), { username: "dev", password: first.devPassword! });
    const tokens = await exchangeCode(first.server.baseUrl, request, login.params.get("code")!);
    const revoked = await fetch(`${first.server.baseUrl}/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: tokens.refresh_token!, client_id: client.client_id }) });
    expect(revoked.status).toBe(200);
    await stop(first.server);
    const second = await boot(port);
    expect(await mcpStatus(second.server.url, tokens.access_token)).toBe(401);
    expect((await refreshRequest(second.server.baseUrl, client, tokens.refresh_token!)).status).toBe(401);
  });

  it("creates the encryption key file, mode 0600, inside the directory when no encryptionKey is given", async () => {
    const { server } = await boot(await freePort());
    const keyFile = join(directory, "encryption.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(readFileSync(keyFile, "utf8").trim()).toMatch(/^[\w-]{43}$/);
    // No temporary file left behind.
    expect(readdirSync(directory).filter((name) => name.includes("encryption.key"))).toEqual(["encryption.key"]);
    await stop(server);
  });

  it("creates no key file with an explicit encryptionKey, and refuses to start on the directory with another one", async () => {
    const port = await freePort();
    const { server } = await boot(port, { encryptionKey: SecretBox.generateKey() });
    expect(readdirSync(directory)).not.toContain("encryption.key");
    await stop(server);
    const other = await boot(port, { encryptionKey: SecretBox.generateKey() }).then(() => undefined, (error: unknown) => error);
    expect(String(other)).toMatch(/AuthConfigurationError: .*cannot be decrypted/);
  });

  it("says so when the key file is empty", async () => {
    writeFileSync(join(directory, "encryption.key"), "", { mode: 0o600 });
    const provider = new LocalOAuthProvider({ baseUrl: "http://127.0.0.1:1", store: new FileStore({ directory }), users: { a: "b" } });
    await expect(provider.ready()).rejects.toThrow(/encryption key file .*encryption\.key is empty/);
  });
});
