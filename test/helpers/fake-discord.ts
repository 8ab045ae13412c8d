/**
 * A stand-in for Discord's OAuth2 endpoints on 127.0.0.1, answering in Discord's shapes:
 * `/oauth2/authorize` (a login form), `/api/oauth2/token` (client credentials by HTTP Basic or in
 * the body, tokens valid a week), `/api/oauth2/token/revoke` (client authentication required), and
 * `/api/oauth2/@me`, the current authorization information: `{ application, scopes, expires,
 * user? }` (the user only with `identify`, never its email), or Discord's JSON 401
 * `{"message": "401: Unauthorized", "code": 0}` for a token it does not know, an expired or a
 * revoked one. The token and revocation endpoints relay to the shared fake's own, under private
 * paths, so the stand-in knows every token it handed out (to de-authorize a user).
 */
import { createHash, randomBytes } from "node:crypto";
import type { DiscordEndpoints } from "fastmcp-ts/auth/providers/discord";
import { FakeOAuthUpstream, type FakeReply, type FakeRequest, type IssuedToken } from "./fake-oauth-upstream.js";

export const DISCORD_APP = {
  clientId: "1234567890123456789",
  clientSecret: randomBytes(24).toString("base64url"),
};

const PATHS = { authorize: "/oauth2/authorize", token: "/api/oauth2/token", revoke: "/api/oauth2/token/revoke", me: "/api/oauth2/@me" };
const INTERNAL = { token: "/__fake/token", revoke: "/__fake/revoke" };

export interface FakeDiscord {
  readonly upstream: FakeOAuthUpstream;
  readonly endpoints: DiscordEndpoints;
  /** Requests that reached Discord's token endpoint, as the proxy sent them. */
  readonly tokenRequests: FakeRequest[];
  /** Discord's user id (a snowflake) for a login name. */
  subjectOf(login: string): string;
  /** The user removes the app under User Settings → Authorized Apps: every token it holds for them is revoked. */
  deauthorize(login: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeDiscord(options: { accessTokenTtlSeconds?: number } = {}): Promise<FakeDiscord> {
  const upstream = await FakeOAuthUpstream.start({
    ...DISCORD_APP,
    clientAuth: "client_secret_basic",
    paths: { authorize: PATHS.authorize, token: INTERNAL.token, revoke: INTERNAL.revoke },
    account: discordAccount,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 604_800,
  });
  const handedOut: Array<{ sub: unknown; tokens: string[] }> = [];
  const asBasic = (request: FakeRequest) => (upstream.authenticatesClient(request, "client_secret_post") ? basicFromForm(request.form) : request.headers.authorization);
  upstream.route("POST", PATHS.token, async (request) => {
    const reply = await relay(upstream.url(INTERNAL.token), request.form, asBasic(request));
    const body = reply.json as Record<string, unknown>;
    const issued = upstream.active(body.access_token as string);
    if (issued) handedOut.push({ sub: issued.account.sub, tokens: [body.access_token, body.refresh_token].filter((t): t is string => typeof t === "string") });
    return reply;
  });
  upstream.route("POST", PATHS.revoke, (request) => {
    if (!upstream.authenticatesClient(request) && !upstream.authenticatesClient(request, "client_secret_post")) return { status: 401, json: { error: "invalid_client" } };
    return relay(upstream.url(INTERNAL.revoke), request.form);
  });
  upstream.route("GET", PATHS.me, (request) => currentAuthorization(upstream.active(upstream.bearer(request))));
  return {
    upstream,
    endpoints: {
      authorization: upstream.url(PATHS.authorize),
      token: upstream.url(PATHS.token),
      revocation: upstream.url(PATHS.revoke),
      currentAuthorization: upstream.url(PATHS.me),
    },
    get tokenRequests() {
      return upstream.requests.filter((request) => request.url.pathname === PATHS.token);
    },
    subjectOf,
    deauthorize: async (login) => {
      for (const { sub, tokens } of handedOut) {
        if (sub === subjectOf(login)) for (const token of tokens) await relay(upstream.url(INTERNAL.revoke), new URLSearchParams({ token }));
      }
    },
    close: () => upstream.close(),
  };
}

/** POSTs a form to the shared fake's own endpoint and hands its answer back. */
async function relay(url: string, form: URLSearchParams, authorization?: string): Promise<FakeReply> {
  const response = await fetch(url, { method: "POST", body: form, headers: authorization ? { authorization } : {} });
  const text = await response.text();
  return { status: response.status, ...(text ? { json: JSON.parse(text) as unknown } : {}) };
}

function basicFromForm(form: URLSearchParams): string {
  return `Basic ${Buffer.from(`${form.get("client_id")}:${form.get("client_secret")}`).toString("base64")}`;
}

function subjectOf(login: string): string {
  return String(100_000_000_000_000_000n + BigInt(`0x${createHash("sha256").update(login).digest("hex").slice(0, 14)}`));
}

function discordAccount(login: string): Record<string, unknown> {
  return {
    sub: subjectOf(login),
    username: login,
    global_name: login.charAt(0).toUpperCase() + login.slice(1),
    discriminator: "0",
    avatar: createHash("md5").update(login).digest("hex"),
    email: `${login}@discord.example`,
    verified: true,
  };
}

/** Discord's answer to `GET /api/oauth2/@me`. */
function currentAuthorization(issued: IssuedToken | undefined): FakeReply {
  if (!issued) return { status: 401, json: { message: "401: Unauthorized", code: 0 } };
  const { account } = issued;
  return {
    json: {
      application: {
        id: issued.clientId,
        name: "fastmcp-ts tests",
        icon: null,
        description: "",
        type: null,
        bot_public: false,
        bot_require_code_grant: false,
        verify_key: "5f1c0d0e9b4a7c3e2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d",
        flags: 0,
      },
      scopes: issued.scopes,
      expires: new Date(issued.expiresAt * 1000).toISOString(),
      ...(issued.scopes.includes("identify")
        ? {
            user: {
              id: account.sub,
              username: account.username,
              avatar: account.avatar,
              discriminator: account.discriminator,
              public_flags: 0,
              flags: 0,
              banner: null,
              accent_color: null,
              global_name: account.global_name,
              avatar_decoration_data: null,
              collectibles: null,
              primary_guild: null,
            },
          }
        : {}),
    },
  };
}
