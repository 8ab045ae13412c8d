import type { JWTKeyPair } from "../auth/verifiers/key-pair.js";

/** A minted token and what a server needs to accept it. */
export interface MintedToken {
  readonly token: string;
  readonly pair: JWTKeyPair;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly subject: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** Where the private key lives: read from (--key), written to (--save-key), or nowhere. */
  readonly key: { kind: "read" | "saved"; path: string } | { kind: "discarded" };
}

/** `--output json`: one object with the token and the public key as PEM and as a JWKS. */
export async function tokenJson(minted: MintedToken): Promise<string> {
  const { token, pair } = minted;
  return JSON.stringify({ token, publicKey: pair.publicKey, jwks: await pair.jwks(), algorithm: pair.algorithm, kid: pair.kid }, null, 2);
}

/** What the text output prints on stderr: the public key and how to configure a server with it. */
export function serverSetup(minted: MintedToken): string {
  const { pair } = minted;
  return [
    `Token for "${minted.subject}" (${pair.algorithm}, kid ${pair.kid}), valid until ${new Date(minted.expiresAt * 1000).toISOString().replace(".000Z", "Z")}, printed on stdout.`,
    "",
    "Public key:",
    pair.publicKey.trimEnd(),
    "",
    "Configure the server with it in code:",
    "",
    verifierSnippet(minted),
    "",
    "or in its environment (or .env):",
    "",
    environmentLines(minted).join("\n"),
    "",
    keyNote(minted),
    ...tryIt(minted),
  ].join("\n");
}

/** A `new JWTVerifier(...)` ready to paste. */
export function verifierSnippet({ pair, issuer, audiences }: MintedToken): string {
  const audience = audiences.length === 1 ? JSON.stringify(audiences[0]) : JSON.stringify(audiences);
  return [
    'import { FastMCP } from "fastmcp-ts";',
    'import { JWTVerifier } from "fastmcp-ts/auth";',
    "",
    "const auth = new JWTVerifier({",
    `  publicKey: ${JSON.stringify(pair.publicKey)},`,
    `  issuer: ${JSON.stringify(issuer)},`,
    `  audience: ${audience},`,
    `  algorithm: ${JSON.stringify(pair.algorithm)},`,
    "});",
    'const mcp = new FastMCP({ name: "my-server", auth });',
  ].join("\n");
}

/**
 * The `FASTMCP_SERVER_AUTH=JWT` variables. The PEM keeps its line breaks, inside double quotes:
 * shells and .env files (Node's loader, dotenv) read that as one value, and PEM readers need them.
 */
export function environmentLines({ pair, issuer, audiences }: MintedToken): string[] {
  return [
    "FASTMCP_SERVER_AUTH=JWT",
    variable("PUBLIC_KEY", pair.publicKey.trimEnd()),
    variable("ISSUER", issuer),
    variable("AUDIENCE", audiences.join(",")),
    variable("ALGORITHM", pair.algorithm),
  ];
}

function variable(name: string, value: string): string {
  return `FASTMCP_SERVER_AUTH_JWT_${name}=${quoted(value)}`;
}

/** As written in a shell and in a .env file: bare when safe, in double quotes unless they would expand something. */
function quoted(value: string): string {
  if (/^[\w.:/,@+=-]+$/.test(value)) return value;
  return /["$`\\]/.test(value) ? `'${value}'` : `"${value}"`;
}

function keyNote({ key }: MintedToken): string {
  switch (key.kind) {
    case "read": return `Signed with the key in ${key.path}.`;
    case "saved": return `Private key saved to ${key.path} (readable by you only): mint more tokens for this public key with --key ${key.path}.`;
    case "discarded": return "The key pair was made for this run and is not kept: pass --save-key <file> to keep it, then --key <file> to sign more tokens with it.";
  }
}

/** A command to try the token, when the audience is the server's URL (as with RFC 8707 resources). */
function tryIt({ audiences }: MintedToken): string[] {
  const url = audiences.find((audience) => /^https?:\/\//i.test(audience));
  return url === undefined ? [] : [`Try it: fastmcp-ts list ${url} --token <token>`];
}

