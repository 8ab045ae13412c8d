import { createHash } from "node:crypto";
import { defaultStoreDirectory, FileStore } from "../../../storage/file.js";

/**
 * The store a LocalOAuthProvider uses when given none: a FileStore in the user's data directory,
 * one folder per issuer, so two servers on one machine never share clients or keys.
 */
export function defaultLocalStore(issuer: string): FileStore {
  const id = createHash("sha256").update(issuer).digest("hex").slice(0, 16);
  return new FileStore({ directory: defaultStoreDirectory(`local-oauth-${id}`) });
}
