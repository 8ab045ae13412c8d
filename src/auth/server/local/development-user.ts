import { randomBytes } from "node:crypto";
import type { SecretBox } from "../../../storage/encryption.js";
import type { KeyValueStore } from "../../../storage/store.js";
import type { UserTable } from "./users.js";

/**
 * The development user of a server without `users` or `authenticate` (loopback only): `dev`, with
 * a password generated on first start and kept in the store, printed so the developer can log in.
 */
export async function developmentUser(store: KeyValueStore, box: SecretBox, serverName: string): Promise<UserTable> {
  await store.add("dev-user", { username: "dev", password: box.seal(randomBytes(9).toString("base64url"), "dev-user") });
  const stored = (await store.get<{ username: string; password: string }>("dev-user"))!;
  const user = { username: stored.username, password: box.open(stored.password, "dev-user") };
  process.stderr.write(`[fastmcp-ts] ${serverName}: development login — username ${user.username}, password ${user.password} (pass users or authenticate to LocalOAuthProvider to replace it)\n`);
  return { [user.username]: user.password };
}
