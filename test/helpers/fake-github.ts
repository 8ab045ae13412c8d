/**
 * A stand-in for GitHub on 127.0.0.1, laid out as GitHub Enterprise Server is (the web at the
 * root, the REST API under `/api/v3`), answering in GitHub's shapes:
 * - `/login/oauth/authorize`: the login form of FakeOAuthUpstream, which this fake fronts;
 * - `/login/oauth/access_token`: form-encoded unless the request accepts JSON, errors with HTTP
 *   200 (`bad_verification_code`, `incorrect_client_credentials`, `bad_refresh_token`), the
 *   granted scopes comma-separated; an OAuth App's tokens never expire and have no refresh token,
 *   a GitHub App's expire (`expires_in`, `refresh_token`, `refresh_token_expires_in`, `scope: ""`)
 *   and each refresh rotates the refresh token and ends the previous access token;
 * - `GET /api/v3/user`: the user, with `X-OAuth-Scopes` (OAuth App tokens only),
 *   `X-Accepted-OAuth-Scopes` and the rate-limit headers; 401 "Bad credentials" otherwise.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FakeOAuthUpstream, type IssuedToken } from "./fake-oauth-upstream.js";

export const GITHUB_APP = {
  clientId: "Ov23liFastMcpTs0Test1",
  clientSecret: randomBytes(20).toString("hex"),
};

/** `oauth-app`: tokens that never expire. `github-app`: expiring user tokens with refresh tokens. */
export type GitHubAppKind = "oauth-app" | "github-app";

export interface FakeGitHubOptions {
  kind?: GitHubAppKind;
  /** A GitHub App's user tokens live 8 hours at GitHub. */
  accessTokenTtlSeconds?: number;
}

/** A request to the token endpoint, as received. */
export interface GitHubTokenRequest {
  headers: IncomingMessage["headers"];
  form: URLSearchParams;
}

/** A GitHub user, as `/user` describes them. */
interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
  email: string | null;
}

interface RefreshGrant {
  /** The refresh token of FakeOAuthUpstream behind GitHub's rotating ones. */
  inner: string;
  expiresAt: number;
  accessToken: string;
}

const OAUTH_PATHS = { authorize: "/login/oauth/authorize", token: "/login/oauth/access_token" };
const INNER_TOKEN_PATH = "/inner/token";
const REFRESH_TOKEN_TTL_SECONDS = 15_897_600;

export class FakeGitHub {
  readonly tokenRequests: GitHubTokenRequest[] = [];
  /** Headers of every `/user` request. */
  readonly userRequests: Array<IncomingMessage["headers"]> = [];
  /** Access tokens handed out at the token endpoint, in order. */
  readonly accessTokens: string[] = [];
  /** Answer the next code exchange with this error (HTTP 200, as GitHub does). */
  codeError: string | undefined;
  /** `/user` answers 500, or 403 with the rate limit spent. */
  userBreakage: "error" | "rate-limited" | undefined;
  private readonly refreshGrants = new Map<string, RefreshGrant>();
  private origin = "";

  private constructor(private readonly server: Server, readonly upstream: FakeOAuthUpstream, readonly kind: GitHubAppKind, private readonly ttlSeconds: number) {}

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const kind = options.kind ?? "oauth-app";
    const ttlSeconds = options.accessTokenTtlSeconds ?? 28_800;
    const upstream = await FakeOAuthUpstream.start({
      ...GITHUB_APP,
      clientAuth: "client_secret_post",
      paths: { authorize: OAUTH_PATHS.authorize, token: INNER_TOKEN_PATH },
      account: gitHubAccount,
      // OAuth App tokens never expire: a century stands for that.
      accessTokenTtlSeconds: kind === "github-app" ? ttlSeconds : 100 * 365 * 86_400,
    });
    let fake!: FakeGitHub;
    const server = createServer((req, res) => void fake.handle(req, res).catch((error: unknown) => send(res, 500, "text/plain", String(error))));
    fake = new FakeGitHub(server, upstream, kind, ttlSeconds);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The web root: GitHubProvider's `githubUrl`. */
  get url(): string {
    return this.origin;
  }

  /** The REST API root, `<url>/api/v3`. */
  get apiUrl(): string {
    return `${this.origin}/api/v3`;
  }

  /** GitHub's numeric user id for a login name. */
  idOf(login: string): number {
    return idOf(login);
  }

  /** Mints a token directly, as if `login` had authorized the app with `scopes`. */
  issue(login: string, scopes: readonly string[] = [], ttlSeconds?: number): string {
    return this.upstream.issue({ login, scopes, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) }).token;
  }

  /** Revokes an access token (the user revoked the app, or the app reset its tokens). */
  revoke(token: string): void {
    const issued = this.upstream.active(token);
    if (issued) issued.revoked = true;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    await this.upstream.close();
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.origin);
    if (req.method === "POST" && url.pathname === OAUTH_PATHS.token) return this.token(req, new URLSearchParams(body), res);
    if (req.method === "GET" && url.pathname === "/api/v3/user") return this.user(req, res);
    if (url.pathname === OAUTH_PATHS.authorize) return this.forward(req, url, body, res);
    send(res, 404, "application/json", JSON.stringify({ message: "Not Found", documentation_url: "https://docs.github.com/rest" }));
  }

  /** The sign-in pages are FakeOAuthUpstream's. */
  private async forward(req: IncomingMessage, url: URL, body: string, res: ServerResponse): Promise<void> {
    const response = await fetch(this.upstream.url(url.pathname + url.search), {
      method: req.method ?? "GET",
      headers: { "content-type": req.headers["content-type"] ?? "application/x-www-form-urlencoded" },
      ...(req.method === "POST" ? { body } : {}),
      redirect: "manual",
    });
    const headers: Record<string, string> = { "content-type": response.headers.get("content-type") ?? "text/html" };
    const location = response.headers.get("location");
    if (location) headers.location = location;
    res.writeHead(response.status, headers);
    res.end(await response.text());
  }

  // ---- POST /login/oauth/access_token --------------------------------------------------------

  private async token(req: IncomingMessage, form: URLSearchParams, res: ServerResponse): Promise<void> {
    this.tokenRequests.push({ headers: req.headers, form });
    const answer = await this.tokenAnswer(form);
    // GitHub answers JSON only when asked to; errors, too, come with HTTP 200.
    if (/application\/json/.test(req.headers.accept ?? "")) send(res, 200, "application/json; charset=utf-8", JSON.stringify(answer));
    else send(res, 200, "application/x-www-form-urlencoded; charset=utf-8", new URLSearchParams(Object.entries(answer).map(([k, v]) => [k, String(v)])).toString());
  }

  private async tokenAnswer(form: URLSearchParams): Promise<Record<string, string | number>> {
    const grantType = form.get("grant_type") ?? "authorization_code";
    if (grantType === "refresh_token") return this.refresh(form);
    if (this.codeError) {
      const error = this.codeError;
      this.codeError = undefined;
      return gitHubError(error);
    }
    const inner = await this.inner(form, { grant_type: "authorization_code" });
    if ("error" in inner) return gitHubError(inner.error === "invalid_client" ? "incorrect_client_credentials" : "bad_verification_code");
    return this.issued(inner.access_token, inner.refresh_token);
  }

  private async refresh(form: URLSearchParams): Promise<Record<string, string | number>> {
    const presented = form.get("refresh_token") ?? "";
    const grant = this.refreshGrants.get(presented);
    if (this.kind !== "github-app" || !grant || grant.expiresAt <= Date.now() / 1000) return gitHubError("bad_refresh_token");
    const inner = await this.inner(form, { grant_type: "refresh_token", refresh_token: grant.inner });
    if ("error" in inner) return gitHubError(inner.error === "invalid_client" ? "incorrect_client_credentials" : "bad_refresh_token");
    // A refresh token works once, and the access token it came with ends with it.
    this.refreshGrants.delete(presented);
    this.revoke(grant.accessToken);
    return this.issued(inner.access_token, grant.inner);
  }

  /** The generic fake's token endpoint, with the app's credentials as the request carried them. */
  private async inner(form: URLSearchParams, fields: Record<string, string>): Promise<{ access_token: string; refresh_token?: string } | { error: string }> {
    const body = new URLSearchParams(form);
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    const response = await fetch(this.upstream.url(INNER_TOKEN_PATH), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
    return (await response.json()) as { access_token: string; refresh_token?: string } | { error: string };
  }

  private issued(accessToken: string, innerRefreshToken: string | undefined): Record<string, string | number> {
    this.accessTokens.push(accessToken);
    const issued = this.upstream.active(accessToken)!;
    if (this.kind === "oauth-app") return { access_token: accessToken, token_type: "bearer", scope: issued.scopes.join(",") };
    const refreshToken = `ghr_${randomBytes(30).toString("base64url")}`;
    this.refreshGrants.set(refreshToken, { inner: innerRefreshToken!, accessToken, expiresAt: Date.now() / 1000 + REFRESH_TOKEN_TTL_SECONDS });
    return {
      access_token: accessToken,
      expires_in: this.ttlSeconds,
      refresh_token: refreshToken,
      refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS,
      token_type: "bearer",
      scope: "",
    };
  }

  // ---- GET /api/v3/user ----------------------------------------------------------------------

  private user(req: IncomingMessage, res: ServerResponse): void {
    this.userRequests.push(req.headers);
    const now = Math.floor(Date.now() / 1000);
    const rate = { "x-ratelimit-limit": "5000", "x-ratelimit-used": String(this.userRequests.length), "x-ratelimit-reset": String(now + 3600), "x-ratelimit-resource": "core" };
    if (this.userBreakage === "error") return send(res, 500, "application/json", JSON.stringify({ message: "Server Error" }));
    if (this.userBreakage === "rate-limited") {
      return send(res, 403, "application/json; charset=utf-8", JSON.stringify({ message: "API rate limit exceeded for user ID 1.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" }), { ...rate, "x-ratelimit-remaining": "0" });
    }
    const issued = this.upstream.active(/^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "")?.[1]);
    if (!issued) return send(res, 401, "application/json; charset=utf-8", JSON.stringify({ message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" }));
    send(res, 200, "application/json; charset=utf-8", JSON.stringify(userResource(issued.account as unknown as GitHubUser, this.apiUrl)), {
      ...rate,
      "x-ratelimit-remaining": String(5000 - this.userRequests.length),
      "x-accepted-oauth-scopes": "",
      "x-github-media-type": "github.v3; format=json",
      "x-github-api-version-selected": "2022-11-28",
      ...scopeHeaders(issued, this.kind),
    });
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-type": contentType });
  res.end(body);
}

function gitHubError(error: string): Record<string, string> {
  const descriptions: Record<string, string> = {
    bad_verification_code: "The code passed is incorrect or expired.",
    incorrect_client_credentials: "The client_id and/or client_secret passed are incorrect.",
    bad_refresh_token: "The refresh token passed is incorrect or expired.",
  };
  return { error, error_description: descriptions[error] ?? error, error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${error.replace(/_/g, "-")}` };
}

/** An OAuth App token lists its scopes; a GitHub App token has none, but says when it expires. */
function scopeHeaders(issued: IssuedToken, kind: GitHubAppKind): Record<string, string> {
  if (kind === "oauth-app") return { "x-oauth-scopes": issued.scopes.join(", ") };
  return { "github-authentication-token-expiration": new Date(issued.expiresAt * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") };
}

function idOf(login: string): number {
  return 1_000_000 + Number.parseInt(createHash("sha256").update(login).digest("hex").slice(0, 7), 16);
}

/** `bob` keeps his name and email private (GitHub then answers null). */
function gitHubAccount(login: string): Record<string, unknown> {
  const user: GitHubUser = login === "bob"
    ? { id: idOf(login), login, name: null, email: null }
    : { id: idOf(login), login, name: `${login.charAt(0).toUpperCase()}${login.slice(1)} Octocat`, email: `${login}@users.example` };
  return { ...user, sub: String(user.id) };
}

function userResource(user: GitHubUser, apiUrl: string): Record<string, unknown> {
  return {
    login: user.login,
    id: user.id,
    node_id: Buffer.from(`04:User${user.id}`).toString("base64"),
    avatar_url: `https://avatars.githubusercontent.example/u/${user.id}?v=4`,
    gravatar_id: "",
    url: `${apiUrl}/users/${user.login}`,
    html_url: `https://github.example/${user.login}`,
    type: "User",
    site_admin: false,
    name: user.name,
    company: null,
    blog: "",
    location: null,
    email: user.email,
    hireable: null,
    bio: null,
    public_repos: 2,
    followers: 0,
    following: 0,
    created_at: "2011-01-25T18:44:36Z",
    updated_at: "2026-11-02T09:12:00Z",
  };
}
