import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { calculateJwkThumbprint, exportJWK } from "jose";
import { JWTKeyPair, type KeyPairAlgorithm } from "../auth/verifiers/key-pair.js";
import { CliError, messageOf } from "./errors.js";

/** Where the signing key comes from: a PEM file (--key), or a fresh pair of this algorithm. */
export interface KeySource {
  readonly keyFile: string | undefined;
  /** --algorithm; undefined lets a --key file decide (and means RS256 for a fresh pair). */
  readonly algorithm: KeyPairAlgorithm | undefined;
  /** --kid; by default the key's RFC 7638 thumbprint, so a reused key keeps its kid. */
  readonly kid: string | undefined;
}

export const DEFAULT_ALGORITHM: KeyPairAlgorithm = "RS256";

/**
 * The key pair tokens are signed with. Error messages name the file, never its content: the file
 * holds a private key.
 */
export async function signingKey(source: KeySource): Promise<JWTKeyPair> {
  if (source.keyFile === undefined) return generateKey(source.algorithm ?? DEFAULT_ALGORITHM, source.kid);
  const pem = readKeyFile(source.keyFile);
  const privateKey = parsePrivateKey(pem, source.keyFile);
  const algorithm = source.algorithm ?? algorithmOf(privateKey, source.keyFile);
  checkKeyFits(privateKey, algorithm, source.keyFile);
  const kid = source.kid ?? (await thumbprint(createPublicKey(privateKey)));
  return JWTKeyPair.fromPrivateKey(pem, algorithm, { kid });
}

/** Writes the pair's private key (PKCS#8 PEM), readable by its owner only (mode 0600). */
export function saveKey(pair: JWTKeyPair, path: string, force: boolean): void {
  try {
    // Removed rather than truncated: an existing file would keep its permissions.
    if (force) rmSync(path, { force: true });
    writeFileSync(path, pair.privateKeyPem(), { mode: 0o600, flag: "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new CliError(`Key file ${path} already exists: reuse it with --key ${path}, or pass --force to overwrite it`);
    throw new CliError(`Could not write key file ${path}: ${fileProblem(error)}`, { cause: error });
  }
}

async function generateKey(algorithm: KeyPairAlgorithm, kid: string | undefined): Promise<JWTKeyPair> {
  if (kid !== undefined) return JWTKeyPair.generate(algorithm, { kid });
  // Through the PEM, so the kid can be the thumbprint of the key just generated.
  const draft = JWTKeyPair.generate(algorithm);
  return JWTKeyPair.fromPrivateKey(draft.privateKeyPem(), algorithm, { kid: await thumbprint(draft.publicKeyObject) });
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CliError(`Key file not found: ${path}`, { cause: error });
    throw new CliError(`Could not read key file ${path}: ${fileProblem(error)}`, { cause: error });
  }
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  if (/-----BEGIN (?:[A-Z0-9 ]+ )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(pem) && !pem.includes("PRIVATE KEY-----")) {
    throw new CliError(`${path} holds a public key or certificate: --key needs the private key (the file --save-key writes)`);
  }
  if (pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.includes("Proc-Type: 4,ENCRYPTED")) {
    throw new CliError(`The private key in ${path} is encrypted: decrypt it first (openssl pkey -in ${path} -out plain.pem)`);
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    // Node's message is an OpenSSL code ("DECODER routines::unsupported"), never the key itself.
    throw new CliError(`${path} is not a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) that Node can read`, { cause: error });
  }
}

const NEEDS: Record<KeyPairAlgorithm, string> = {
  RS256: "an RSA key of at least 2048 bits",
  ES256: "an EC key on curve P-256",
  EdDSA: "an Ed25519 key",
};

/** The one algorithm a key can sign among those the command offers, if any. */
function algorithmFor(key: KeyObject): KeyPairAlgorithm | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "rsa" && (details?.modulusLength ?? 0) >= 2048) return "RS256";
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1") return "ES256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  return undefined;
}

/** The algorithm of a --key given without --algorithm. */
function algorithmOf(key: KeyObject, path: string): KeyPairAlgorithm {
  const algorithm = algorithmFor(key);
  if (algorithm) return algorithm;
  throw new CliError(`The key in ${path} is ${describeKey(key)}: tokens are signed with ${NEEDS.RS256} (RS256), ${NEEDS.ES256} (ES256) or ${NEEDS.EdDSA} (EdDSA)`);
}

/** Refuses a key that cannot sign `algorithm` (jose would fail later, less clearly). */
function checkKeyFits(key: KeyObject, algorithm: KeyPairAlgorithm, path: string): void {
  const fitting = algorithmFor(key);
  if (fitting === algorithm) return;
  const hint = fitting ? ` (it signs ${fitting}: use --algorithm ${fitting}, or leave --algorithm out)` : "";
  throw new CliError(`The key in ${path} is ${describeKey(key)}, but --algorithm ${algorithm} needs ${NEEDS[algorithm]}${hint}`);
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case "rsa": return `an RSA key of ${details?.modulusLength ?? "unknown"} bits`;
    case "ec": return `an EC key on curve ${curveName(details?.namedCurve)}`;
    case "ed25519": return "an Ed25519 key";
    default: return `a key of type ${key.asymmetricKeyType ?? "unknown"}`;
  }
}

/** OpenSSL's curve names, as JOSE spells the ones it knows. */
function curveName(name: string | undefined): string {
  const jose: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };
  return name === undefined ? "unknown" : (jose[name] ?? name);
}

function thumbprint(publicKey: KeyObject): Promise<string> {
  return exportJWK(publicKey).then((jwk) => calculateJwkThumbprint(jwk));
}

function fileProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "EACCES":
    case "EPERM": return "permission denied";
    case "EISDIR":
    case "ERR_FS_EISDIR": return "it is a directory";
    case "ENOENT": return "its directory does not exist";
    default: return messageOf(error);
  }
}
