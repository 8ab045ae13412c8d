import { createHash } from "node:crypto";
import { defaultStoreDirectory, FileStore } from "../../storage/file.js";

/**
 * The store an authorization server uses when given none: a FileStore in the user's data
 * directory, one folder per kind of server and issuer (`local-oauth-<hash>`, `oauth-proxy-<hash>`),
 * so two servers on one machine never share clients or keys.
 */
export function defaultStore(kind: string, issuer: string): FileStore {
  const id = createHash("sha256").update(issuer).digest("hex").slice(0, 16);
  return new FileStore({ directory: defaultStoreDirectory(`${kind}-${id}`) });
}
