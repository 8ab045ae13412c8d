import { randomBytes } from "node:crypto";
import type { SecretBox } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";
import { OAuthError } from "../errors.js";
import type { AuthorizationParams } from "../types.js";

/** An authorization request `/authorize` validated, waiting for the user to sign in and approve. */
export interface PendingAuthorization {
  /** Random; binds the pages' CSRF tokens and makes the transaction single use. */
  id: string;
  clientId: string;
  params: AuthorizationParams;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** Longest sealed transaction accepted: it travels in page URLs and forms. */
export const MAX_SEALED_TRANSACTION = 8192;
const ASSOCIATED_DATA = "fastmcp-authorization-transaction";
/** How far behind the sealing instance's clock another instance's may be. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Pending authorizations, kept out of the store until someone has signed in: `/authorize` seals
 * the validated request (AES-GCM, so nobody can forge or alter one) into the `txn` parameter the
 * login and consent pages carry. Anonymous traffic therefore cannot grow storage; the store gets
 * one small marker when a signed-in user ends the transaction, which makes it single use.
 */
export class Transactions {
  constructor(private readonly store: KeyValueStore, private readonly box: SecretBox, readonly ttlSeconds: number) {}

  /** The sealed form of a new transaction, for the `txn` parameter. */
  seal(clientId: string, params: AuthorizationParams): string {
    const pending: PendingAuthorization = { id: randomBytes(16).toString("base64url"), clientId, params, createdAt: Date.now() };
    const sealed = this.box.seal(JSON.stringify(pending), ASSOCIATED_DATA);
    if (sealed.length > MAX_SEALED_TRANSACTION) throw new OAuthError("invalid_request", "The authorization request is too large (its state, redirect_uri and scope are too long)");
    return sealed;
  }

  /** The transaction a `txn` value carries, unless it is forged, altered, malformed or expired. */
  open(sealed: string | null | undefined): PendingAuthorization | undefined {
    if (!sealed || sealed.length > MAX_SEALED_TRANSACTION) return undefined;
    let pending: PendingAuthorization;
    try {
      pending = JSON.parse(this.box.open(sealed, ASSOCIATED_DATA)) as PendingAuthorization;
    } catch {
      return undefined;
    }
    const age = Date.now() - pending.createdAt;
    return age > -CLOCK_SKEW_MS && age < this.ttlSeconds * 1000 ? pending : undefined;
  }

  /** Whether the transaction was ended already. */
  async ended(pending: PendingAuthorization): Promise<boolean> {
    return (await this.store.get(doneKey(pending))) !== undefined;
  }

  /** Ends the transaction: true for exactly one of concurrent calls, false once it was ended. */
  consume(pending: PendingAuthorization): Promise<boolean> {
    const remaining = Math.max(1, Math.ceil((pending.createdAt + this.ttlSeconds * 1000 - Date.now()) / 1000));
    return this.store.add(doneKey(pending), true, { ttlSeconds: remaining });
  }
}

function doneKey(pending: PendingAuthorization): string {
  return `txn-done:${pending.id}`;
}
