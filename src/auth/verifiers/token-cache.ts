/**
 * RFC 6750 `b64token`: the only tokens stored. A hit for `header.slice("Bearer ".length)` then
 * means the header is a well-formed Bearer credential for exactly that token, so the HTTP fast
 * path need not parse the header again (see AuthProvider.cachedToken).
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

interface Entry<V> {
  readonly key: string;
  /** The whole token: a hit needs the presented token to be this very string. */
  readonly token: string;
  readonly value: V;
  readonly expiresAtMs: number;
  /** Neighbours in least-recently-used order: `older` is nearer the next eviction. */
  older: Entry<V> | undefined;
  newer: Entry<V> | undefined;
}

/**
 * Tokens that already passed verification, so a client that reuses its token (they all do) pays
 * for the signature once. Bounded in size (least recently used out first) and by each entry's
 * expiry; `isStillValid` lets the owner veto an entry (a key removed from the JWKS).
 *
 * `keyOf` picks the part of a token the map is keyed by. Hashing a string reads all of it, and a
 * bearer token arrives as a new string with every request, so keying a 700-character JWT by
 * itself costs about a microsecond per lookup; keying it by the tail of its signature costs a
 * few dozen nanoseconds. A hit still requires the whole token to match (one memory comparison),
 * so a key shared by two tokens is a miss, never a confusion, and a forged token with a copied
 * tail evicts nothing: entries are only added after a verification succeeds.
 *
 * The recency order is a linked list through the entries, not the Map's insertion order: finding
 * a Map's first key walks over the slots of every entry deleted since the table was last
 * rebuilt, which under a stream of new tokens (each evicting the oldest) cost several
 * microseconds per insertion at 10,000 entries.
 */
export class VerifiedTokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private oldest: Entry<V> | undefined;
  private newest: Entry<V> | undefined;

  constructor(
    private readonly maxEntries: number,
    private readonly isStillValid: (value: V) => boolean = () => true,
    private readonly keyOf: (token: string) => string = (token) => token,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string, nowMs = Date.now()): V | undefined {
    const entry = this.entries.get(this.keyOf(token));
    if (entry === undefined || entry.token !== token) return undefined;
    if (entry.expiresAtMs <= nowMs || !this.isStillValid(entry.value)) {
      this.remove(entry);
      return undefined;
    }
    if (entry !== this.newest) {
      this.unlink(entry);
      this.append(entry);
    }
    return entry.value;
  }

  /** Stores a verified token until `expiresAtMs`. Tokens outside the b64token syntax are not stored. */
  set(token: string, value: V, expiresAtMs: number): void {
    if (this.maxEntries <= 0 || !B64TOKEN.test(token)) return;
    const key = this.keyOf(token);
    const previous = this.entries.get(key);
    if (previous) this.remove(previous);
    const entry: Entry<V> = { key, token, value, expiresAtMs, older: undefined, newer: undefined };
    this.entries.set(key, entry);
    this.append(entry);
    if (this.entries.size > this.maxEntries) this.remove(this.oldest!);
  }

  /** Forgets a token (its owner learnt that it was revoked). */
  delete(token: string): void {
    const entry = this.entries.get(this.keyOf(token));
    if (entry?.token === token) this.remove(entry);
  }

  clear(): void {
    this.entries.clear();
    this.oldest = this.newest = undefined;
  }

  private remove(entry: Entry<V>): void {
    this.entries.delete(entry.key);
    this.unlink(entry);
  }

  private append(entry: Entry<V>): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry<V>): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = entry.newer = undefined;
  }
}

/** Characters of a JWT's signature a cache keys it by: 43 are a whole HS256 signature, 256 bits of any longer one. */
const SIGNATURE_TAIL = 43;

/** `keyOf` for compact JWTs: the end of the signature, which differs between any two tokens an issuer signs. */
export function signatureTail(token: string): string {
  return token.length <= SIGNATURE_TAIL ? token : token.slice(-SIGNATURE_TAIL);
}

/**
 * Tokens an identity provider accepted when asked (opaque tokens checked at its userinfo or
 * token-info endpoint), remembered for `ttlSeconds` and never past their own expiry, at most
 * `maxSize` of them; a ttl of 0 remembers none. Spares a call to the provider per request.
 */
export class AcceptedTokens<V extends { readonly expiresAt?: number }> {
  private readonly ttlMs: number;
  private readonly cache: VerifiedTokenCache<V>;

  constructor(ttlSeconds: number, maxSize = 10_000) {
    this.ttlMs = Math.max(0, ttlSeconds) * 1000;
    this.cache = new VerifiedTokenCache(this.ttlMs > 0 ? maxSize : 0);
  }

  get(token: string): V | undefined {
    return this.ttlMs > 0 ? this.cache.get(token) : undefined;
  }

  remember(token: string, verified: V): void {
    if (this.ttlMs > 0) this.cache.set(token, verified, Math.min(Date.now() + this.ttlMs, (verified.expiresAt ?? Number.POSITIVE_INFINITY) * 1000));
  }
}
