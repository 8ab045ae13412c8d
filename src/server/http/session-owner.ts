import type { AccessToken } from "../../auth/access-token.js";

/**
 * Who a session belongs to: the client and user of the token that opened it. Requests carrying
 * another identity's token are treated as if the session did not exist, so a leaked session id
 * is useless without the matching credentials.
 */
export function ownerOf(auth: AccessToken | undefined): string | undefined {
  return auth ? `${auth.clientId}\u0000${auth.subject ?? ""}` : undefined;
}
