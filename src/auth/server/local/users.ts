import { createHash, timingSafeEqual } from "node:crypto";
import { AuthConfigurationError } from "../../urls.js";
import type { PasswordCheck, SignedInUser } from "../interaction/port.js";

/** Who logged in: what tokens carry as `sub`, plus claims for handlers (`ctx.auth.claims`). */
export type LocalUser = SignedInUser;

/** Checks a username and password; resolves to the user, or null when they do not match. */
export type Authenticate = PasswordCheck;

/** A development user list: username → password, or a password with the user's details. */
export type UserTable = Record<string, string | ({ password: string } & Partial<LocalUser>)>;

/**
 * `authenticate` for a fixed table of users. Every username costs the same comparison, known or
 * not, so response times do not tell which usernames exist.
 */
export function tableAuthenticator(users: UserTable): Authenticate {
  const entries = new Map(Object.entries(users).map(([username, entry]) => {
    const details = typeof entry === "string" ? { password: entry } : entry;
    if (typeof details.password !== "string" || details.password === "") throw new AuthConfigurationError(`LocalOAuthProvider users.${username} needs a non-empty password`);
    return [username, { digest: digest(details.password), user: { subject: details.subject ?? username, name: details.name ?? username, ...(details.claims ? { claims: details.claims } : {}) } }];
  }));
  const decoy = digest("\u0000no such user\u0000");
  return (username, password) => {
    const entry = entries.get(username);
    const matches = timingSafeEqual(digest(password), entry?.digest ?? decoy);
    return entry && matches ? entry.user : null;
  };
}

function digest(password: string): Buffer {
  return createHash("sha256").update(password, "utf8").digest();
}
