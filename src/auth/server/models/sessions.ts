import { randomBytes } from "node:crypto";
import { hashSecret } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";

const SESSION_ID = /^[A-Za-z0-9_-]{32,64}$/;

/**
 * Browser login sessions: who signed in, kept by the hash of a random id the browser holds in a
 * cookie, so that a step-up later in the session asks for consent only, not the password again.
 */
export class LoginSessions<User> {
  constructor(private readonly store: KeyValueStore, readonly ttlSeconds: number) {}

  /** The user of a session id, or undefined (unknown, expired, or not a session id at all). */
  async user(id: string | undefined): Promise<User | undefined> {
    if (!id || !SESSION_ID.test(id)) return undefined;
    return (await this.store.get<{ user: User }>(key(id)))?.user;
  }

  /** Starts a session for `user`; returns its id (the cookie's value). */
  async start(user: User): Promise<string> {
    const id = randomBytes(32).toString("base64url");
    await this.store.set(key(id), { user, createdAt: Date.now() }, { ttlSeconds: this.ttlSeconds });
    return id;
  }
}

function key(id: string): string {
  return `session:${hashSecret(id)}`;
}
