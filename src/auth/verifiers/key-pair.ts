import { generateKeyPairSync, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { exportJWK, SignJWT, type JWK } from "jose";
import { AuthConfigurationError } from "../urls.js";

export type KeyPairAlgorithm = "RS256" | "ES256" | "EdDSA";

export interface CreateTokenOptions {
  /** `sub`. Default "fastmcp-user". */
  subject?: string;
  /** `iss`. Default "https://fastmcp.example.com". */
  issuer?: string;
  /** `aud`. */
  audience?: string | string[];
  /** Granted scopes, written space-separated in `scope`. */
  scopes?: string[];
  /** Lifetime from now. Default 3600. */
  expiresInSeconds?: number;
  /** Any other claims (`client_id`, `email`...). */
  additionalClaims?: Record<string, unknown>;
  /** `kid` header; defaults to the pair's own key id. */
  kid?: string;
}

/**
 * A signing key pair for development and tests: mint JWTs that a {@link JWTVerifier} configured
 * with `publicKey` (or the `jwks()` document) accepts. Not a way to run an identity provider.
 */
export class JWTKeyPair {
  protected constructor(
    readonly algorithm: KeyPairAlgorithm,
    readonly kid: string,
    private readonly privateKey: KeyObject,
    readonly publicKeyObject: KeyObject,
  ) {}

  /** A fresh pair: RSA 2048 (RS256), P-256 (ES256) or Ed25519 (EdDSA). */
  static generate(algorithm: KeyPairAlgorithm = "RS256", options: { kid?: string } = {}): JWTKeyPair {
    const { privateKey, publicKey } = generate(algorithm);
    return new JWTKeyPair(algorithm, options.kid ?? randomUUID(), privateKey, publicKey);
  }

  /** A pair from a PEM private key (PKCS#8 or the key's traditional format). */
  static fromPrivateKey(pem: string, algorithm: KeyPairAlgorithm = "RS256", options: { kid?: string } = {}): JWTKeyPair {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch (error) {
      throw new AuthConfigurationError(`Not a PEM private key: ${(error as Error).message}`);
    }
    const expected = { RS256: "rsa", ES256: "ec", EdDSA: "ed25519" }[algorithm];
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    if (privateKey.asymmetricKeyType !== expected || (algorithm === "ES256" && curve !== "prime256v1")) {
      throw new AuthConfigurationError(`A ${privateKey.asymmetricKeyType}${curve ? ` (${curve})` : ""} key cannot sign ${algorithm}`);
    }
    return new JWTKeyPair(algorithm, options.kid ?? randomUUID(), privateKey, createPublicKey(privateKey));
  }

  /** The public key as PEM (SPKI): what `JWTVerifier({ publicKey })` takes. */
  get publicKey(): string {
    return this.publicKeyObject.export({ type: "spki", format: "pem" }).toString();
  }

  /** The private key as PEM (PKCS#8), to keep the pair between runs. Treat it as a secret. */
  privateKeyPem(): string {
    return this.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  }

  /** The public key as a JWK with its kid, alg and use. */
  async publicJwk(): Promise<JWK> {
    return { ...(await exportJWK(this.publicKeyObject)), kid: this.kid, alg: this.algorithm, use: "sig" };
  }

  /** A JWKS document with the public key, to serve at a jwks_uri. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [await this.publicJwk()] };
  }

  /** Signs an access token. */
  async createToken(options: CreateTokenOptions = {}): Promise<string> {
    const claims: Record<string, unknown> = { ...options.additionalClaims };
    if (options.scopes !== undefined) claims.scope = options.scopes.join(" ");
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, typ: "JWT", kid: options.kid ?? this.kid })
      .setSubject(options.subject ?? "fastmcp-user")
      .setIssuer(options.issuer ?? "https://fastmcp.example.com")
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600));
    if (options.audience !== undefined) jwt.setAudience(options.audience);
    return jwt.sign(this.privateKey);
  }
}

/** RS256 key pairs, named as in the reference: `RSAKeyPair.generate()`. */
export const RSAKeyPair = {
  generate: (options: { kid?: string } = {}): JWTKeyPair => JWTKeyPair.generate("RS256", options),
  fromPrivateKey: (pem: string, options: { kid?: string } = {}): JWTKeyPair => JWTKeyPair.fromPrivateKey(pem, "RS256", options),
};

function generate(algorithm: KeyPairAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case "RS256": return generateKeyPairSync("rsa", { modulusLength: 2048 });
    case "ES256": return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "EdDSA": return generateKeyPairSync("ed25519");
  }
}
