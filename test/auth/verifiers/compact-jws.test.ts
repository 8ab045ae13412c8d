import { describe, expect, it } from "vitest";
import { JWTVerifier, RSAKeyPair } from "fastmcp-ts/auth";
import { isCanonicalCompactJws } from "../../../src/auth/verifiers/compact-jws.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const b64 = (bytes: number) => Buffer.alloc(bytes, 0xa7).toString("base64url");

describe("isCanonicalCompactJws", () => {
  it("accepts three unpadded base64url segments of every length a byte string can have", () => {
    for (const bytes of [0, 1, 2, 3, 4, 5, 256]) expect(isCanonicalCompactJws(`${b64(bytes)}.${b64(bytes + 1)}.${b64(bytes + 2)}`), String(bytes)).toBe(true);
  });

  it("refuses padding, stray bits in the last character, impossible lengths, other alphabets and other shapes", () => {
    const [header, payload] = [b64(20), b64(40)];
    const signature = b64(256); // 342 characters: the last one carries 2 stray bits
    expect(isCanonicalCompactJws(`${header}.${payload}.${signature}`)).toBe(true);
    const last = ALPHABET.indexOf(signature.at(-1)!);
    for (const stray of [1, 2, 3]) expect(isCanonicalCompactJws(`${header}.${payload}.${signature.slice(0, -1)}${ALPHABET[last | stray]}`)).toBe(false);
    for (const bad of [`${signature}=`, `${signature}==`, `${signature}AAA`, `+${signature.slice(1)}`, `${signature.slice(0, -1)}/`]) {
      expect(isCanonicalCompactJws(`${header}.${payload}.${bad}`), bad.slice(-4)).toBe(false);
    }
    const twoBytes = b64(1); // 2 characters: 4 stray bits
    expect(isCanonicalCompactJws(`${twoBytes}.${payload}.${signature}`)).toBe(true);
    expect(isCanonicalCompactJws(`${twoBytes.slice(0, 1)}${ALPHABET[ALPHABET.indexOf(twoBytes[1]!) | 1]}.${payload}.${signature}`)).toBe(false);
    for (const shape of [`${header}.${payload}`, `${header}.${payload}.${signature}.${signature}`, "", "..x", `${header} .${payload}.${signature}`]) {
      expect(isCanonicalCompactJws(shape), shape.slice(0, 12)).toBe(false);
    }
  });
});

describe("JWTVerifier refuses non-canonical spellings of a valid token", () => {
  it("takes the token, and refuses it padded or with its signature's unused bits set", async () => {
    const pair = RSAKeyPair.generate({ kid: "k1" });
    const verifier = new JWTVerifier({ publicKey: pair.publicKey, issuer: "https://issuer.example", audience: "https://mcp.example/mcp" });
    const token = await pair.createToken({ issuer: "https://issuer.example", audience: "https://mcp.example/mcp", scopes: ["read"] });
    expect(await verifier.verifyToken(token)).not.toBeNull();
    const last = ALPHABET.indexOf(token.at(-1)!);
    for (const variant of [`${token}==`, `${token}=`, `${token.slice(0, -1)}${ALPHABET[last ^ 1]}`]) {
      expect(await verifier.verifyToken(variant), variant.slice(-4)).toBeNull();
      expect(verifier.cachedToken(variant)).toBeUndefined();
    }
  });
});
