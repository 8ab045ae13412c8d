/**
 * Tokens that already passed verification, so a client that reuses its token (they all do) pays
 * for the signature once. Bounded in size (least recently used out first) and by each entry's
 * expiry; `isStillValid` lets the owner veto an entry (a key removed from the JWKS).
 */
export class VerifiedTokenCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(private readonly maxEntries: number, private readonly isStillValid: (value: V) => boolean = () => true) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string, nowMs = Date.now()): V | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.expiresAtMs <= nowMs || !this.isStillValid(entry.value)) return undefined;
    this.entries.set(token, entry);
    return entry.value;
  }

  set(token: string, value: V, expiresAtMs: number): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(token);
    this.entries.set(token, { value, expiresAtMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }
}
