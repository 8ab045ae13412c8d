import { importJWK, type JWK } from "jose";
import { keyFits, keyFingerprint } from "./algorithms.js";

/** A public key ready to verify one algorithm. */
export interface UsableKey {
  readonly kid: string | undefined;
  readonly alg: string;
  readonly fingerprint: string;
  readonly key: CryptoKey | Uint8Array;
}

export interface RemoteKeySetOptions {
  /** Algorithms tokens may use; keys that fit none of them are skipped. */
  algorithms: readonly string[];
  /** Least time between two fetches triggered by unknown key ids. Default 30 s. */
  cooldownMs: number;
  /** Age after which the set is refreshed in the background (the old keys keep serving). Default 10 min. */
  maxAgeMs: number;
  /** Timeout of one fetch. Default 5 s. */
  timeoutMs: number;
  /** Largest JWKS document accepted. */
  maxBytes: number;
  onError: (error: unknown) => void;
}

/**
 * A JWKS fetched from the identity provider and kept in memory. It is refetched when a token names
 * a key id it does not know (at most once per cooldown, whatever the number of such tokens: an
 * attacker spraying random kids cannot make us hammer the IdP) and refreshed in the background
 * once old. When the IdP is down, the keys already fetched keep verifying. Keys no algorithm can
 * use (other types, encryption keys, broken material) are skipped, not fatal.
 */
export class RemoteKeySet {
  private keys: UsableKey[] = [];
  private fingerprints = new Set<string>();
  private fetchedAtMs = 0;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(private readonly url: URL, private readonly options: RemoteKeySetOptions) {}

  /** How many times the set was fetched (for tests and diagnostics). */
  fetches = 0;

  /** Whether a key with this fingerprint is still in the set. */
  contains(fingerprint: string): boolean {
    return this.fingerprints.has(fingerprint);
  }

  /** Starts a background refresh when the set is older than maxAgeMs (cooldown permitting). */
  refreshIfStale(now = Date.now()): void {
    if (this.fetchedAtMs !== 0 && now - this.fetchedAtMs > this.options.maxAgeMs) void this.refreshAllowed(now);
  }

  /** The key for a token header, fetching or refetching the set when that may help. */
  async keyFor(header: { alg?: string; kid?: string }): Promise<UsableKey | undefined> {
    const now = Date.now();
    if (this.fetchedAtMs === 0) await this.refreshAllowed(now);
    else if (now - this.fetchedAtMs > this.options.maxAgeMs) void this.refreshAllowed(now);
    let key = this.match(header);
    if (!key && header.kid !== undefined) {
      await this.refreshAllowed(now);
      key = this.match(header);
    }
    return key;
  }

  private match({ alg, kid }: { alg?: string; kid?: string }): UsableKey | undefined {
    if (alg === undefined) return undefined;
    const candidates = this.keys.filter((key) => key.alg === alg && (kid === undefined || key.kid === kid));
    // Without a kid the key must be unambiguous; with one, two keys sharing it are an IdP error.
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  private refreshAllowed(now: number): Promise<void> {
    if (this.inflight) return this.inflight;
    if (now - this.lastAttemptMs < this.options.cooldownMs) return Promise.resolve();
    this.lastAttemptMs = now;
    this.inflight = this.refresh().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  private async refresh(): Promise<void> {
    this.fetches++;
    try {
      const document = await this.download();
      const keys = await this.usableKeys(document);
      this.keys = keys;
      this.fingerprints = new Set(keys.map((key) => key.fingerprint));
      this.fetchedAtMs = Date.now();
    } catch (error) {
      this.options.onError(new Error(`could not fetch the JWKS at ${this.url.href}: ${(error as Error).message}`));
    }
  }

  private async download(): Promise<{ keys: unknown[] }> {
    const response = await fetch(this.url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.options.timeoutMs), redirect: "error" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const document = JSON.parse(await readAtMost(response, this.options.maxBytes)) as { keys?: unknown };
    if (!Array.isArray(document?.keys)) throw new Error("the document has no keys array");
    return { keys: document.keys };
  }

  private async usableKeys(document: { keys: unknown[] }): Promise<UsableKey[]> {
    const previous = new Map(this.keys.map((key) => [key.fingerprint, key]));
    const usable: UsableKey[] = [];
    for (const entry of document.keys) {
      if (typeof entry !== "object" || entry === null) continue;
      const jwk = entry as JWK;
      for (const alg of this.options.algorithms) {
        if (!keyFits(jwk, alg)) continue;
        const fingerprint = keyFingerprint(jwk, alg);
        const known = previous.get(fingerprint);
        if (known && known.kid === jwk.kid) {
          usable.push(known);
          continue;
        }
        try {
          usable.push({ kid: jwk.kid, alg, fingerprint, key: await importJWK(publicPart(jwk), alg) });
        } catch {
          // Unusable material (a curve this runtime lacks, a malformed modulus): skip this key only.
        }
      }
    }
    return usable;
  }
}

/** The body as text, refusing (without buffering it) a body over `maxBytes`. */
async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new Error(`the document exceeds ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); reader && read && !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`the document exceeds ${maxBytes} bytes`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Only the public members: a JWKS that leaks a private key must not make us treat it as one. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, n, e, x, y } = jwk;
  const part: JWK = { kty: kty! };
  if (crv !== undefined) part.crv = crv;
  if (n !== undefined) part.n = n;
  if (e !== undefined) part.e = e;
  if (x !== undefined) part.x = x;
  if (y !== undefined) part.y = y;
  return part;
}
