import { defineCommand } from "citty";
import { decodeJwt } from "jose";
import type { JWTKeyPair, KeyPairAlgorithm } from "../../auth/verifiers/key-pair.js";
import { UsageError } from "../errors.js";
import { collectRepeated, commonFlags } from "../flags.js";
import { print, printError } from "../output.js";
import { saveKey, signingKey, type KeySource } from "../signing-key.js";
import { serverSetup, tokenJson, type MintedToken } from "../token-output.js";

const ALGORITHMS: KeyPairAlgorithm[] = ["RS256", "ES256", "EdDSA"];
const DEFAULT_ISSUER = "https://fastmcp.example.com";
/** Where `fastmcp-ts run server.ts --transport http` serves by default. */
const DEFAULT_AUDIENCE = "http://127.0.0.1:8000/mcp";
const DEFAULT_SUBJECT = "fastmcp-user";
const DEFAULT_EXPIRES_IN = 3600;

/** Claims with a flag of their own (or set at signing): --claim cannot override them. */
const OWN_FLAG: Record<string, string> = { iss: "--issuer", sub: "--subject", aud: "--audience", exp: "--expires-in", scope: "--scopes", iat: "" };

export const notes = `Prints the token on stdout and, on stderr, the public key with a ready-to-paste JWTVerifier and the
FASTMCP_SERVER_AUTH=JWT variables that make a server accept it (--output json prints token, publicKey,
jwks, algorithm and kid as one object instead). Each run makes a new key pair unless --key names one;
--save-key keeps the new one (mode 0600) for later runs. The private key is never printed.
--claim values are parsed as JSON when they parse (admin=true, level=3, roles='["a","b"]'), else kept as text.

EXAMPLES

  fastmcp-ts token --issuer https://dev.local --audience http://127.0.0.1:8000/mcp --scopes mcp:read,mcp:write --subject alice
  fastmcp-ts token --algorithm ES256 --save-key dev-key.pem
  TOKEN=$(fastmcp-ts token --key dev-key.pem --claim client_id=my-app --expires-in 600)
  fastmcp-ts token --key dev-key.pem --output json`;

export const command = defineCommand({
  meta: {
    name: "token",
    description: "Mint a signed JWT access token for testing a server that uses JWTVerifier",
  },
  args: {
    issuer: { type: "string", description: `Issuer (iss) (default ${DEFAULT_ISSUER})`, valueHint: "url" },
    audience: { type: "string", description: `Audience (aud), comma-separated for several (default ${DEFAULT_AUDIENCE}, where run --transport http serves)`, valueHint: "url" },
    subject: { type: "string", description: `Subject (sub) (default ${DEFAULT_SUBJECT})`, valueHint: "sub" },
    scopes: { type: "string", description: "Granted scopes, comma or space separated (scope)", valueHint: "a,b" },
    "expires-in": { type: "string", description: `Lifetime in seconds (default ${DEFAULT_EXPIRES_IN})`, valueHint: "seconds" },
    claim: { type: "string", description: "Another claim, repeatable; the value is JSON when it parses, else text", valueHint: "key=value" },
    algorithm: { type: "enum", options: ALGORITHMS, description: "Signature algorithm (default RS256, or the one --key's key is for)" },
    key: { type: "string", description: "Sign with this PEM private key instead of a new one", valueHint: "file" },
    "save-key": { type: "string", description: "Write the new private key to this file (mode 0600)", valueHint: "file" },
    force: { type: "boolean", description: "Let --save-key overwrite an existing file" },
    kid: { type: "string", description: "Key id (kid) in the token header and the JWKS (default the key's RFC 7638 thumbprint)", valueHint: "kid" },
    output: { type: "enum", options: ["text", "json"], default: "text", description: "text: the token on stdout, the server setup on stderr; json: one object on stdout" },
    ...commonFlags,
  },
  async run({ args, rawArgs }) {
    if (args._.length > 0) throw new UsageError(`Unexpected argument "${args._[0]}": token takes options only (see fastmcp-ts token --help)`);
    const request = parseRequest(args, rawArgs);
    const pair = await signingKey(request.keySource);
    const minted = await mint(pair, request);
    if (request.saveKey !== undefined) saveKey(pair, request.saveKey, request.force);
    if (args.output === "json") {
      await print(await tokenJson(minted));
    } else {
      await print(minted.token);
      await printError(serverSetup(minted));
    }
  },
});

interface TokenFlags {
  issuer?: string;
  audience?: string;
  subject?: string;
  scopes?: string;
  "expires-in"?: string;
  algorithm?: string;
  key?: string;
  "save-key"?: string;
  force?: boolean;
  kid?: string;
}

interface TokenRequest {
  keySource: KeySource;
  saveKey: string | undefined;
  force: boolean;
  issuer: string;
  audiences: string[];
  subject: string;
  scopes: string[] | undefined;
  expiresInSeconds: number;
  claims: Record<string, unknown>;
}

/** Every check that needs only the command line, done before any key is read or made. */
function parseRequest(args: TokenFlags, rawArgs: readonly string[]): TokenRequest {
  const saveKeyPath = nonEmpty(args["save-key"], "--save-key");
  const keyFile = nonEmpty(args.key, "--key");
  if (keyFile !== undefined && saveKeyPath !== undefined) throw new UsageError("--key and --save-key cannot be used together: --save-key writes a new key, --key reuses one");
  if (args.force && saveKeyPath === undefined) throw new UsageError("--force only applies to --save-key");
  const audiences = parseList(args.audience ?? DEFAULT_AUDIENCE);
  if (audiences.length === 0) throw new UsageError("--audience needs at least one value");
  const scopes = args.scopes === undefined ? undefined : parseList(args.scopes);
  return {
    keySource: { keyFile, algorithm: args.algorithm as KeyPairAlgorithm | undefined, kid: nonEmpty(args.kid, "--kid") },
    saveKey: saveKeyPath,
    force: args.force === true,
    issuer: nonEmpty(args.issuer, "--issuer") ?? DEFAULT_ISSUER,
    audiences,
    subject: nonEmpty(args.subject, "--subject") ?? DEFAULT_SUBJECT,
    scopes: scopes !== undefined && scopes.length > 0 ? scopes : undefined,
    expiresInSeconds: parseExpiresIn(args["expires-in"]),
    claims: parseClaims(collectRepeated(rawArgs, ["--claim"])),
  };
}

async function mint(pair: JWTKeyPair, request: TokenRequest): Promise<MintedToken> {
  const token = await pair.createToken({
    issuer: request.issuer,
    audience: request.audiences.length === 1 ? request.audiences[0]! : request.audiences,
    subject: request.subject,
    ...(request.scopes !== undefined ? { scopes: request.scopes } : {}),
    expiresInSeconds: request.expiresInSeconds,
    additionalClaims: request.claims,
  });
  const keyFile = request.keySource.keyFile;
  return {
    token,
    pair,
    issuer: request.issuer,
    audiences: request.audiences,
    subject: request.subject,
    expiresAt: decodeJwt(token).exp!,
    key: keyFile !== undefined ? { kind: "read", path: keyFile } : request.saveKey !== undefined ? { kind: "saved", path: request.saveKey } : { kind: "discarded" },
  };
}

/** A flag's value; a flag given empty (or without its value) is a mistake, not a default. */
function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new UsageError(`${flag} needs a value`);
  return value;
}

function parseList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

function parseExpiresIn(text: string | undefined): number {
  if (text === undefined) return DEFAULT_EXPIRES_IN;
  const seconds = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(`--expires-in must be a positive whole number of seconds, got "${text}"`);
  }
  return seconds;
}

/** `--claim key=value` pairs; values are JSON when they parse (numbers, booleans, arrays...), else text. */
function parseClaims(pairs: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    const key = equals > 0 ? pair.slice(0, equals).trim() : "";
    if (key === "") throw new UsageError(`Malformed --claim "${pair}": expected key=value`);
    if (Object.hasOwn(OWN_FLAG, key)) {
      const flag = OWN_FLAG[key]!;
      throw new UsageError(flag === "" ? `--claim ${key} is not allowed: ${key} is set when the token is signed` : `--claim ${key} is not allowed: use ${flag}`);
    }
    claims[key] = parseValue(pair.slice(equals + 1));
  }
  return claims;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
