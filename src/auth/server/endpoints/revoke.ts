import type { Context as HonoContext } from "hono";
import { OAuthError } from "../errors.js";
import type { AuthorizationServer } from "../contract.js";
import { OAUTH_CORS_HEADERS } from "./cors.js";
import { readForm } from "./request-body.js";
import { authenticate, tokenError } from "./token.js";

/**
 * `/revoke` (RFC 7009): the client revokes one of its own tokens, and what was issued with it.
 * The answer is 200 whether or not the token existed (§2.2): an unknown token tells nothing.
 */
export function revokeEndpoint(provider: AuthorizationServer): (c: HonoContext) => Promise<Response> {
  return async (c) => {
    try {
      const form = await readForm(c);
      const { client } = await authenticate(provider, c, form);
      const value = form.get("token");
      if (!value) throw new OAuthError("invalid_request", "token is missing");
      const hint = form.get("token_type_hint");
      const lookups = hint === "refresh_token" ? [refresh, access] : [access, refresh];
      for (const lookup of lookups) {
        const token = await lookup(provider, client.client_id, value);
        if (token) {
          await provider.revokeToken(token);
          break;
        }
      }
      return new Response(null, { status: 200, headers: { ...OAUTH_CORS_HEADERS, "cache-control": "no-store" } });
    } catch (error) {
      return tokenError(provider, error);
    }
  };
}

async function access(provider: AuthorizationServer, clientId: string, value: string) {
  const token = await provider.loadAccessToken(value);
  return token && token.clientId === clientId ? token : undefined;
}

async function refresh(provider: AuthorizationServer, clientId: string, value: string) {
  const client = await provider.resolveClient(clientId);
  const token = client ? await provider.loadRefreshToken(client, value) : undefined;
  return token && token.clientId === clientId ? token : undefined;
}
