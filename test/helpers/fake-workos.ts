/**
 * A stand-in for the OAuth endpoints WorkOS Connect serves on an AuthKit domain, on 127.0.0.1:
 * `/oauth2/authorize`, `/oauth2/token` (client credentials in the body, `token_type` "bearer")
 * and `/oauth2/userinfo`, which answers an access token with the user's OpenID Connect claims
 * (per the granted scopes) and a 401 with a Bearer challenge for anything else.
 */
import { createHash, randomBytes } from "node:crypto";
import { FakeOAuthUpstream, type FakeReply, type IssuedToken } from "./fake-oauth-upstream.js";

export const WORKOS_APP = {
  clientId: "client_01JP8BD0CZ401TDF9X54NT5ZEK",
  clientSecret: randomBytes(32).toString("hex"),
};

export interface FakeWorkOS {
  readonly upstream: FakeOAuthUpstream;
  /** The AuthKit domain of the stand-in (`http://127.0.0.1:<port>`). */
  readonly domain: string;
  /** The WorkOS user id for a login name (`user_01...`). */
  subjectOf(login: string): string;
  close(): Promise<void>;
}

export async function startFakeWorkOS(): Promise<FakeWorkOS> {
  const upstream = await FakeOAuthUpstream.start({
    ...WORKOS_APP,
    clientAuth: "client_secret_post",
    paths: { authorize: "/oauth2/authorize", token: "/oauth2/token" },
    account: workosAccount,
    tokenType: "bearer",
  });
  upstream.route("GET", "/oauth2/userinfo", (request) => userInfo(upstream.active(upstream.bearer(request))));
  return { upstream, domain: upstream.issuer, subjectOf, close: () => upstream.close() };
}

function subjectOf(login: string): string {
  return `user_01${createHash("sha256").update(login).digest("hex").slice(0, 24).toUpperCase()}`;
}

function workosAccount(login: string): Record<string, unknown> {
  const given = login.charAt(0).toUpperCase() + login.slice(1);
  return { sub: subjectOf(login), email: `${login}@acme.example`, email_verified: true, name: `${given} Jenkins`, given_name: given, family_name: "Jenkins" };
}

function userInfo(issued: IssuedToken | undefined): FakeReply {
  if (!issued) return { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' }, json: { error: "invalid_token", error_description: "The access token is invalid or expired" } };
  const { account, scopes } = issued;
  return {
    json: {
      sub: account.sub,
      ...(scopes.includes("email") ? { email: account.email, email_verified: account.email_verified } : {}),
      ...(scopes.includes("profile") ? { name: account.name, given_name: account.given_name, family_name: account.family_name } : {}),
    },
  };
}
