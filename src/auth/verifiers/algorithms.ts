import type { JWK } from "jose";

/** The JWS algorithms a verifier may accept. `none` is not one of them, ever. */
export const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;
export const SYMMETRIC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export type SymmetricAlgorithm = (typeof SYMMETRIC_ALGORITHMS)[number];
export type JwtAlgorithm = AsymmetricAlgorithm | SymmetricAlgorithm;

const EC_CURVES: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

export function isSymmetric(alg: string): alg is SymmetricAlgorithm {
  return (SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg);
}

export function isKnownAlgorithm(alg: string): alg is JwtAlgorithm {
  return isSymmetric(alg) || (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg);
}

/** Whether a public JWK can verify signatures made with `alg` (its type, curve, use and declared alg fit). */
export function keyFits(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify")) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg.startsWith("RS") || alg.startsWith("PS")) return jwk.kty === "RSA" && typeof jwk.n === "string" && typeof jwk.e === "string";
  if (alg.startsWith("ES")) return jwk.kty === "EC" && jwk.crv === EC_CURVES[alg] && typeof jwk.x === "string" && typeof jwk.y === "string";
  if (alg === "EdDSA" || alg === "Ed25519") return jwk.kty === "OKP" && jwk.crv === "Ed25519" && typeof jwk.x === "string";
  return false;
}

/** A stable identity for a public key's material, to notice when a JWKS no longer contains it. */
export function keyFingerprint(jwk: JWK, alg: string): string {
  return [alg, jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y].join("|");
}
