import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { defaultStoreDirectory, FileStore, StorageError } from "fastmcp-ts/storage";
import { describeStoreContract } from "./contract.js";

const root = mkdtempSync(join(tmpdir(), "fastmcp-ts-filestore-"));
afterAll(() => { rmSync(root, { recursive: true, force: true }); });

let directories = 0;
/** A directory that does not exist yet, under this file's scratch root. */
function newDirectory(): string {
  return join(root, `store-${++directories}`, "nested");
}

/** The path of a key's file, as the store names it. */
function entryPath(directory: string, key: string): string {
  return join(directory, `${createHash("sha256").update(key).digest("hex")}.json`);
}

describeStoreContract("FileStore", { open: () => new FileStore({ directory: newDirectory() }) });

describe("FileStore on disk", () => {
  it.skipIf(process.platform === "win32")("creates its directory with mode 0700 and every file with mode 0600", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory });
    await store.set("a", 1);
    await store.add("b", 2, { ttlSeconds: 60 });
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    const files = readdirSync(directory);
    expect(files).toHaveLength(2);
    for (const file of files) expect(statSync(join(directory, file)).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it("names files by the key's SHA-256 and stores { key, value, expiresAt }", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory });
    const before = Date.now();
    await store.set("../../escape/attempt", { a: 1 }, { ttlSeconds: 60 });
    await store.set("plain", "x");
    expect(readdirSync(directory).sort()).toEqual(
      [entryPath(directory, "../../escape/attempt"), entryPath(directory, "plain")].map((path) => path.slice(directory.length + 1)).sort(),
    );
    const record = JSON.parse(readFileSync(entryPath(directory, "../../escape/attempt"), "utf8")) as { key: string; value: unknown; expiresAt: number };
    expect(record).toMatchObject({ key: "../../escape/attempt", value: { a: 1 } });
    expect(record.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(JSON.parse(readFileSync(entryPath(directory, "plain"), "utf8"))).toStrictEqual({ key: "plain", value: "x" });
    await store.close();
  });

  it("keeps its data for a new instance on the same directory (a restart)", async () => {
    const directory = newDirectory();
    const first = new FileStore({ directory });
    await first.set("client:1", { name: "Inspector" });
    await first.set("code:1", "abc", { ttlSeconds: 600 });
    await first.close();
    const second = new FileStore({ directory });
    expect(await second.get("client:1")).toEqual({ name: "Inspector" });
    expect(await second.take("code:1")).toBe("abc");
    expect(await second.add("client:1", "other")).toBe(false);
    await second.close();
  });

  it("reads corrupt, partial or foreign files as absent, and lets add and set replace them", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory, sweepEvery: 0 });
    const cases: Record<string, string> = {
      truncated: '{"key":"truncated","val',
      empty: "",
      "not an object": "[1,2,3]",
      "no value": '{"key":"no value"}',
      "other key": '{"key":"someone else","value":1}',
      "bad expiry": '{"key":"bad expiry","value":1,"expiresAt":"soon"}',
    };
    for (const [key, content] of Object.entries(cases)) writeFileSync(entryPath(directory, key), content);
    for (const key of Object.keys(cases)) {
      expect(await store.get(key), key).toBeUndefined();
      expect(await store.take(key), key).toBeUndefined();
    }
    for (const [key, content] of Object.entries(cases)) writeFileSync(entryPath(directory, key), content);
    expect(await store.add("truncated", "fixed")).toBe(true);
    expect(await store.get("truncated")).toBe("fixed");
    await store.set("empty", "fixed");
    expect(await store.get("empty")).toBe("fixed");
  });

  it("sweep removes expired and unreadable entries and abandoned temp files, and nothing else", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory, sweepEvery: 0 });
    await store.set("expired", 1, { ttlSeconds: 1 });
    await store.set("live", 2, { ttlSeconds: 3600 });
    await store.set("forever", 3);
    writeFileSync(entryPath(directory, "corrupt"), "{oops");
    const abandoned = join(directory, ".tmp-abandoned");
    const inProgress = join(directory, ".tmp-in-progress");
    const abandonedClaim = join(directory, ".claim-abandoned");
    for (const path of [abandoned, inProgress, abandonedClaim]) writeFileSync(path, "{}");
    const longAgo = new Date(Date.now() - 3_600_000);
    utimesSync(abandoned, longAgo, longAgo);
    utimesSync(abandonedClaim, longAgo, longAgo);
    writeFileSync(join(directory, "README"), "not ours");
    await sleep(1300);

    expect(await store.sweep()).toBe(4);
    expect(readdirSync(directory).sort()).toEqual(
      [".tmp-in-progress", "README", ...["live", "forever"].map((key) => entryPath(directory, key).slice(directory.length + 1))].sort(),
    );
    expect(await store.get("live")).toBe(2);
    expect(await store.get("forever")).toBe(3);
  });

  it("sweeps in the background at construction and every sweepEvery writes", async () => {
    const directory = newDirectory();
    const writer = new FileStore({ directory, sweepEvery: 0 });
    for (let index = 0; index < 5; index++) await writer.set(`old:${index}`, index, { ttlSeconds: 1 });
    await sleep(1300);
    const restarted = new FileStore({ directory });
    await restarted.close(); // waits for the construction sweep
    expect(readdirSync(directory)).toHaveLength(0);

    const store = new FileStore({ directory, sweepEvery: 3 });
    await store.close();
    await store.set("soon", 1, { ttlSeconds: 1 });
    await sleep(1300);
    await store.set("a", 1);
    await store.set("b", 2); // third write: starts a sweep
    await store.close();
    expect(readdirSync(directory).sort()).toEqual(["a", "b"].map((key) => entryPath(directory, key).slice(directory.length + 1)).sort());
  });

  it("fails with a StorageError naming the directory when it cannot be used", async () => {
    const blocker = join(root, `file-${++directories}`);
    writeFileSync(blocker, "a file, not a directory");
    expect(() => new FileStore({ directory: join(blocker, "store") })).toThrow(StorageError);
    expect(() => new FileStore({ directory: join(blocker, "store") })).toThrow(blocker);

    const directory = newDirectory();
    const store = new FileStore({ directory, sweepEvery: 0 });
    rmSync(directory, { recursive: true });
    const failure = store.set("k", "secret value");
    await expect(failure).rejects.toThrow(StorageError);
    await expect(failure).rejects.toThrow(/FileStore cannot write in .*nested \(ENOENT\)/);
    await expect(failure).rejects.not.toThrow(/secret value/);
    expect(await store.get("k")).toBeUndefined();
  });

  it("refuses bad options", () => {
    expect(() => new FileStore({ directory: "" })).toThrow(TypeError);
    expect(() => new FileStore({ directory: newDirectory(), sweepEvery: -1 })).toThrow(TypeError);
  });
});

describe("FileStore across processes", () => {
  const WORKER = fileURLToPath(new URL("./fixtures/race-worker.ts", import.meta.url));
  const KEYS = 200;

  /** Starts two workers, releases them together, and returns what each got per key. */
  async function race(mode: "take" | "add" | "increment", directory: string): Promise<[unknown[], unknown[]]> {
    const workers = ["one", "two"].map((id) => {
      const child = spawn(process.execPath, ["--import", "tsx", WORKER, mode, directory, String(KEYS), id], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
      const ready = new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: string) => {
          stdout += chunk;
          if (stdout.startsWith("ready\n")) resolve();
        });
      });
      const done = new Promise<unknown[]>((resolve, reject) => {
        child.on("close", (code) => {
          if (code !== 0) reject(new Error(`worker ${id} exited with ${code}: ${stderr}`));
          else resolve(JSON.parse(stdout.slice("ready\n".length)) as unknown[]);
        });
      });
      return { child, ready, done };
    });
    await Promise.all(workers.map((worker) => worker.ready));
    for (const worker of workers) worker.child.stdin.end("go\n");
    const [one, two] = await Promise.all(workers.map((worker) => worker.done));
    return [one!, two!];
  }

  it("of two processes taking the same keys, exactly one gets each value", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory });
    for (let index = 0; index < KEYS; index++) await store.set(`race:${index}`, `value-${index}`);
    const [one, two] = await race("take", directory);
    for (let index = 0; index < KEYS; index++) {
      const winners = [one[index], two[index]].filter((result) => result !== null);
      expect(winners, `key ${index}`).toEqual([`value-${index}`]);
    }
    expect(readdirSync(directory)).toEqual([]);
    await store.close();
  });

  it("of two processes adding the same keys, exactly one succeeds for each and its value is stored", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory });
    const [one, two] = await race("add", directory);
    await expectOneWinnerPerKey(store, one, two);
    await store.close();
  });

  it("of two processes adding over expired entries, exactly one succeeds for each", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory, sweepEvery: 0 });
    for (let index = 0; index < KEYS; index++) await store.set(`race:${index}`, "expired", { ttlSeconds: 1 });
    await sleep(1300);
    const [one, two] = await race("add", directory);
    await expectOneWinnerPerKey(store, one, two);
    expect(readdirSync(directory)).toHaveLength(KEYS); // no temp or claim file left behind
  });

  it("of two processes incrementing one counter, every increment counts and no two see the same value", async () => {
    const directory = newDirectory();
    const store = new FileStore({ directory, sweepEvery: 0 });
    const [one, two] = await race("increment", directory);
    const seen = [...one, ...two] as number[];
    expect(new Set(seen).size).toBe(2 * KEYS);
    expect(await store.get("race:counter")).toBe(2 * KEYS);
    expect(readdirSync(directory)).toHaveLength(1); // the counter; no lock, temp or claim file left behind
  });

  async function expectOneWinnerPerKey(store: FileStore, one: unknown[], two: unknown[]): Promise<void> {
    for (let index = 0; index < KEYS; index++) {
      expect([one[index], two[index]].filter(Boolean), `key ${index}`).toHaveLength(1);
      expect(await store.get(`race:${index}`)).toBe(one[index] === true ? "one" : "two");
    }
  }
});

describe("defaultStoreDirectory", () => {
  afterEach(() => { vi.unstubAllEnvs(); });

  it("prefers FASTMCP_HOME, then XDG_DATA_HOME/fastmcp-ts, then ~/.local/share/fastmcp-ts", () => {
    vi.stubEnv("FASTMCP_HOME", "/srv/fastmcp");
    vi.stubEnv("XDG_DATA_HOME", "/data");
    vi.stubEnv("HOME", "/home/me");
    expect(defaultStoreDirectory("oauth")).toBe("/srv/fastmcp/oauth");
    vi.stubEnv("FASTMCP_HOME", "");
    expect(defaultStoreDirectory("oauth")).toBe("/data/fastmcp-ts/oauth");
    vi.stubEnv("XDG_DATA_HOME", "relative/ignored");
    expect(defaultStoreDirectory("oauth")).toBe("/home/me/.local/share/fastmcp-ts/oauth");
  });

  it("takes a single path segment as the name", () => {
    for (const name of ["", ".", "..", "a/b", "a\\b"]) expect(() => defaultStoreDirectory(name)).toThrow(TypeError);
  });
});
