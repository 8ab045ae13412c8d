/**
 * The OAuth side every fake identity provider shares (Google, WorkOS, Clerk stand-ins): an
 * authorization endpoint with a login form the scripted user agent fills in, a token endpoint
 * (authorization code with PKCE S256, refresh), revocation, and opaque access tokens the
 * provider-specific verification endpoints look up. On 127.0.0.1, plain node:http.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";

/** One request as the fake saw it: its URL (query included), headers and form body. */
export interface FakeRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage["headers"];
  readonly form: URLSearchParams;
}

/** An answer: `json` is sent as application/json, `html` as text/html, `location` as a 302. */
export interface FakeReply {
  status?: number;
  json?: unknown;
  html?: string;
  location?: string;
  headers?: Record<string, string>;
}

export type FakeRoute = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

/** An access token the fake issued, as its verification endpoints describe it. */
export interface IssuedToken {
  readonly token: string;
  readonly clientId: string;
  /** The account that signed in (its `sub` and profile claims). */
  readonly account: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  revoked: boolean;
}

export interface FakeUpstreamOptions {
  clientId: string;
  clientSecret: string;
  /** How the token endpoint wants the client to authenticate. */
  clientAuth: "client_secret_basic" | "client_secret_post";
  paths: { authorize: string; token: string; revoke?: string };
  /** The account behind a login name: `sub` and the claims the provider reports for it. */
  account: (login: string) => Record<string, unknown>;
  /** Scope names as the provider reports them in token responses (Google spells some out). Default: as requested. */
  reportedScope?: (scope: string) => string;
  /** Send RFC 9207 `iss` (the origin) with the authorization response. Default false. */
  issInCallback?: boolean;
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** The `token_type` of token responses. Default `Bearer`. */
  tokenType?: string;
}

/** Where an endpoint has broken: `error` answers HTTP 500, `hang` never answers. */
export type Breakage = "error" | "hang";

interface PendingSignIn {
  query: URLSearchParams;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  scopes: string[];
  account: Record<string, unknown>;
}

interface Grant {
  clientId: string;
  scopes: string[];
  account: Record<string, unknown>;
}

export class FakeOAuthUpstream {
  readonly requests: FakeRequest[] = [];
  /** The query of every authorization request, as received. */
  readonly authorizationRequests: URLSearchParams[] = [];
  /** Every token request, as received. */
  readonly tokenRequests: FakeRequest[] = [];
  /** Tokens revoked at the revocation endpoint, in order. */
  readonly revoked: string[] = [];
  /** Paths whose endpoint is broken. */
  readonly broken = new Map<string, Breakage>();
  private readonly routes = new Map<string, FakeRoute>();
  private readonly redirectUris = new Set<string>();
  private readonly pending = new Map<string, PendingSignIn>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  private origin = "";

  private constructor(private readonly server: Server, private readonly options: FakeUpstreamOptions) {}

  static async start(options: FakeUpstreamOptions): Promise<FakeOAuthUpstream> {
    let fake!: FakeOAuthUpstream;
    const server = createServer((req, res) => void fake.handle(req, res));
    fake = new FakeOAuthUpstream(server, options);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fake.route("GET", options.paths.authorize, (request) => fake.loginPage(request));
    fake.route("POST", options.paths.authorize, (request) => fake.signIn(request));
    fake.route("POST", options.paths.token, (request) => fake.token(request));
    if (options.paths.revoke) fake.route("POST", options.paths.revoke, (request) => fake.revoke(request));
    return fake;
  }

  /** `http://127.0.0.1:<port>`: also the issuer of its ID tokens. */
  get issuer(): string {
    return this.origin;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Serves `method path` with `handler` (the provider-specific endpoints). */
  route(method: "GET" | "POST", path: string, handler: FakeRoute): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** Registers a redirect URI of the app (the proxy's callback). */
  allowRedirectUri(uri: string): void {
    this.redirectUris.add(uri);
  }

  /** Mints an access token directly, as if `login` had signed in to the app `clientId`. */
  issue(fields: { login: string; scopes: readonly string[]; clientId?: string; ttlSeconds?: number; account?: Record<string, unknown> }): IssuedToken {
    return this.mint({
      clientId: fields.clientId ?? this.options.clientId,
      scopes: [...fields.scopes],
      account: fields.account ?? this.options.account(fields.login),
    }, fields.ttlSeconds);
  }

  /** The issued token, while it is neither revoked nor expired. */
  active(token: string | null | undefined): IssuedToken | undefined {
    const issued = token ? this.tokens.get(token) : undefined;
    return issued && !issued.revoked && issued.expiresAt > Date.now() / 1000 ? issued : undefined;
  }

  /** The bearer token of a request (`Authorization: Bearer ...`). */
  bearer(request: FakeRequest): string | undefined {
    return /^Bearer (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
  }

  /** Whether the request authenticates the app with its secret (HTTP Basic, else the form). */
  authenticatesClient(request: FakeRequest, method = this.options.clientAuth): boolean {
    const { clientId, clientSecret } = this.options;
    if (method === "client_secret_post") return request.form.get("client_id") === clientId && request.form.get("client_secret") === clientSecret;
    const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
    if (!basic) return false;
    const [id, secret] = Buffer.from(basic, "base64").toString("utf8").split(":").map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
    return id === clientId && secret === clientSecret;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // ---- The OAuth endpoints -------------------------------------------------------------------

  private loginPage(request: FakeRequest): FakeReply {
    const query = request.url.searchParams;
    this.authorizationRequests.push(new URLSearchParams(query));
    if (query.get("client_id") !== this.options.clientId) return { status: 400, html: "<p>unknown client</p>" };
    if (!this.redirectUris.has(query.get("redirect_uri") ?? "")) return { status: 400, html: "<p>redirect_uri mismatch</p>" };
    const id = randomBytes(12).toString("base64url");
    this.pending.set(id, { query });
    return {
      html: `<form method="post" action="${this.options.paths.authorize}"><input type="hidden" name="sign_in" value="${id}">`
        + `<input name="login" value=""><input type="password" name="password" value=""><button name="action" value="approve">Sign in</button></form>`,
    };
  }

  private signIn(request: FakeRequest): FakeReply {
    const pending = this.pending.get(request.form.get("sign_in") ?? "");
    const login = request.form.get("login");
    if (!pending || !login) return { status: 400, html: "<p>no sign-in in progress</p>" };
    this.pending.delete(request.form.get("sign_in")!);
    const { query } = pending;
    const code = randomBytes(16).toString("base64url");
    this.codes.set(code, {
      clientId: query.get("client_id")!,
      redirectUri: query.get("redirect_uri")!,
      codeChallenge: query.get("code_challenge"),
      nonce: query.get("nonce"),
      scopes: (query.get("scope") ?? "").split(" ").filter(Boolean),
      account: this.options.account(login),
    });
    const callback = new URL(query.get("redirect_uri")!);
    callback.searchParams.set("code", code);
    if (query.has("state")) callback.searchParams.set("state", query.get("state")!);
    if (this.options.issInCallback) callback.searchParams.set("iss", this.issuer);
    return { location: callback.href };
  }

  private async token(request: FakeRequest): Promise<FakeReply> {
    this.tokenRequests.push(request);
    if (!this.authenticatesClient(request)) return { status: 401, json: { error: "invalid_client" } };
    const form = request.form;
    if (form.get("grant_type") === "authorization_code") {
      const code = this.codes.get(form.get("code") ?? "");
      this.codes.delete(form.get("code") ?? "");
      if (!code || code.redirectUri !== form.get("redirect_uri")) return { status: 400, json: { error: "invalid_grant" } };
      if (code.codeChallenge !== null && code.codeChallenge !== createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url")) {
        return { status: 400, json: { error: "invalid_grant", error_description: "PKCE verification failed" } };
      }
      const refreshToken = randomBytes(24).toString("base64url");
      const grant = { clientId: code.clientId, scopes: code.scopes, account: code.account };
      this.refreshTokens.set(refreshToken, grant);
      return { json: { ...(await this.tokenResponse(grant, code.nonce)), refresh_token: refreshToken } };
    }
    if (form.get("grant_type") === "refresh_token") {
      const grant = this.refreshTokens.get(form.get("refresh_token") ?? "");
      if (!grant) return { status: 400, json: { error: "invalid_grant" } };
      return { json: await this.tokenResponse(grant, null) };
    }
    return { status: 400, json: { error: "unsupported_grant_type" } };
  }

  private revoke(request: FakeRequest): FakeReply {
    const token = request.form.get("token") ?? "";
    const issued = this.tokens.get(token);
    if (issued) issued.revoked = true;
    this.refreshTokens.delete(token);
    this.revoked.push(token);
    return { status: 200 };
  }

  private async tokenResponse(grant: Grant, nonce: string | null): Promise<Record<string, unknown>> {
    const issued = this.mint(grant);
    const reported = grant.scopes.map(this.options.reportedScope ?? ((scope) => scope));
    return {
      access_token: issued.token,
      token_type: this.options.tokenType ?? "Bearer",
      expires_in: issued.expiresAt - issued.issuedAt,
      scope: reported.join(" "),
      ...(grant.scopes.includes("openid") ? { id_token: await this.idToken(grant, nonce) } : {}),
    };
  }

  private mint(grant: Grant, ttlSeconds = this.options.accessTokenTtlSeconds ?? 3600): IssuedToken {
    const issuedAt = Math.floor(Date.now() / 1000);
    const issued: IssuedToken = {
      token: `at_${randomBytes(24).toString("base64url")}`,
      clientId: grant.clientId,
      account: grant.account,
      scopes: grant.scopes,
      issuedAt,
      expiresAt: issuedAt + ttlSeconds,
      revoked: false,
    };
    this.tokens.set(issued.token, issued);
    return issued;
  }

  private idToken(grant: Grant, nonce: string | null): Promise<string> {
    return new SignJWT({ ...grant.account, ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer(this.issuer)
      .setAudience(grant.clientId)
      .setSubject(String(grant.account.sub))
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(this.signingKey);
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: FakeRequest = {
      method: req.method ?? "GET",
      url: new URL(req.url ?? "/", this.origin),
      headers: req.headers,
      form: new URLSearchParams(Buffer.concat(chunks).toString("utf8")),
    };
    this.requests.push(request);
    const breakage = this.broken.get(request.url.pathname);
    if (breakage === "hang") return;
    if (breakage === "error") return void send(res, { status: 500, html: "<p>Internal Server Error</p>" });
    const route = this.routes.get(`${request.method} ${request.url.pathname}`);
    send(res, route ? await route(request) : { status: 404, json: { error: "not_found" } });
  }
}

function send(res: ServerResponse, reply: FakeReply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let body = "";
  if (reply.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(reply.json);
  } else if (reply.html !== undefined) {
    headers["content-type"] = "text/html; charset=utf-8";
    body = reply.html;
  }
  if (reply.location) headers.location = reply.location;
  res.writeHead(reply.status ?? (reply.location ? 302 : 200), headers);
  res.end(body);
}
