import { randomBytes } from "node:crypto";
import { hashSecret, type SecretBox } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";
import { OAuthError } from "../errors.js";
import type { OAuthTokenResponse, RefreshToken } from "../types.js";
import type { Grants } from "./grants.js";

/** A refresh token as stored (under its hash). */
export interface RefreshRecord {
  grantId: string;
  clientId: string;
  /** What the grant allows: a refresh may narrow the access token's scopes, then widen them back. */
  scopes: string[];
  resource: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** Written by versions before crash-safe rotation, once the token was used. */
  rotated?: { until: number; sealed: string };
}

/** A refresh token loaded for `/token`, with the grant it belongs to. */
export interface LoadedRefreshToken extends RefreshToken {
  grantId: string;
  resource: string;
  /** @internal A rotation recorded by an earlier version, answered as such. */
  legacyRotation?: { until: number; sealed: string };
}

/** The committed successor of a used refresh token: the answer a retry within the grace window gets. */
interface Successor {
  /** Milliseconds since the epoch. */
  until: number;
  /** The token response, sealed (it holds tokens). */
  sealed: string;
}

export interface RefreshTokenSettings {
  ttlSeconds: number;
  /** How long a used refresh token still answers, with the same response, a retried request. */
  graceSeconds: number;
}

/**
 * Refresh tokens, stored by hash, rotated on every use without a lock, so a crash at any moment
 * leaves nothing that blocks a retry:
 *
 * 1. the successor (access token and refresh token) is issued and stored;
 * 2. it is committed with an `add` of `refresh-next:<hash>`, which exactly one attempt wins;
 * 3. an attempt that loses (a concurrent retry) drops its own refresh token and answers with the
 *    committed response, sealed in the store, while the grace window lasts.
 *
 * A crash before step 2 leaves an unused refresh token nobody received, and a retry rotates
 * afresh; a crash after it leaves the committed answer for the retry. A used token presented
 * after the grace window means a copy is in someone else's hands: the grant ends.
 */
export class RefreshTokens {
  constructor(
    private readonly store: KeyValueStore,
    private readonly box: SecretBox,
    private readonly grants: Grants,
    private readonly settings: RefreshTokenSettings,
  ) {}

  /** Stores a new refresh token for a grant; returns it. */
  async issue(fields: Omit<RefreshRecord, "expiresAt" | "rotated">): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const record: RefreshRecord = { ...fields, expiresAt: nowSeconds() + this.settings.ttlSeconds };
    await this.store.set(recordKey(token), record, { ttlSeconds: this.settings.ttlSeconds });
    return token;
  }

  /** The refresh token, if it exists and was issued to `clientId`. */
  async load(clientId: string, token: string): Promise<LoadedRefreshToken | undefined> {
    const record = await this.store.get<RefreshRecord>(recordKey(token));
    if (!record || record.clientId !== clientId) return undefined;
    const loaded: LoadedRefreshToken = { token, clientId, scopes: record.scopes, expiresAt: record.expiresAt, resource: record.resource, grantId: record.grantId };
    if (record.rotated) loaded.legacyRotation = record.rotated;
    return loaded;
  }

  /** Rotates `token`: `issue` makes the successor; one successor is ever committed (see the class). */
  async rotate(token: LoadedRefreshToken, issue: () => Promise<OAuthTokenResponse>): Promise<OAuthTokenResponse> {
    if (token.legacyRotation) return this.answerFor(token, { until: token.legacyRotation.until * 1000, sealed: token.legacyRotation.sealed }, recordKey(token.token));
    const key = successorKey(token.token);
    const response = await issue();
    const successor: Successor = { until: Date.now() + this.settings.graceSeconds * 1000, sealed: this.box.seal(JSON.stringify(response), key) };
    // Kept as long as the used token would have lived: presenting it later is reuse, detected.
    const ttlSeconds = Math.max(1, (token.expiresAt ?? nowSeconds()) - nowSeconds());
    if (await this.store.add(key, successor, { ttlSeconds })) return response;
    if (response.refresh_token !== undefined) await this.store.delete(recordKey(response.refresh_token));
    return this.answerFor(token, await this.store.get<Successor>(key), key);
  }

  /** The committed answer while the grace window lasts; after it, the grant ends. */
  private async answerFor(token: LoadedRefreshToken, successor: Successor | undefined, sealedWith: string): Promise<OAuthTokenResponse> {
    if (successor && successor.until > Date.now()) return JSON.parse(this.box.open(successor.sealed, sealedWith)) as OAuthTokenResponse;
    if (successor) await this.grants.revoke(token.grantId);
    throw new OAuthError("invalid_grant", "The refresh token is invalid, expired, revoked, or was issued to another client");
  }
}

function recordKey(token: string): string {
  return `refresh:${hashSecret(token)}`;
}

function successorKey(token: string): string {
  return `refresh-next:${hashSecret(token)}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
