/**
 * Configuration: what LocalOAuthProvider refuses to start with (at construction where it can; what
 * needs the store, at ready(), which run() awaits before listening), and the
 * FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_* environment variables.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { AuthConfigurationError, LocalOAuthProvider, authFromEnvironment, type LocalOAuthProviderOptions } from "fastmcp-ts/auth";
import { FileStore, MemoryStore, SecretBox, scopedStore, type KeyValueStore } from "fastmcp-ts/storage";

const saved = { ...process.env };
let home: string;

beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith("FASTMCP_SERVER_AUTH")) delete process.env[key];
  // The default FileStore lives under FASTMCP_HOME: keep it out of the real home directory.
  home = mkdtempSync(join(tmpdir(), "fastmcp-home-"));
  process.env.FASTMCP_HOME = home;
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  rmSync(home, { recursive: true, force: true });
});

function construct(options: LocalOAuthProviderOptions): AuthConfigurationError {
  try {
    new LocalOAuthProvider(options);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthConfigurationError);
    return error as AuthConfigurationError;
  }
  throw new Error("the provider was constructed");
}

/** A store that is neither a MemoryStore nor a FileStore, as a RedisStore is: several machines share it. */
function sharedStore(): KeyValueStore {
  return scopedStore(new MemoryStore(), "elsewhere:");
}

const users = { alice: "wonderland" };

describe("LocalOAuthProvider configuration: refused", () => {
  it("without a baseUrl, waits for run() to say where it listens, and until then names the variable that can supply it", async () => {
    const provider = new LocalOAuthProvider({ users, store: new MemoryStore() });
    await expect(provider.ready()).rejects.toThrow(/FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL/);
    expect(() => provider.bind("/mcp")).toThrow(/needs baseUrl .* mcp\.run\(\)/);
    provider.serveAt("http://127.0.0.1:8123");
    await provider.ready();
    expect(provider.baseUrl).toBe("http://127.0.0.1:8123");
    expect(provider.issuerUrl).toBe("http://127.0.0.1:8123");
  });

  it("without a baseUrl, refuses to be served on a wildcard address (no URL clients can use)", () => {
    const provider = new LocalOAuthProvider({ users, store: new MemoryStore() });
    expect(() => provider.serveAt(undefined)).toThrow(/needs baseUrl: the server listens on a wildcard address/);
  });

  it("refuses a non-loopback baseUrl without users or authenticate (no development user there)", () => {
    const error = construct({ baseUrl: "https://mcp.example.com", store: new MemoryStore() });
    expect(error.message).toMatch(/needs authenticate .* or users/);
    expect(error.message).toContain("loopback");
  });

  it("makes the development user on loopback baseUrls only", async () => {
    for (const baseUrl of ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]) {
      await expect(new LocalOAuthProvider({ baseUrl, store: new MemoryStore() }).ready()).resolves.toBeUndefined();
    }
    for (const baseUrl of ["http://10.0.0.5:8000", "https://127.0.0.1.nip.io", "https://localhost.example.com"]) {
      expect(construct({ baseUrl, store: new MemoryStore() }).message).toContain("authenticate");
    }
  });

  it("refuses users and authenticate together", () => {
    expect(construct({ baseUrl: "https://mcp.example.com", users, authenticate: () => null, store: new MemoryStore() }).message).toMatch(/either authenticate or users/);
  });

  it("refuses a users entry without a password", () => {
    expect(construct({ baseUrl: "https://mcp.example.com", users: { alice: "" }, store: new MemoryStore() }).message).toContain("users.alice needs a non-empty password");
    expect(construct({ baseUrl: "https://mcp.example.com", users: { bob: { password: "", name: "Bob" } }, store: new MemoryStore() }).message).toContain("users.bob");
  });

  it("refuses a shared store (a RedisStore) without encryptionKey, naming FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ENCRYPTION_KEY", () => {
    const error = construct({ baseUrl: "https://mcp.example.com", users, store: sharedStore() });
    expect(error.message).toContain("needs encryptionKey");
    expect(error.message).toContain("FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ENCRYPTION_KEY");
  });

  it("accepts that store with an encryptionKey, from the option or the environment", async () => {
    await expect(new LocalOAuthProvider({ baseUrl: "https://mcp.example.com", users, store: sharedStore(), encryptionKey: SecretBox.generateKey() }).ready()).resolves.toBeUndefined();
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ENCRYPTION_KEY = SecretBox.generateKey();
    await expect(new LocalOAuthProvider({ baseUrl: "https://mcp.example.com", users, store: sharedStore() }).ready()).resolves.toBeUndefined();
  });

  it("refuses an empty encryptionKey", () => {
    expect(construct({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore(), encryptionKey: "" }).message).toContain("encryptionKey");
  });

  it("refuses a signing algorithm it cannot generate keys for", () => {
    for (const signingAlgorithm of ["HS256", "none", "PS256"]) {
      expect(construct({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore(), signingAlgorithm: signingAlgorithm as "RS256" }).message).toContain("signingAlgorithm must be one of RS256, ES256, EdDSA");
    }
  });

  it.each([
    ["accessTokenTtlSeconds", 0],
    ["accessTokenTtlSeconds", -60],
    ["accessTokenTtlSeconds", Number.NaN],
    ["accessTokenTtlSeconds", Number.POSITIVE_INFINITY],
    ["refreshTokenTtlSeconds", 0],
    ["authorizationCodeTtlSeconds", -1],
    ["refreshTokenGraceSeconds", 0],
    ["loginSessionTtlSeconds", 0],
    ["signingKeyRotationDays", 0],
    ["consentTtlSeconds", -1],
    ["revocationCheckSeconds", -1],
    ["revocationCheckSeconds", Number.NaN],
  ] as const)("refuses %s: %s", (option, value) => {
    expect(construct({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore(), [option]: value }).message).toContain(`LocalOAuthProvider ${option} must be`);
  });

  it("accepts 0 where 0 means something (consentTtlSeconds: ask every time, revocationCheckSeconds: read every time)", () => {
    expect(() => new LocalOAuthProvider({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore(), consentTtlSeconds: 0, revocationCheckSeconds: 0 })).not.toThrow();
  });
});

describe("LocalOAuthProvider configuration: environment", () => {
  it("reads FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_* for the options left out", () => {
    Object.assign(process.env, {
      FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL: "https://mcp.example.com",
      FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ISSUER_URL: "https://auth.example.com",
      FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_REQUIRED_SCOPES: "notes:read, notes:write",
      FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_SERVER_NAME: "Notes",
      FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ACCESS_TOKEN_TTL_SECONDS: "600",
    });
    const provider = new LocalOAuthProvider({ users, store: new MemoryStore() });
    expect(provider.baseUrl).toBe("https://mcp.example.com");
    expect(provider.issuerUrl).toBe("https://auth.example.com");
    expect(provider.requiredScopes).toEqual(["notes:read", "notes:write"]);
    expect(provider.serverName).toBe("Notes");
    expect(provider.authorizationServerMetadata()).toMatchObject({ issuer: "https://auth.example.com", authorization_endpoint: "https://mcp.example.com/authorize" });
  });

  it("lets explicit options win over the environment", () => {
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL = "https://env.example.com";
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_SERVER_NAME = "From env";
    const provider = new LocalOAuthProvider({ baseUrl: "https://mcp.example.com", serverName: "Explicit", users, store: new MemoryStore() });
    expect(provider.baseUrl).toBe("https://mcp.example.com");
    expect(provider.serverName).toBe("Explicit");
  });

  it("names the variable of a malformed number", () => {
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ACCESS_TOKEN_TTL_SECONDS = "an hour";
    expect(construct({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore() }).message).toContain("FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ACCESS_TOKEN_TTL_SECONDS must be a number");
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_ACCESS_TOKEN_TTL_SECONDS = "-5";
    expect(construct({ baseUrl: "https://mcp.example.com", users, store: new MemoryStore() }).message).toContain("accessTokenTtlSeconds must be a positive number");
  });

  it("is selected by FASTMCP_SERVER_AUTH=local: a loopback server with the development user and the default FileStore", async () => {
    process.env.FASTMCP_SERVER_AUTH = "local";
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL = "http://127.0.0.1:8123";
    const auth = authFromEnvironment();
    expect(auth).toBeInstanceOf(LocalOAuthProvider);
    await (auth as LocalOAuthProvider).ready();
    expect((auth as LocalOAuthProvider).store).toBeDefined();
    const mcp = new FastMCP({ name: "from-env" });
    expect(mcp.auth).toBeInstanceOf(LocalOAuthProvider);
    await mcp.auth!.ready(); // it writes to the same directory: let it finish before the directory goes
    // The FileStore went under FASTMCP_HOME, one directory per issuer, with its key file.
    const [directory] = readdirSync(home);
    expect(directory).toMatch(/^local-oauth-[0-9a-f]{16}$/);
    expect(readdirSync(join(home, directory!))).toContain("encryption.key");
  });

  it("also answers to FASTMCP_SERVER_AUTH=LocalOAuthProvider, and refuses a public URL without users there", () => {
    process.env.FASTMCP_SERVER_AUTH = "LocalOAuthProvider";
    process.env.FASTMCP_SERVER_AUTH_LOCALOAUTHPROVIDER_BASE_URL = "https://mcp.example.com";
    expect(() => authFromEnvironment()).toThrow(AuthConfigurationError);
  });

  it("uses a FileStore given explicitly instead of the default one", async () => {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-explicit-"));
    try {
      const provider = new LocalOAuthProvider({ baseUrl: "http://127.0.0.1:8124", users, store: new FileStore({ directory }) });
      await provider.ready();
        expect(readdirSync(directory)).toContain("encryption.key");
      expect(readdirSync(home)).toEqual([]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("LocalOAuthProvider at server startup", () => {
  it("stops mcp.run() before it listens when the store's secrets were sealed with another encryptionKey", async () => {
    const store = new MemoryStore();
    const users = { alice: "wonderland" };
    await new LocalOAuthProvider({ baseUrl: "http://127.0.0.1:8000", users, store, encryptionKey: SecretBox.generateKey() }).ready();
    const mcp = new FastMCP({ name: "misconfigured", auth: new LocalOAuthProvider({ baseUrl: "http://127.0.0.1:8000", users, store, encryptionKey: SecretBox.generateKey() }) });
    await expect(mcp.run({ transport: "http", host: "127.0.0.1", port: 0, banner: false, handleSignals: false })).rejects.toThrow(AuthConfigurationError);
    await mcp.close();
  });
});
