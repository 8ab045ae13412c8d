import { setTimeout as sleep } from "node:timers/promises";
import type { SecretBox } from "../../storage/encryption.js";
import type { KeyValueStore } from "../../storage/store.js";
import { UpstreamError, type UpstreamServer, type UpstreamTokens } from "./upstream.js";

/** The upstream tokens of one grant, as stored (sealed). */
interface StoredUpstream {
  sealed: string;
  /** Milliseconds since the epoch: when the record expires (it follows its grant's lifetime). */
  until: number;
}

/** A grant's upstream tokens as this instance last read them, and when their record expires (ms). */
interface Remembered {
  tokens: UpstreamTokens;
  until: number;
}

/** Most grants whose upstream tokens this instance keeps in memory. */
const MAX_REMEMBERED = 10_000;
/** How long a refresh in progress on another instance is waited for, at most. */
const REFRESH_LOCK_SECONDS = 15;

/**
 * The upstream tokens behind each grant (`upstream:<grantId>`, sealed with the store's key: they
 * never reach an MCP client), and their refresh: once for concurrent requests of this instance
 * (one promise) and once across instances (the first to `add` a short lock refreshes; the others
 * wait for the record to change, then use it).
 */
export class UpstreamGrants {
  private readonly cache = new Map<string, Remembered>();
  private readonly refreshing = new Map<string, Promise<UpstreamTokens | undefined>>();

  constructor(private readonly store: KeyValueStore, private readonly box: SecretBox, private readonly upstream: UpstreamServer) {}

  /** Stores the tokens of a new grant for `ttlSeconds` (the grant's lifetime). */
  async save(grantId: string, tokens: UpstreamTokens, ttlSeconds: number): Promise<void> {
    await this.write(grantId, tokens, ttlSeconds);
  }

  /** The grant's upstream tokens, from memory while this instance's copy is current. */
  async get(grantId: string): Promise<UpstreamTokens | undefined> {
    return (await this.read(grantId))?.tokens;
  }

  /** Keeps the tokens as long as their grant, which a refresh of ours just extended. */
  async extend(grantId: string, ttlSeconds: number): Promise<void> {
    const current = await this.read(grantId);
    if (current) await this.write(grantId, current.tokens, ttlSeconds);
  }

  /**
   * New upstream tokens for the grant, unless `stale` (the version the caller found expired) was
   * already replaced, by this instance or another: then the replacement. Undefined when there is
   * no refresh token or the upstream refuses it; an unreachable upstream throws `unavailable`.
   */
  refresh(grantId: string, stale: UpstreamTokens): Promise<UpstreamTokens | undefined> {
    let pending = this.refreshing.get(grantId);
    if (!pending) {
      pending = this.refreshOnce(grantId, stale).finally(() => this.refreshing.delete(grantId));
      this.refreshing.set(grantId, pending);
    }
    return pending;
  }

  /** Forgets the grant's tokens; returns them, for revocation upstream. */
  async remove(grantId: string): Promise<UpstreamTokens | undefined> {
    const current = await this.read(grantId);
    this.cache.delete(grantId);
    await this.store.delete(key(grantId));
    return current?.tokens;
  }

  private async refreshOnce(grantId: string, stale: UpstreamTokens): Promise<UpstreamTokens | undefined> {
    const lock = `upstream-refreshing:${grantId}`;
    const deadline = Date.now() + REFRESH_LOCK_SECONDS * 1000;
    for (;;) {
      this.cache.delete(grantId);
      const current = await this.read(grantId);
      if (!current) return undefined;
      if (current.tokens.accessToken !== stale.accessToken) return current.tokens;
      if (!current.tokens.refreshToken) return undefined;
      if (await this.store.add(lock, true, { ttlSeconds: REFRESH_LOCK_SECONDS })) {
        try {
          return await this.renew(grantId, current);
        } finally {
          await this.store.delete(lock).catch(() => undefined);
        }
      }
      // Another instance is refreshing: its result lands in the record.
      if (Date.now() > deadline) throw new UpstreamError("unavailable", "another instance's refresh of the upstream token did not finish");
      await sleep(50);
    }
  }

  private async renew(grantId: string, current: Remembered): Promise<UpstreamTokens | undefined> {
    let renewed: UpstreamTokens;
    try {
      renewed = await this.upstream.refresh(current.tokens.refreshToken!, current.tokens.scope);
    } catch (error) {
      if (error instanceof UpstreamError && error.kind === "refused") return undefined;
      throw error;
    }
    // The new set keeps what the refresh response leaves out (an ID token, the scope).
    const tokens: UpstreamTokens = { ...current.tokens, ...renewed };
    await this.write(grantId, tokens, Math.max(1, Math.ceil((current.until - Date.now()) / 1000)));
    return tokens;
  }

  private async read(grantId: string): Promise<Remembered | undefined> {
    const cached = this.cache.get(grantId);
    if (cached && cached.until > Date.now()) return cached;
    const stored = await this.store.get<StoredUpstream>(key(grantId));
    if (!stored) return undefined;
    let tokens: UpstreamTokens;
    try {
      tokens = JSON.parse(this.box.open(stored.sealed, key(grantId))) as UpstreamTokens;
    } catch {
      return undefined;
    }
    const entry = { tokens, until: stored.until };
    this.remember(grantId, entry);
    return entry;
  }

  private async write(grantId: string, tokens: UpstreamTokens, ttlSeconds: number): Promise<void> {
    const until = Date.now() + ttlSeconds * 1000;
    const record: StoredUpstream = { sealed: this.box.seal(JSON.stringify(tokens), key(grantId)), until };
    await this.store.set(key(grantId), record, { ttlSeconds });
    this.remember(grantId, { tokens, until });
  }

  private remember(grantId: string, entry: Remembered): void {
    this.cache.delete(grantId);
    if (this.cache.size >= MAX_REMEMBERED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(grantId, entry);
  }
}

function key(grantId: string): string {
  return `upstream:${grantId}`;
}
