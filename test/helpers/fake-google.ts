/**
 * A stand-in for Google's OAuth endpoints on 127.0.0.1, answering in Google's shapes: the
 * authorization endpoint sends `iss` back, token responses spell `email` / `profile` out as
 * userinfo URIs, tokeninfo answers `GET ?access_token=` with strings for numbers and booleans
 * (`"expires_in": "3599"`, `"email_verified": "true"`) and a 400 `invalid_token` for anything
 * it does not know, and the OpenID Connect userinfo endpoint returns the profile.
 */
import { createHash, randomBytes } from "node:crypto";
import type { GoogleEndpoints } from "fastmcp-ts/auth/providers/google";
import { FakeOAuthUpstream, type FakeReply, type IssuedToken } from "./fake-oauth-upstream.js";

export const GOOGLE_APP = {
  clientId: "123456789012-fastmcpts.apps.googleusercontent.com",
  clientSecret: `GOCSPX-${randomBytes(18).toString("base64url")}`,
};

const USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email";
const USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile";
const FULL_NAMES: Record<string, string> = { email: USERINFO_EMAIL, profile: USERINFO_PROFILE };

export interface FakeGoogle {
  readonly upstream: FakeOAuthUpstream;
  /** Every endpoint of the stand-in, for GoogleProvider's `endpoints`. */
  readonly endpoints: GoogleEndpoints;
  /** Google's numeric user id for a login name. */
  subjectOf(login: string): string;
  close(): Promise<void>;
}

export async function startFakeGoogle(options: { accessTokenTtlSeconds?: number } = {}): Promise<FakeGoogle> {
  const upstream = await FakeOAuthUpstream.start({
    ...GOOGLE_APP,
    ...options,
    clientAuth: "client_secret_basic",
    paths: { authorize: "/o/oauth2/v2/auth", token: "/token", revoke: "/revoke" },
    account: googleAccount,
    reportedScope: (scope) => FULL_NAMES[scope] ?? scope,
    issInCallback: true,
  });
  upstream.route("GET", "/tokeninfo", (request) => tokenInfo(upstream.active(request.url.searchParams.get("access_token"))));
  upstream.route("GET", "/v1/userinfo", (request) => userInfo(upstream.active(upstream.bearer(request))));
  return {
    upstream,
    endpoints: {
      authorization: upstream.url("/o/oauth2/v2/auth"),
      token: upstream.url("/token"),
      revocation: upstream.url("/revoke"),
      tokeninfo: upstream.url("/tokeninfo"),
      userinfo: upstream.url("/v1/userinfo"),
      issuer: upstream.issuer,
    },
    subjectOf,
    close: () => upstream.close(),
  };
}

function subjectOf(login: string): string {
  return String(100_000_000_000_000_000_000n + BigInt(`0x${createHash("sha256").update(login).digest("hex").slice(0, 15)}`));
}

function googleAccount(login: string): Record<string, unknown> {
  const given = login.charAt(0).toUpperCase() + login.slice(1);
  return {
    sub: subjectOf(login),
    email: `${login}@gmail.example`,
    email_verified: true,
    name: `${given} Example`,
    given_name: given,
    family_name: "Example",
    picture: `https://lh3.googleusercontent.example/a/${login}`,
  };
}

/** Scopes as Google names them. */
function googleScopes(issued: IssuedToken): string[] {
  return issued.scopes.map((scope) => FULL_NAMES[scope] ?? scope);
}

function tokenInfo(issued: IssuedToken | undefined): FakeReply {
  if (!issued) return { status: 400, json: { error: "invalid_token", error_description: "Invalid Value" } };
  const scopes = googleScopes(issued);
  const identity = scopes.some((scope) => scope === "openid" || scope === USERINFO_EMAIL || scope === USERINFO_PROFILE);
  const now = Math.floor(Date.now() / 1000);
  return {
    json: {
      azp: issued.clientId,
      aud: issued.clientId,
      ...(identity ? { sub: issued.account.sub } : {}),
      scope: scopes.join(" "),
      exp: String(issued.expiresAt),
      expires_in: String(issued.expiresAt - now),
      ...(scopes.includes(USERINFO_EMAIL) ? { email: issued.account.email, email_verified: String(issued.account.email_verified) } : {}),
      access_type: "offline",
    },
  };
}

function userInfo(issued: IssuedToken | undefined): FakeReply {
  if (!issued) {
    return {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      json: { error: "invalid_request", error_description: "Invalid Credentials" },
    };
  }
  const scopes = googleScopes(issued);
  const { account } = issued;
  return {
    json: {
      sub: account.sub,
      ...(scopes.includes(USERINFO_PROFILE) ? { name: account.name, given_name: account.given_name, family_name: account.family_name, picture: account.picture } : {}),
      ...(scopes.includes(USERINFO_EMAIL) ? { email: account.email, email_verified: account.email_verified } : {}),
    },
  };
}
