import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encryptedStore, hashSecret, MemoryStore, safeEqual, scopedStore, SecretBox, StorageError } from "fastmcp-ts/storage";

const RAW_KEY = randomBytes(32);

/** The sealed string with one byte of part `index` (1 iv, 2 ciphertext, 3 tag) flipped. */
function tamper(sealed: string, index: 1 | 2 | 3): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[index]!, "base64url");
  bytes[0] = bytes[0]! ^ 0x01;
  parts[index] = bytes.toString("base64url");
  return parts.join(".");
}

describe("SecretBox", () => {
  const box = SecretBox.fromKey(RAW_KEY);

  it("seals to v1.<iv>.<ciphertext>.<tag> and opens what it sealed", () => {
    for (const plaintext of ["", "a signing key", "ключ 🔑".repeat(100)]) {
      const sealed = box.seal(plaintext);
      expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/);
      expect(sealed).not.toContain(plaintext || "\u0000");
      expect(box.open(sealed)).toBe(plaintext);
    }
  });

  it("uses a fresh IV each time", () => {
    const [first, second] = [box.seal("same"), box.seal("same")];
    expect(first).not.toBe(second);
    expect(first.split(".")[1]).not.toBe(second.split(".")[1]);
  });

  it("refuses another key, tampered IV, ciphertext or tag, and malformed input, with one message", () => {
    const sealed = box.seal("private key material", "ad");
    const failures = [
      () => SecretBox.fromKey(randomBytes(32)).open(sealed, "ad"),
      () => box.open(tamper(sealed, 1), "ad"),
      () => box.open(tamper(sealed, 2), "ad"),
      () => box.open(tamper(sealed, 3), "ad"),
      () => box.open(sealed.replace(/^v1/, "v2"), "ad"),
      () => box.open(sealed.split(".").slice(0, 3).join("."), "ad"),
      () => box.open(`${sealed}.extra`, "ad"),
      () => box.open(sealed.replace(/\.[\w-]+$/, ".AAAA"), "ad"),
      () => box.open("v1.!!!.@@@.###", "ad"),
      () => box.open("", "ad"),
    ];
    for (const failure of failures) {
      expect(failure).toThrow(StorageError);
      expect(failure).toThrow(/^cannot decrypt/);
      expect(failure).not.toThrow(/private key material/);
    }
    expect(box.open(sealed, "ad")).toBe("private key material");
  });

  it("binds the associated data", () => {
    const sealed = box.seal("value", "signing-key:1");
    expect(box.open(sealed, "signing-key:1")).toBe("value");
    expect(() => box.open(sealed, "signing-key:2")).toThrow(StorageError);
    expect(() => box.open(sealed)).toThrow(StorageError);
    expect(() => box.open(box.seal("value"), "signing-key:1")).toThrow(StorageError);
  });

  it("accepts the same 32 bytes raw, as hex, base64 and base64url", () => {
    const sealed = box.seal("interchangeable");
    for (const key of [new Uint8Array(RAW_KEY), RAW_KEY.toString("hex"), RAW_KEY.toString("hex").toUpperCase(), RAW_KEY.toString("base64"), RAW_KEY.toString("base64url")]) {
      expect(SecretBox.fromKey(key).open(sealed)).toBe("interchangeable");
    }
  });

  it("stretches any other string as a passphrase, deterministically", () => {
    const passphrase = "correct horse battery staple";
    const sealed = SecretBox.fromKey(passphrase).seal("from a passphrase");
    expect(SecretBox.fromKey(passphrase).open(sealed)).toBe("from a passphrase");
    expect(() => SecretBox.fromKey(`${passphrase}!`).open(sealed)).toThrow(StorageError);
    // A passphrase is not its bytes used as a key: a 32-character passphrase is not 32 raw bytes.
    const thirtyTwo = "x".repeat(32);
    expect(() => SecretBox.fromKey(Buffer.from(thirtyTwo)).open(SecretBox.fromKey(thirtyTwo).seal("v"))).toThrow(StorageError);
  });

  it("refuses keys of the wrong size and empty strings", () => {
    expect(() => SecretBox.fromKey(randomBytes(16))).toThrow(/32 bytes, got 16/);
    expect(() => SecretBox.fromKey(new Uint8Array(33))).toThrow(TypeError);
    expect(() => SecretBox.fromKey("")).toThrow(TypeError);
  });

  it("generates base64url keys of 32 random bytes that fromKey takes as keys", () => {
    const key = SecretBox.generateKey();
    expect(key).toMatch(/^[\w-]{43}$/);
    expect(Buffer.from(key, "base64url")).toHaveLength(32);
    expect(SecretBox.generateKey()).not.toBe(key);
    const sealed = SecretBox.fromKey(key).seal("v");
    expect(SecretBox.fromKey(Buffer.from(key, "base64url")).open(sealed)).toBe("v");
  });
});

describe("encryptedStore", () => {
  const box = SecretBox.fromKey(SecretBox.generateKey());

  it("round-trips values, keeping only sealed text in the backend", async () => {
    const backend = new MemoryStore();
    const store = encryptedStore(backend, box);
    const value = { privateJwk: { d: "very-secret-d" }, kid: "k1" };
    await store.set("signing:k1", value, { ttlSeconds: 60 });
    const stored = await backend.get<string>("signing:k1");
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain("very-secret-d");
    expect(await store.get("signing:k1")).toEqual(value);
    expect(await store.add("signing:k1", "other")).toBe(false);
    expect(await store.add("signing:k2", "second")).toBe(true);
    expect(await store.take("signing:k2")).toBe("second");
    expect(await backend.get("signing:k2")).toBeUndefined();
    await store.delete("signing:k1");
    expect(await backend.get("signing:k1")).toBeUndefined();
  });

  it("reads a value copied to another key as absent", async () => {
    const backend = new MemoryStore();
    const store = encryptedStore(backend, box);
    await store.set("token:alice", { sub: "alice" });
    await backend.set("token:mallory", await backend.get("token:alice"));
    expect(await store.get("token:mallory")).toBeUndefined();
    expect(await store.take("token:mallory")).toBeUndefined();
    expect(await store.get("token:alice")).toEqual({ sub: "alice" });
  });

  it("reads values sealed under an old key, or not sealed at all, as absent (rotation is a miss)", async () => {
    const backend = new MemoryStore();
    await encryptedStore(backend, SecretBox.fromKey(SecretBox.generateKey())).set("k", "old");
    await backend.set("plain", { not: "sealed" });
    const rotated = encryptedStore(backend, box);
    expect(await rotated.get("k")).toBeUndefined();
    expect(await rotated.get("plain")).toBeUndefined();
    expect(await rotated.add("k", "new")).toBe(false); // the old value still occupies the key until it is replaced
    await rotated.set("k", "new");
    expect(await rotated.get("k")).toBe("new");
  });

  it("binds the full backend key when placed under a scope", async () => {
    const backend = new MemoryStore();
    const sealedThenScoped = (prefix: string) => scopedStore(encryptedStore(backend, box), prefix);
    await sealedThenScoped("a:").set("k", "in a");
    await backend.set("b:k", await backend.get("a:k"));
    expect(await sealedThenScoped("b:").get("k")).toBeUndefined();
    expect(await sealedThenScoped("a:").get("k")).toBe("in a");
  });

  it("validates keys and values like any store", async () => {
    const store = encryptedStore(new MemoryStore(), box);
    await expect(store.set("", 1)).rejects.toThrow(TypeError);
    await expect(store.set("k", undefined)).rejects.toThrow(TypeError);
    await expect(store.get("")).rejects.toThrow(TypeError);
  });
});

describe("hashSecret and safeEqual", () => {
  it("hashSecret is SHA-256 hex", () => {
    expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashSecret("refresh-1")).not.toBe(hashSecret("refresh-2"));
  });

  it("safeEqual compares strings of any length", () => {
    expect(safeEqual("secret", "secret")).toBe(true);
    expect(safeEqual("secret", "secreT")).toBe(false);
    expect(safeEqual("secret", "secret-longer")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
    expect(safeEqual("ключ", "ключ")).toBe(true);
  });
});
