import { createHash } from "node:crypto";
import type { KeyValueStore } from "../../../storage/store.js";

/** Approvals users gave clients, remembered per user and client for `ttlSeconds` (0: never). */
export class Consents {
  constructor(private readonly store: KeyValueStore, private readonly ttlSeconds: number) {}

  /** Whether `subject` already approved `clientId` for every one of `scopes`. */
  async covers(subject: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    if (this.ttlSeconds === 0) return false;
    const remembered = await this.store.get<{ scopes: string[] }>(key(subject, clientId));
    return remembered !== undefined && scopes.every((scope) => remembered.scopes.includes(scope));
  }

  /** Remembers an approval, adding to what the user approved before. */
  async remember(subject: string, clientId: string, scopes: readonly string[]): Promise<void> {
    if (this.ttlSeconds === 0) return;
    const previous = (await this.store.get<{ scopes: string[] }>(key(subject, clientId)))?.scopes ?? [];
    await this.store.set(key(subject, clientId), { scopes: [...new Set([...previous, ...scopes])] }, { ttlSeconds: this.ttlSeconds });
  }
}

function key(subject: string, clientId: string): string {
  return `consent:${createHash("sha256").update(subject).update("\u0000").update(clientId).digest("hex")}`;
}
