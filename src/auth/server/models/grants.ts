import { randomBytes } from "node:crypto";
import type { KeyValueStore } from "../../../storage/store.js";

/** A grant: one user's approval of one client, which every token issued from it refers to. */
export interface GrantRecord {
  clientId: string;
  subject: string;
  /** Claims copied into every access token (the user's, never the standard ones). */
  claims: Record<string, unknown>;
  scopes: string[];
  resource: string;
}

/** Most grants whose live verdict this instance remembers. */
const MAX_REMEMBERED = 10_000;

/**
 * Grants in a store (`grant:<id>`), and what this instance knows of their revocation: a grant it
 * read as live counts as live for `revocationCheckSeconds` (so most requests read nothing), one
 * revoked here stops at once, and one revoked by another instance within that many seconds.
 */
export class Grants {
  /** Grant id → when this instance's live verdict stops counting (ms). */
  private readonly live = new Map<string, number>();
  /** Revocations done here so far: a read that overlapped one is not remembered. */
  private revocations = 0;

  constructor(
    private readonly store: KeyValueStore,
    private readonly revocationCheckSeconds: number,
    /** Told once a grant was revoked here (an upstream token to revoke, say). */
    private readonly onRevoked: (id: string) => Promise<void> = async () => undefined,
  ) {}

  /** Stores a new grant for `ttlSeconds`; returns its id. */
  async create(grant: GrantRecord, ttlSeconds: number): Promise<string> {
    const id = randomBytes(16).toString("base64url");
    await this.store.set(key(id), grant, { ttlSeconds });
    return id;
  }

  get(id: string): Promise<GrantRecord | undefined> {
    return this.store.get<GrantRecord>(key(id));
  }

  /** Starts a new lifetime for the grant (each refresh does). */
  async extend(id: string, grant: GrantRecord, ttlSeconds: number): Promise<void> {
    await this.store.set(key(id), grant, { ttlSeconds });
  }

  /** Whether the grant is still live, from this instance's recent verdict when it has one. */
  async isLive(id: string): Promise<boolean> {
    if (this.liveNow(id)) return true;
    const revocations = this.revocations;
    const live = (await this.store.get(key(id))) !== undefined;
    // A read that overlapped a revocation here may predate it: its answer serves this request
    // only, it is not remembered for the next ones.
    if (live && this.revocationCheckSeconds > 0 && revocations === this.revocations) {
      if (this.live.size >= MAX_REMEMBERED) this.live.delete(this.live.keys().next().value!);
      this.live.set(id, Date.now() + this.revocationCheckSeconds * 1000);
    }
    return live;
  }

  /** Synchronously: whether this instance's live verdict for the grant still holds. */
  liveNow(id: string, now = Date.now()): boolean {
    const until = this.live.get(id);
    return until !== undefined && until > now;
  }

  /** Ends the grant: every token issued from it stops working. */
  async revoke(id: string): Promise<void> {
    this.live.delete(id);
    await this.store.delete(key(id));
    // Reads that saw the grant before the delete landed: none of their verdicts may stay.
    this.revocations++;
    this.live.delete(id);
    await this.onRevoked(id);
  }
}

function key(id: string): string {
  return `grant:${id}`;
}
