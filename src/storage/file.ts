import { createHash, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { link, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { StorageError } from "./errors.js";
import { setTimeout as sleep } from "node:timers/promises";
import { assertIncrement, assertKey, counterValue, encodeValue, expiryTime, type KeyValueStore, type SetOptions } from "./store.js";

export interface FileStoreOptions {
  /** Holds one file per key; created with mode 0700 if missing. */
  directory: string;
  /**
   * Writes between two background sweeps of expired files (there is one at construction too).
   * 0 disables background sweeping; call {@link FileStore.sweep} yourself then. Default 1000.
   */
  sweepEvery?: number;
}

interface StoredRecord {
  key: string;
  value: unknown;
  expiresAt?: number;
}

/** What a file at an entry's path holds right now. */
type EntryState = "absent" | "stale" | "live";

const ENTRY_NAME = /^[0-9a-f]{64}\.json$/;
/** A write in progress: written in full, then renamed or linked into place. */
const TEMP_PREFIX = ".tmp-";
/** An entry moved aside by `take` or by the removal of an expired entry. */
const CLAIM_PREFIX = ".claim-";
/** How long an increment's lock entry lives if its process dies holding it. */
const INCREMENT_LOCK_SECONDS = 2;
/** How long an increment waits for the lock before it fails (many increments may queue for one counter). */
const INCREMENT_WAIT_MS = 30_000;
/** Temp and claim files older than this were left by a crashed process. */
const ABANDONED_AFTER_MS = 60_000;

/**
 * The default store: one directory on one host, shared safely by every process using it, and
 * kept across restarts. Each key is a file named by the key's SHA-256, written atomically
 * (a temp file, then rename) with mode 0600. `take` and `add` are atomic across processes:
 * `take` claims the file with a rename only one process can win, `add` links a complete temp file
 * into place, which fails if the entry exists.
 */
export class FileStore implements KeyValueStore {
  readonly directory: string;
  readonly #sweepEvery: number;
  #writesSinceSweep = 0;
  /** The increment running (or queued last) per entry name in this process. */
  readonly #increments = new Map<string, Promise<number>>();
  #backgroundSweep: Promise<unknown> | undefined;

  constructor(options: FileStoreOptions) {
    if (typeof options?.directory !== "string" || options.directory.length === 0) {
      throw new TypeError("FileStore needs a directory");
    }
    const sweepEvery = options.sweepEvery ?? 1000;
    if (!Number.isSafeInteger(sweepEvery) || sweepEvery < 0) {
      throw new TypeError(`sweepEvery must be a non-negative integer, got ${String(sweepEvery)}`);
    }
    this.directory = resolve(options.directory);
    this.#sweepEvery = sweepEvery;
    try {
      mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw this.#failure("create the directory", error);
    }
    if (sweepEvery > 0) this.#sweepInBackground();
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const name = entryName(key);
    const record = await this.#io("read", () => readRecord(join(this.directory, name), name));
    return record === undefined || isExpired(record, Date.now()) ? undefined : (record.value as T);
  }

  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    await this.#replace(key, encodeRecord(key, value, expiryTime(options)));
  }

  /**
   * Under a lock entry that one process at a time can link into place: read, add, write back.
   * Increments of one key in this process queue behind each other, so each process has at most one
   * contender for the lock. A process that dies holding the lock holds it for
   * {@link INCREMENT_LOCK_SECONDS} at most.
   */
  async increment(key: string, by = 1, options?: SetOptions): Promise<number> {
    assertIncrement(by);
    const name = entryName(key);
    const previous = this.#increments.get(name);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.#withLock(`${key}\u0000increment-lock`, async () => {
      const record = await this.#io("read", () => readRecord(join(this.directory, name), name));
      const live = record !== undefined && !isExpired(record, Date.now()) ? record : undefined;
      const value = counterValue(live?.value) + by;
      await this.#replace(key, encodeRecord(key, value, live ? live.expiresAt : expiryTime(options)));
      return value;
    }));
    this.#increments.set(name, run);
    try {
      return await run;
    } finally {
      if (this.#increments.get(name) === run) this.#increments.delete(name);
    }
  }

  async #withLock<T>(lockKey: string, critical: () => Promise<T>): Promise<T> {
    const lockName = entryName(lockKey);
    const lockPath = join(this.directory, lockName);
    const deadline = Date.now() + INCREMENT_WAIT_MS;
    let temp: string | undefined;
    let writtenAt = 0;
    try {
      for (;;) {
        // The lock carries its expiry: rewrite it before it could be taken for a stale one.
        if (temp === undefined || Date.now() - writtenAt > (INCREMENT_LOCK_SECONDS * 1000) / 2) {
          if (temp !== undefined) await discard(temp);
          writtenAt = Date.now();
          temp = await this.#io("write", () => this.#writeTemp(encodeRecord(lockKey, true, writtenAt + INCREMENT_LOCK_SECONDS * 1000)));
        }
        const lockFile = temp;
        if (await this.#io("lock", () => linkExclusive(lockFile, lockPath))) break;
        if ((await this.#io("lock", () => this.#removeIfStale(lockName))) !== "live") continue;
        if (Date.now() > deadline) throw new StorageError(`FileStore cannot increment in ${this.directory} (the counter stayed locked)`);
        await sleep(1 + Math.random() * 4);
      }
    } finally {
      if (temp !== undefined) await discard(temp);
    }
    try {
      return await critical();
    } finally {
      await removeQuietly(lockPath).catch(() => undefined);
    }
  }

  async #replace(key: string, content: string): Promise<void> {
    const path = join(this.directory, entryName(key));
    await this.#io("write", async () => {
      const temp = await this.#writeTemp(content);
      try {
        await rename(temp, path);
      } catch (error) {
        await discard(temp);
        throw error;
      }
    });
    this.#countWrite();
  }

  async add(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    const name = entryName(key);
    const path = join(this.directory, name);
    const content = encodeRecord(key, value, expiryTime(options));
    const added = await this.#io("write", async () => {
      const temp = await this.#writeTemp(content);
      try {
        if (await linkExclusive(temp, path)) return true;
        // An expired or unreadable entry must not block the key: remove it, then try once more.
        if ((await this.#removeIfStale(name)) === "live") return false;
        return await linkExclusive(temp, path);
      } finally {
        await discard(temp);
      }
    });
    if (added) this.#countWrite();
    return added;
  }

  async take<T = unknown>(key: string): Promise<T | undefined> {
    const name = entryName(key);
    const claim = this.#claimPath();
    return this.#io("take", async () => {
      if (!(await renameIfExists(join(this.directory, name), claim))) return undefined;
      try {
        const record = await readRecord(claim, name);
        return record === undefined || isExpired(record, Date.now()) ? undefined : (record.value as T);
      } finally {
        await discard(claim);
      }
    });
  }

  async delete(key: string): Promise<void> {
    const path = join(this.directory, entryName(key));
    await this.#io("delete", () => removeQuietly(path));
  }

  /**
   * Removes expired and unreadable entries, and temp files abandoned by crashed processes.
   * Returns how many files it removed. Safe to run while other processes use the directory.
   */
  async sweep(): Promise<number> {
    const names = await this.#io("list", () => readdir(this.directory));
    let removed = 0;
    for (const name of names) {
      if (ENTRY_NAME.test(name)) {
        if ((await this.#io("sweep", () => this.#removeIfStale(name))) === "stale") removed++;
      } else if (name.startsWith(TEMP_PREFIX) || name.startsWith(CLAIM_PREFIX)) {
        if (await this.#io("sweep", () => removeIfAbandoned(join(this.directory, name)))) removed++;
      }
    }
    return removed;
  }

  /** Waits for a background sweep to finish (nothing else is held open). */
  async close(): Promise<void> {
    await this.#backgroundSweep;
  }

  /**
   * Removes the entry if it is expired or unreadable. Returns its state before: "stale" when this
   * call removed it, "absent" when there is none, "live" when it was (or has just become) valid.
   */
  async #removeIfStale(name: string): Promise<EntryState> {
    const path = join(this.directory, name);
    const state = await entryState(path, name);
    if (state !== "stale") return state;
    // Unlinking `path` directly could delete a fresh entry written since we read it; moving it
    // aside first means we only ever delete the file we inspect.
    const claim = this.#claimPath();
    if (!(await renameIfExists(path, claim))) return "absent";
    try {
      if ((await entryState(claim, name)) === "stale") return "stale";
      // Replaced by a live entry in between: put it back, unless something newer is there already.
      await linkExclusive(claim, path);
      return "live";
    } finally {
      await discard(claim);
    }
  }

  async #writeTemp(content: string): Promise<string> {
    const temp = join(this.directory, `${TEMP_PREFIX}${randomUUID()}`);
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } catch (error) {
      await handle.close();
      await discard(temp);
      throw error;
    }
    await handle.close();
    return temp;
  }

  #claimPath(): string {
    return join(this.directory, `${CLAIM_PREFIX}${randomUUID()}`);
  }

  #countWrite(): void {
    if (this.#sweepEvery === 0 || ++this.#writesSinceSweep < this.#sweepEvery) return;
    this.#writesSinceSweep = 0;
    this.#sweepInBackground();
  }

  #sweepInBackground(): void {
    if (this.#backgroundSweep !== undefined) return;
    // Best effort: a failure here (say, the directory was removed) shows up on the next operation.
    this.#backgroundSweep = this.sweep()
      .catch(() => 0)
      .finally(() => { this.#backgroundSweep = undefined; });
  }

  async #io<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.#failure(operation, error);
    }
  }

  #failure(operation: string, error: unknown): StorageError {
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
    return new StorageError(`FileStore cannot ${operation} in ${this.directory} (${code})`);
  }
}

/**
 * `$FASTMCP_HOME/<name>`, else `$XDG_DATA_HOME/fastmcp-ts/<name>`, else
 * `~/.local/share/fastmcp-ts/<name>`: where a FileStore lives unless told otherwise.
 */
export function defaultStoreDirectory(name: string): string {
  if (typeof name !== "string" || !/^[^/\\]+$/.test(name) || name === "." || name === "..") {
    throw new TypeError(`Store directory name must be a single path segment, got ${JSON.stringify(name)}`);
  }
  const home = process.env.FASTMCP_HOME;
  if (home) return join(resolve(home), name);
  // The XDG spec says to ignore a relative XDG_DATA_HOME.
  const xdg = process.env.XDG_DATA_HOME;
  const data = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".local", "share");
  return join(data, "fastmcp-ts", name);
}

/** The file name of a key's entry: any key is safe, none can escape the directory. */
function entryName(key: string): string {
  assertKey(key);
  return `${createHash("sha256").update(key, "utf8").digest("hex")}.json`;
}

function encodeRecord(key: string, value: unknown, expiresAt: number | undefined): string {
  const json = encodeValue(value);
  const expiry = expiresAt === undefined ? "" : `,"expiresAt":${expiresAt}`;
  return `{"key":${JSON.stringify(key)},"value":${json}${expiry}}`;
}

/** The record in a file, or undefined if there is none or it is not an entry for `name`. */
async function readRecord(path: string, name: string): Promise<StoredRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseRecord(text, name);
}

function parseRecord(text: string, name: string): StoredRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || !("value" in parsed)) return undefined;
  const record = parsed as Partial<StoredRecord>;
  if (typeof record.key !== "string" || record.key.length === 0 || entryName(record.key) !== name) return undefined;
  if (record.expiresAt !== undefined && typeof record.expiresAt !== "number") return undefined;
  return record as StoredRecord;
}

async function entryState(path: string, name: string): Promise<EntryState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw error;
  }
  const record = parseRecord(text, name);
  return record === undefined || isExpired(record, Date.now()) ? "stale" : "live";
}

function isExpired(record: StoredRecord, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now;
}

/** Hard-links `from` as `to`; false if `to` exists. Atomic: of concurrent links, one wins. */
async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** Renames `from` to `to`; false if `from` does not exist. Of concurrent renames, one wins. */
async function renameIfExists(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Cleanup that must not hide the error (or result) that led to it. */
async function discard(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

async function removeIfAbandoned(path: string): Promise<boolean> {
  try {
    if (Date.now() - (await stat(path)).mtimeMs < ABANDONED_AFTER_MS) return false;
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
