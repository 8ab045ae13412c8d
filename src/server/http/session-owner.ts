import type { Context as HonoContext } from "hono";
import type { AccessToken } from "../../auth/access-token.js";
import { clientAddress } from "../../http/client-address.js";

/**
 * Who a session belongs to: the client and user of the token that opened it. Requests carrying
 * another identity's token are treated as if the session did not exist, so a leaked session id
 * is useless without the matching credentials.
 */
export function ownerOf(auth: AccessToken | undefined): string | undefined {
  return auth ? `${auth.clientId}\u0000${auth.subject ?? ""}` : undefined;
}

/**
 * Whom a new session counts against for `maxSessionsPerPrincipal`: its owner with auth, otherwise
 * the client's address (the socket's peer: forwarded headers can be written by anyone). Undefined
 * on runtimes that do not expose the address; only the server-wide limit applies there.
 */
export function principalOf(c: HonoContext, auth: AccessToken | undefined): string | undefined {
  const owner = ownerOf(auth);
  if (owner !== undefined) return owner;
  const address = clientAddress(c, false);
  return address === "unknown" ? undefined : address;
}
