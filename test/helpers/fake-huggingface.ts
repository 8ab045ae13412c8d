/**
 * A stand-in for Hugging Face's OAuth endpoints on 127.0.0.1, answering in its shapes:
 * `/oauth/authorize` (a login form), `/oauth/token` (a public app sends its client id and PKCE
 * verifier, no secret; a confidential one authenticates with HTTP Basic; `token_type` "bearer",
 * tokens valid 8 hours) and `/oauth/userinfo`: OpenID Connect claims with Hugging Face's own
 * (`isPro`, `orgs`), email only with the email scope, and a 401
 * `{"error": "Invalid credentials in Authorization header"}` (with `X-Error-Message`, as the Hub
 * answers) for a token it does not know, an expired or a revoked one. The token endpoint relays
 * to the shared fake's own under a private path, so the stand-in knows every token it handed out
 * (to revoke an app's access as Settings → Connected Apps does).
 */
import { createHash, randomBytes } from "node:crypto";
import type { HuggingFaceEndpoints } from "fastmcp-ts/auth/providers/huggingface";
import { FakeOAuthUpstream, type FakeReply, type FakeRequest, type IssuedToken } from "./fake-oauth-upstream.js";

export const HUGGINGFACE_APP = {
  clientId: "2b8c1f4e-7a3d-4c59-9e61-0d5f8a2b3c4d",
  clientSecret: randomBytes(24).toString("hex"),
};

const PATHS = { authorize: "/oauth/authorize", token: "/oauth/token", userinfo: "/oauth/userinfo" };
const INTERNAL = { token: "/__fake/token", revoke: "/__fake/revoke" };
const INVALID_CREDENTIALS = "Invalid credentials in Authorization header";

export interface FakeHuggingFace {
  readonly upstream: FakeOAuthUpstream;
  readonly endpoints: HuggingFaceEndpoints;
  /** Requests that reached Hugging Face's token endpoint, as the proxy sent them. */
  readonly tokenRequests: FakeRequest[];
  /** Hugging Face's user id for a login name. */
  subjectOf(login: string): string;
  /** The user revokes the app under Settings → Connected Apps: every token it holds for them stops working. */
  revokeApp(login: string): Promise<void>;
  close(): Promise<void>;
}

/** `public`: the app has no secret (PKCE only); otherwise it authenticates with HTTP Basic. */
export async function startFakeHuggingFace(options: { public: boolean }): Promise<FakeHuggingFace> {
  const upstream = await FakeOAuthUpstream.start({
    ...HUGGINGFACE_APP,
    clientAuth: "client_secret_basic",
    paths: { authorize: PATHS.authorize, token: INTERNAL.token, revoke: INTERNAL.revoke },
    account: huggingFaceAccount,
    accessTokenTtlSeconds: 28_800,
    tokenType: "bearer",
  });
  const handedOut: Array<{ sub: unknown; tokens: string[] }> = [];
  upstream.route("POST", PATHS.token, async (request) => {
    if (!(options.public ? publicClient(request) : upstream.authenticatesClient(request))) return { status: 401, json: { error: "invalid_client" } };
    const reply = await relay(upstream.url(INTERNAL.token), request.form, basic());
    const body = reply.json as Record<string, unknown>;
    const issued = upstream.active(body.access_token as string);
    if (issued) handedOut.push({ sub: issued.account.sub, tokens: [body.access_token, body.refresh_token].filter((t): t is string => typeof t === "string") });
    return reply;
  });
  upstream.route("GET", PATHS.userinfo, (request) => userInfo(upstream.active(upstream.bearer(request))));
  return {
    upstream,
    endpoints: { authorization: upstream.url(PATHS.authorize), token: upstream.url(PATHS.token), userinfo: upstream.url(PATHS.userinfo) },
    get tokenRequests() {
      return upstream.requests.filter((request) => request.url.pathname === PATHS.token);
    },
    subjectOf,
    revokeApp: async (login) => {
      for (const { sub, tokens } of handedOut) {
        if (sub === subjectOf(login)) for (const token of tokens) await relay(upstream.url(INTERNAL.revoke), new URLSearchParams({ token }));
      }
    },
    close: () => upstream.close(),
  };
}

/** A public app's token request: its client id, no secret anywhere, and a PKCE verifier for a code. */
function publicClient(request: FakeRequest): boolean {
  const { form } = request;
  if (request.headers.authorization !== undefined || form.has("client_secret")) return false;
  if (form.get("client_id") !== HUGGINGFACE_APP.clientId) return false;
  return form.get("grant_type") !== "authorization_code" || Boolean(form.get("code_verifier"));
}

function basic(): string {
  return `Basic ${Buffer.from(`${HUGGINGFACE_APP.clientId}:${HUGGINGFACE_APP.clientSecret}`).toString("base64")}`;
}

/** POSTs a form to the shared fake's own endpoint and hands its answer back. */
async function relay(url: string, form: URLSearchParams, authorization?: string): Promise<FakeReply> {
  const response = await fetch(url, { method: "POST", body: form, headers: authorization ? { authorization } : {} });
  const text = await response.text();
  return { status: response.status, ...(text ? { json: JSON.parse(text) as unknown } : {}) };
}

function subjectOf(login: string): string {
  return createHash("sha256").update(login).digest("hex").slice(0, 24);
}

function huggingFaceAccount(login: string): Record<string, unknown> {
  return {
    sub: subjectOf(login),
    name: `${login.charAt(0).toUpperCase()}${login.slice(1)} Face`,
    preferred_username: login,
    profile: `https://huggingface.co/${login}`,
    picture: `https://cdn-avatars.huggingface.co/v1/production/uploads/${login}.png`,
    isPro: false,
    email: `${login}@hf.example`,
    email_verified: true,
    orgs: [{ sub: "64b7f0c2e4a1d3f5a6b7c8d9", name: "Example Org", preferred_username: "example-org", picture: "https://cdn-avatars.huggingface.co/v1/production/uploads/org.png", isEnterprise: false, roleInOrg: "read" }],
  };
}

function userInfo(issued: IssuedToken | undefined): FakeReply {
  if (!issued) return { status: 401, headers: { "x-error-message": INVALID_CREDENTIALS }, json: { error: INVALID_CREDENTIALS } };
  const { account, scopes } = issued;
  return {
    json: {
      sub: account.sub,
      ...(scopes.includes("profile")
        ? { name: account.name, preferred_username: account.preferred_username, profile: account.profile, picture: account.picture, isPro: account.isPro, orgs: account.orgs }
        : {}),
      ...(scopes.includes("email") ? { email: account.email, email_verified: account.email_verified } : {}),
    },
  };
}
