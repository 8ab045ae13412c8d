/**
 * A stand-in for a Clerk instance's OAuth endpoints on 127.0.0.1: `/oauth/authorize`,
 * `/oauth/token`, the RFC 7662 introspection endpoint `/oauth/token_info` (the application
 * authenticates with HTTP Basic; a public application sends its client id in the form), which
 * answers `{"active": false}` for tokens it does not know, and `/oauth/userinfo` in Clerk's
 * shape (`object`, `instance_id`, `user_id` beside the OpenID Connect claims, `public_metadata`
 * for that scope).
 */
import { createHash, randomBytes } from "node:crypto";
import { FakeOAuthUpstream, type FakeReply, type FakeRequest, type IssuedToken } from "./fake-oauth-upstream.js";

export const CLERK_APP = {
  clientId: "qZ3kXc8vTw5LmN2p",
  clientSecret: randomBytes(24).toString("base64url"),
};

const INSTANCE_ID = "ins_2O4Ak02T4fDmKKv6tK5h0WJ8ou8";

export interface FakeClerk {
  readonly upstream: FakeOAuthUpstream;
  /** The Frontend API domain of the stand-in (`http://127.0.0.1:<port>`). */
  readonly domain: string;
  /** The Clerk user id for a login name (`user_2...`). */
  subjectOf(login: string): string;
  close(): Promise<void>;
}

export async function startFakeClerk(): Promise<FakeClerk> {
  const upstream = await FakeOAuthUpstream.start({
    ...CLERK_APP,
    clientAuth: "client_secret_basic",
    paths: { authorize: "/oauth/authorize", token: "/oauth/token" },
    account: clerkAccount,
  });
  upstream.route("POST", "/oauth/token_info", (request) => tokenInfo(upstream, request));
  upstream.route("GET", "/oauth/userinfo", (request) => userInfo(upstream.active(upstream.bearer(request))));
  return { upstream, domain: upstream.issuer, subjectOf, close: () => upstream.close() };
}

function subjectOf(login: string): string {
  return `user_2${createHash("sha256").update(login).digest("base64url").replace(/[-_]/g, "x").slice(0, 26)}`;
}

function clerkAccount(login: string): Record<string, unknown> {
  const given = login.charAt(0).toUpperCase() + login.slice(1);
  return {
    sub: subjectOf(login),
    email: `${login}@clerk.example`,
    email_verified: true,
    name: `${given} Primate`,
    given_name: given,
    family_name: "Primate",
    username: login,
    picture: `https://img.clerk.example/${login}.png`,
  };
}

/** The application authenticates with Basic, or, without a secret, names itself in the form. */
function authenticated(upstream: FakeOAuthUpstream, request: FakeRequest): boolean {
  if (request.headers.authorization) return upstream.authenticatesClient(request, "client_secret_basic");
  return request.form.get("client_id") === CLERK_APP.clientId;
}

function tokenInfo(upstream: FakeOAuthUpstream, request: FakeRequest): FakeReply {
  if (!authenticated(upstream, request)) return { status: 401, json: { error: "invalid_client" } };
  const issued = upstream.active(request.form.get("token"));
  if (!issued) return { json: { active: false } };
  return {
    json: {
      active: true,
      client_id: issued.clientId,
      sub: issued.account.sub,
      scope: issued.scopes.join(" "),
      iss: upstream.issuer,
      iat: issued.issuedAt,
      exp: issued.expiresAt,
      token_type: "access_token",
    },
  };
}

function userInfo(issued: IssuedToken | undefined): FakeReply {
  if (!issued) return { status: 401, json: { errors: [{ message: "Unauthorized request", code: "authorization_invalid" }] } };
  const { account, scopes } = issued;
  return {
    json: {
      object: "user_info",
      instance_id: INSTANCE_ID,
      sub: account.sub,
      user_id: account.sub,
      ...(scopes.includes("email") ? { email: account.email, email_verified: account.email_verified } : {}),
      ...(scopes.includes("profile")
        ? { name: account.name, given_name: account.given_name, family_name: account.family_name, username: account.username, preferred_username: account.username, picture: account.picture }
        : {}),
      ...(scopes.includes("public_metadata") ? { public_metadata: { plan: "pro" } } : {}),
    },
  };
}
