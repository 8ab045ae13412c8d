import { incrementIn, type KeyValueStore } from "../../../storage/store.js";
import { OAuthLimitError } from "../errors.js";
import type { OAuthClientInformation } from "../types.js";

export interface ClientLifetime {
  /** How long a client nobody has used yet (no grant) is kept. */
  unusedTtlSeconds: number;
  /** Most clients registered and not used yet; past it registration is refused. */
  maxUnused: number;
}

/** A client as stored: with how long its grants keep it, once it has some. */
interface StoredClient extends OAuthClientInformation {
  /** Seconds since the epoch; absent while the client has never been granted anything. */
  retained_until?: number;
}

/**
 * Dynamically registered clients (`client:<id>`). A client is kept for `unusedTtlSeconds` until
 * someone grants it something, and from then on as long as its grants, so registrations nobody
 * uses cannot pile up. Registrations not used yet are counted per period of `unusedTtlSeconds`
 * (shared by every instance through the store), and refused past `maxUnused`.
 */
export class ClientRegistry {
  constructor(private readonly store: KeyValueStore, private readonly lifetime: ClientLifetime) {}

  get(clientId: string): Promise<OAuthClientInformation | undefined> {
    return this.store.get<StoredClient>(clientKey(clientId));
  }

  /** Stores a new client, or refuses with 429 when too many are registered and unused. */
  async register(client: OAuthClientInformation): Promise<void> {
    const now = Date.now();
    const period = this.periodOf(now);
    const periodMs = this.lifetime.unusedTtlSeconds * 1000;
    // Registrations of the previous period still alive: those of its part that has not expired yet.
    const previous = Math.max(0, (await this.store.get<number>(countKey(period - 1))) ?? 0);
    const stillAlive = Math.ceil(previous * (1 - (now - period * periodMs) / periodMs));
    const count = await this.count(period, 1);
    if (stillAlive + count > this.lifetime.maxUnused) {
      await this.count(period, -1);
      const retryAfter = Math.max(1, Math.ceil(((period + 1) * periodMs - now) / 1000));
      throw new OAuthLimitError(
        `This server holds as many registered applications that have not been used yet as it accepts (${this.lifetime.maxUnused}); try again later, or identify the client by a Client ID Metadata Document`,
        retryAfter,
      );
    }
    await this.store.set(clientKey(client.client_id), client, { ttlSeconds: this.lifetime.unusedTtlSeconds });
  }

  /**
   * Keeps a client at least until `untilSeconds` (the end of a grant it was given). Rewrites the
   * record only when its lifetime must grow by more than a tenth, so each refresh costs nothing.
   */
  async retain(client: OAuthClientInformation, untilSeconds: number): Promise<void> {
    if (client.metadata_document) return;
    const stored = client as StoredClient;
    const now = Math.floor(Date.now() / 1000);
    const current = stored.retained_until;
    if (current !== undefined && current - now >= (untilSeconds - now) * 0.9) return;
    const { retained_until: _previous, ...fields } = stored;
    await this.store.set(clientKey(client.client_id), { ...fields, retained_until: untilSeconds } satisfies StoredClient, { ttlSeconds: Math.max(1, untilSeconds - now) });
    stored.retained_until = untilSeconds;
    if (current === undefined) await this.countUsed(client);
  }

  /** A client's first grant: it no longer counts as an unused registration. */
  private async countUsed(client: OAuthClientInformation): Promise<void> {
    if (client.client_id_issued_at === undefined) return;
    const period = this.periodOf(client.client_id_issued_at * 1000);
    if (period >= this.periodOf(Date.now()) - 1) await this.count(period, -1);
  }

  /** Adds to a period's count; the counter lives two periods (it is read during the next one). */
  private count(period: number, by: number): Promise<number> {
    return incrementIn(this.store, countKey(period), by, { ttlSeconds: 2 * this.lifetime.unusedTtlSeconds });
  }

  private periodOf(milliseconds: number): number {
    return Math.floor(milliseconds / (this.lifetime.unusedTtlSeconds * 1000));
  }
}

function clientKey(clientId: string): string {
  return `client:${clientId}`;
}

function countKey(period: number): string {
  return `clients-unused:${period}`;
}
