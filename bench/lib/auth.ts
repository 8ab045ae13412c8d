/**
 * The authenticated rows: their keys, the tokens the load sends, and the raw signature
 * verification cost read from inside the server (POST /__verify, see bench/servers.ts).
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";

/** What the servers' JWTVerifier checks (bench/servers.ts uses the same values). */
export const ISSUER = "https://idp.bench.fastmcp.local";
export const AUDIENCE = "https://bench.fastmcp.local/mcp";

export type AuthAlgorithm = "RS256" | "ES256";

export interface AuthKind {
  /** The algorithm of the server's JWTVerifier and of the tokens sent to it. */
  algorithm: AuthAlgorithm;
  /** "one": one token for every request, as MCP clients do; "first-seen": a new token per request. */
  tokens: "one" | "first-seen";
}

/** The authenticated server kinds; each is compared with "fastmcp-stateless", the same server without auth. */
export const AUTH_KINDS: Record<string, AuthKind> = {
  "fastmcp-jwt-rs256": { algorithm: "RS256", tokens: "one" },
  "fastmcp-jwt-es256": { algorithm: "ES256", tokens: "one" },
  "fastmcp-jwt-rs256-first-seen": { algorithm: "RS256", tokens: "first-seen" },
};

export const UNAUTHENTICATED_KIND = "fastmcp-stateless";

export interface SigningKey {
  algorithm: AuthAlgorithm;
  kid: string;
  privateKey: KeyObject;
  /** What the server's JWTVerifier is configured with (BENCH_JWT_PUBLIC_KEY). */
  publicKeyPem: string;
}

export function signingKey(algorithm: AuthAlgorithm): SigningKey {
  const { privateKey, publicKey } = algorithm === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { algorithm, kid: `bench-${algorithm.toLowerCase()}`, privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/**
 * An access token as an identity provider issues one (issuer, audience, subject, client, scopes,
 * two hours of validity, a unique jti), signed with node:crypto directly: minting the first-seen
 * pool through jose would take twice as long.
 */
export function mintToken(key: SigningKey): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: key.algorithm, typ: "JWT", kid: key.kid };
  const payload = { iss: ISSUER, aud: AUDIENCE, sub: "bench-user", client_id: "bench-client", scope: "mcp:read mcp:write", iat: now, exp: now + 7200, jti: randomUUID() };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  // JWS wants ECDSA signatures as r || s, not DER.
  const signer = key.algorithm === "ES256" ? { key: key.privateKey, dsaEncoding: "ieee-p1363" as const } : key.privateKey;
  return `${input}.${sign("sha256", Buffer.from(input), signer).toString("base64url")}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

/**
 * Tokens handed out once each, for the first-seen rows (and the codes and refresh tokens of the
 * authorization-server rows, see oauth.ts); `missing` counts requests that found none left.
 */
export class TokenSequence<T = string> {
  private index = 0;
  missing = 0;

  constructor(private readonly tokens: readonly T[]) {}

  next(): T | undefined {
    const token = this.tokens[this.index++];
    if (token === undefined) this.missing++;
    return token;
  }
}

/** CPU µs per call with one call in flight, and with 50 (as requests from 50 connections may be). */
export interface InFlight {
  one: number;
  fifty: number;
}

/** CPU µs per verification of one RS256 token, measured inside a server process. */
export interface VerificationCost {
  iterations: number;
  /** `crypto.verify("sha256", ...)` on the prepared signing input and signature: the floor. */
  cryptoVerify: number;
  /** `crypto.subtle.verify` with the same key imported as a CryptoKey: how jose verifies on Node. */
  webCryptoVerify: InFlight;
  /** jose's `jwtVerify` with the imported key (what JWTVerifier calls). */
  joseVerify: InFlight;
  /** `JWTVerifier.verifyToken` with its cache off: header decoding, key lookup, jose, the AccessToken. */
  verifierUncached: InFlight;
}

/** Asks a server started with BENCH_VERIFY=1 to time verifications of `token`. */
export async function measureVerification(url: string, token: string, iterations: number): Promise<VerificationCost> {
  const response = await fetch(new URL("/__verify", url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, iterations }) });
  if (response.status !== 200) throw new Error(`/__verify answered HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
  return (await response.json()) as VerificationCost;
}
