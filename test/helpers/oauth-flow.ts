/**
 * An OAuth client by hand, one HTTP request per step: register (RFC 7591), authorize with PKCE
 * S256 (the user agent plays the browser), exchange the code, refresh, revoke. For tests that
 * must choose which server instance answers each step.
 */
import { randomBytes } from "node:crypto";
import { INITIALIZE, postRaw } from "./http.js";
import { UserAgent } from "./user-agent.js";
import { pkcePair } from "./pkce.js";

export const REDIRECT_URI = "http://127.0.0.1:8765/callback";

export interface RegisteredClient {
  client_id: string;
  redirect_uris: string[];
  [field: string]: unknown;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
}

/** POST <issuer>/register: a public client with the code and refresh grants. */
export async function registerClient(baseUrl: string, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await fetch(`${baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "fastmcp-ts test client",
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      ...metadata,
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as RegisteredClient;
}

export { pkcePair };

export interface AuthorizationResult {
  code: string;
  verifier: string;
  params: URLSearchParams;
  prompts: string[];
}

/** /authorize at `baseUrl` through the user agent (login and consent as needed); the code it came back with. */
export async function authorize(
  baseUrl: string,
  client: RegisteredClient,
  agent: UserAgent,
  request: { scope?: string; resource?: string; redirectUri?: string } = {},
): Promise<AuthorizationResult> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString("base64url");
  const redirectUri = request.redirectUri ?? client.redirect_uris[0]!;
  const url = new URL(`${baseUrl}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    ...(request.scope !== undefined ? { scope: request.scope } : {}),
    ...(request.resource !== undefined ? { resource: request.resource } : {}),
  }).toString();
  const outcome = await agent.authorize(url, redirectUri);
  const code = outcome.params.get("code");
  if (outcome.params.get("state") !== state) throw new Error("the authorization response's state does not match");
  if (!code) throw new Error(`authorization failed: ${outcome.params.toString()}`);
  return { code, verifier, params: outcome.params, prompts: outcome.prompts };
}

/** POST <baseUrl>/token with a form; the raw response. */
export function tokenRequest(baseUrl: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
}

export async function exchangeCode(baseUrl: string, client: RegisteredClient, authorization: AuthorizationResult, redirectUri = client.redirect_uris[0]!): Promise<TokenResponse> {
  return tokens(await tokenRequest(baseUrl, {
    grant_type: "authorization_code",
    code: authorization.code,
    redirect_uri: redirectUri,
    client_id: client.client_id,
    code_verifier: authorization.verifier,
  }));
}

export async function refresh(baseUrl: string, clientId: string, refreshToken: string): Promise<TokenResponse> {
  return tokens(await tokenRequest(baseUrl, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId }));
}

/** POST <baseUrl>/revoke (RFC 7009) as a public client; the status. */
export async function revoke(baseUrl: string, clientId: string, token: string, hint?: "access_token" | "refresh_token"): Promise<number> {
  const response = await fetch(`${baseUrl}/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: clientId, ...(hint ? { token_type_hint: hint } : {}) }),
  });
  await response.body?.cancel();
  return response.status;
}

async function tokens(response: Response): Promise<TokenResponse> {
  const text = await response.text();
  if (response.status !== 200) throw new TokenError(response.status, text);
  return JSON.parse(text) as TokenResponse;
}

export class TokenError extends Error {
  readonly error: string | undefined;
  constructor(readonly status: number, readonly body: string) {
    super(`token request failed: ${status} ${body}`);
    try {
      this.error = (JSON.parse(body) as { error?: string }).error;
    } catch {
      this.error = undefined;
    }
  }
}

/** What the MCP endpoint answers an `initialize` carrying `token`: its status and challenge. */
export async function mcpStatus(mcpUrl: string, token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await postRaw(mcpUrl, INITIALIZE, { authorization: `Bearer ${token}` });
  await response.body?.cancel();
  return { status: response.status, challenge: response.headers.get("www-authenticate") };
}

/** Polls until `check` holds (for state that reaches another process with a delay). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
