import { FastMCPError } from "../errors.js";

/**
 * A storage backend failed (Redis unreachable, a directory that cannot be written, a value that
 * cannot be decrypted). The message names the backend, never a stored value.
 */
export class StorageError extends FastMCPError {
  override name = "StorageError";
}
