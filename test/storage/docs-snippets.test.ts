// Runs every TypeScript block of docs/storage.md as written, then checks what it did. The test
// appends an `export { ... }` line to reach a block's variables; the block itself is unchanged.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FileStore, hashSecret, MemoryStore, RedisStore, safeEqual, SecretBox, StorageError, type KeyValueStore } from "fastmcp-ts/storage";

const DOC = readFileSync("docs/storage.md", "utf8");

/** The ```ts blocks of the `## section` of the doc, in order. */
function blocks(section: string): string[] {
  const start = DOC.indexOf(`\n## ${section}\n`);
  expect(start, `section "${section}"`).toBeGreaterThan(-1);
  const end = DOC.indexOf("\n## ", start + 1);
  return [...DOC.slice(start, end === -1 ? undefined : end).matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** Runs the single block of a section as a module, exporting `names` from it. */
async function run(section: string, names: string[]): Promise<Record<string, unknown>> {
  const [block, ...more] = blocks(section);
  expect(more, `one block in "${section}"`).toHaveLength(0);
  const name = `storage-doc-${section.toLowerCase().replace(/\W+/g, "-")}`;
  mkdirSync("test/.tmp", { recursive: true });
  const path = resolve("test/.tmp", `${name}.ts`);
  writeFileSync(path, `${block!}\nexport { ${names.join(", ")} };\n`);
  return (await import(/* @vite-ignore */ pathToFileURL(path).href)) as Record<string, unknown>;
}

const home = mkdtempSync(join(tmpdir(), "fastmcp-ts-storage-docs-"));
beforeAll(() => {
  vi.stubEnv("FASTMCP_HOME", home);
  vi.stubEnv("MY_SERVER_STORAGE_KEY", SecretBox.generateKey());
  vi.stubEnv("REDIS_URL", "redis://127.0.0.1:6379");
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

describe("docs/storage.md", () => {
  it("has no TypeScript block this file does not run", () => {
    const sections = ["Quick start", "The contract", "MemoryStore", "FileStore", "RedisStore", "Encryption", "Hashing"];
    expect(sections.flatMap(blocks)).toHaveLength([...DOC.matchAll(/```ts\n/g)].length);
  });

  it("quick start: a code taken once from a scoped FileStore", async () => {
    const { store, code, again, count } = await run("Quick start", ["store", "code", "again", "count"]);
    expect(code).toEqual({ clientId: "inspector", scopes: ["mcp:read"] });
    expect(again).toBeUndefined();
    expect(count).toBe(2);
    expect((store as FileStore).directory).toBe(join(home, "my-server"));
    await (store as FileStore).close();
  });

  it("the contract block lists exactly the methods of KeyValueStore", () => {
    const [block] = blocks("The contract");
    const methods = [...block!.matchAll(/^\s+(\w+)\??(?:<[^>]*>)?\(/gm)].map((match) => match[1]);
    expect(methods).toEqual(["get", "set", "add", "take", "delete", "increment", "close"]);
    const implemented: KeyValueStore = new MemoryStore();
    for (const method of methods.slice(0, -1)) expect(typeof implemented[method as keyof KeyValueStore]).toBe("function");
  });

  it("MemoryStore", async () => {
    const { store } = await run("MemoryStore", ["store"]);
    expect(store).toBeInstanceOf(MemoryStore);
    await (store as MemoryStore).set("k", 1);
    expect(await (store as MemoryStore).get("k")).toBe(1);
  });

  it("FileStore: the default directory, created private", async () => {
    const { store } = await run("FileStore", ["store"]);
    expect((store as FileStore).directory).toBe(join(home, "my-server"));
    if (process.platform !== "win32") expect(statSync(join(home, "my-server")).mode & 0o777).toBe(0o700);
    await (store as FileStore).close();
  });

  it("RedisStore: constructs without connecting and is closed at the end", async () => {
    const { store } = await run("RedisStore", ["store"]);
    expect(store).toBeInstanceOf(RedisStore);
    await expect((store as RedisStore).get("k")).rejects.toThrow(StorageError);
  });

  it("Encryption: sealed values open, and the backend holds only sealed text", async () => {
    const { opened, keys, backend } = await run("Encryption", ["sealed", "opened", "keys", "backend"]);
    expect(opened).toBe("private key material");
    expect(await (keys as KeyValueStore).get("k1")).toEqual({ kty: "EC", d: "..." });
    const raw = await (backend as FileStore).get<string>("signing-keys:k1");
    expect(raw).toMatch(/^v1\./);
    // base64url never holds a quote, so the plaintext's JSON cannot match by chance
    expect(raw).not.toContain('"kty"');
    expect(raw).not.toContain('"EC"');
    await (backend as FileStore).close();
  });

  it("Hashing: a refresh token stored by hash, a client secret checked by hash", async () => {
    const { store, refreshToken, grant, client, valid } = await run("Hashing", ["store", "refreshToken", "grant", "client", "valid"]);
    expect(grant).toEqual({ clientId: "inspector" });
    expect(await (store as MemoryStore).take(`refresh:${hashSecret(refreshToken as string)}`)).toBeUndefined();
    expect(valid).toBe(true);
    expect(safeEqual(hashSecret("a guess"), (client as { secretHash: string }).secretHash)).toBe(false);
  });
});
