/**
 * A stand-in for PropelAuth's token introspection endpoint (`<authUrl>/oauth/2.1/introspect`) on
 * 127.0.0.1: RFC 7662 requests (form-encoded `token`, the introspection client's credentials in
 * Basic auth), RFC 7662 answers (`{ active: false }`, or `active: true` with sub, client_id,
 * scope, aud, iss, exp, iat, token_type). It also serves PropelAuth's authorization server
 * metadata at `/.well-known/oauth-authorization-server/oauth/2.1`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify } from "jose";

export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

export const INTROSPECTION_PATH = "/oauth/2.1/introspect";

export class FakeIntrospection {
  /** Every introspection request: the client id it authenticated as (undefined when it did not), and the token. */
  readonly requests: Array<{ clientId: string | undefined; token: string | null; hint: string | null }> = [];
  /** What a token is; inactive unless the test says otherwise. */
  lookup: (token: string) => Introspection | Promise<Introspection> = () => ({ active: false });
  private server: Server | undefined;
  origin = "";

  constructor(private readonly client: { id: string; secret: string }) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void this.answer(request).then(({ status, body }) => response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers for the JWT access tokens of `issuer`, verified over its keys, as PropelAuth would for its own. */
  trustJwtsOf(issuer: string, jwksUri: string): void {
    const keys = createRemoteJWKSet(new URL(jwksUri));
    this.lookup = async (token) => {
      try {
        const { payload } = await jwtVerify(token, keys, { issuer });
        return { ...payload, active: true, token_type: "Bearer" };
      } catch {
        return { active: false };
      }
    };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async answer(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (request.method === "GET" && path === "/.well-known/oauth-authorization-server/oauth/2.1") return { status: 200, body: this.metadata() };
    if (request.method !== "POST" || path !== INTROSPECTION_PATH) return { status: 404, body: { error: "not_found" } };
    const form = new URLSearchParams(await bodyOf(request));
    const clientId = this.authenticatedClient(request.headers.authorization);
    this.requests.push({ clientId, token: form.get("token"), hint: form.get("token_type_hint") });
    if (clientId === undefined) return { status: 401, body: { error: "invalid_client" } };
    const token = form.get("token");
    return { status: 200, body: token ? await this.lookup(token) : { active: false } };
  }

  private authenticatedClient(header: string | undefined): string | undefined {
    if (!header?.startsWith("Basic ")) return undefined;
    const [id, secret] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":").map(decodeURIComponent);
    return id === this.client.id && secret === this.client.secret ? id : undefined;
  }

  private metadata(): Record<string, unknown> {
    const issuer = `${this.origin}/oauth/2.1`;
    return {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/register`,
      introspection_endpoint: `${issuer}/introspect`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    };
  }
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Sends this process's requests for `url` to `target` instead (a real socket still answers).
 * Returns the function that puts fetch back. For an endpoint the identity provider's stand-in
 * cannot serve at the path the preset derives.
 */
export function redirectFetch(url: string, target: string): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const requested = input instanceof Request ? input.url : String(input);
    return requested === url ? original(target, init) : original(input, init);
  }) as typeof fetch;
  return () => void (globalThis.fetch = original);
}
