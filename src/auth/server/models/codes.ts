import { randomBytes } from "node:crypto";
import { hashSecret } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";
import type { AuthorizationCode } from "../types.js";
import type { Grants } from "./grants.js";

/** A code as stored (under its hash): what it was issued for, and its grant. */
export interface CodeRecord extends Omit<AuthorizationCode, "code"> {
  grantId: string;
}

/**
 * Single-use authorization codes, stored by hash (`code:<sha256>`). A redeemed code is remembered
 * for its lifetime (`redeemed:<sha256>`): presenting it again means someone else has a copy, and
 * ends the grant it started (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
 */
export class AuthorizationCodes {
  constructor(private readonly store: KeyValueStore, private readonly grants: Grants, private readonly ttlSeconds: number) {}

  /** Stores a new code; returns it. */
  async issue(record: Omit<CodeRecord, "expiresAt">): Promise<string> {
    const code = randomBytes(32).toString("base64url");
    const stored: CodeRecord = { ...record, expiresAt: Math.floor(Date.now() / 1000) + this.ttlSeconds };
    await this.store.set(`code:${hashSecret(code)}`, stored, { ttlSeconds: this.ttlSeconds });
    return code;
  }

  /** The code, if it exists and was issued to `clientId`; a code presented after its redemption revokes its grant. */
  async load(clientId: string, code: string): Promise<AuthorizationCode | undefined> {
    const hash = hashSecret(code);
    const redeemed = await this.store.get<{ grantId: string }>(`redeemed:${hash}`);
    if (redeemed) {
      await this.grants.revoke(redeemed.grantId);
      return undefined;
    }
    const record = await this.store.get<CodeRecord>(`code:${hash}`);
    if (!record || record.clientId !== clientId) return undefined;
    const { grantId: _grantId, ...fields } = record;
    return { ...fields, code };
  }

  /** Consumes the code: of concurrent redemptions exactly one gets its record. */
  async redeem(code: string): Promise<CodeRecord | undefined> {
    const hash = hashSecret(code);
    const record = await this.store.take<CodeRecord>(`code:${hash}`);
    if (record) await this.store.set(`redeemed:${hash}`, { grantId: record.grantId }, { ttlSeconds: this.ttlSeconds });
    return record;
  }
}
