import { describe, expect, it } from "vitest";
import { DebugTokenVerifier, StaticTokenVerifier } from "fastmcp-ts/auth";
import { nowSeconds, sleep } from "./helpers.js";

describe("StaticTokenVerifier", () => {
  const verifier = () =>
    new StaticTokenVerifier({
      tokens: {
        "alice-token": { clientId: "alice-app", scopes: ["read", "write"], subject: "alice", claims: { plan: "pro", org: { id: 7 } } },
        "bare-token": { clientId: "bare" },
        "expired-token": { clientId: "old", expiresAt: nowSeconds() - 1 },
        "future-token": { clientId: "new", expiresAt: nowSeconds() + 3600 },
      },
    });

  it("accepts a listed token with its client, scopes, subject and claims", async () => {
    const result = await verifier().verifyToken("alice-token");
    expect(result).toEqual({ token: "alice-token", clientId: "alice-app", scopes: ["read", "write"], subject: "alice", claims: { sub: "alice", plan: "pro", org: { id: 7 } } });
  });

  it("an entry without scopes, subject or claims gets empty ones", async () => {
    const result = await verifier().verifyToken("bare-token");
    expect(result).toEqual({ token: "bare-token", clientId: "bare", scopes: [], claims: {} });
    expect(result!.subject).toBeUndefined();
    expect(result!.expiresAt).toBeUndefined();
  });

  it("refuses an unknown token", async () => {
    await expect(verifier().verifyToken("mallory-token")).resolves.toBeNull();
  });

  it("refuses near misses: case, surrounding whitespace, prefix", async () => {
    const v = verifier();
    for (const token of ["ALICE-TOKEN", " alice-token", "alice-token ", "alice-toke", "alice-token2"]) {
      await expect(v.verifyToken(token)).resolves.toBeNull();
    }
  });

  it("refuses the empty string and names inherited from Object.prototype", async () => {
    const v = verifier();
    for (const token of ["", "constructor", "toString", "__proto__", "hasOwnProperty"]) {
      await expect(v.verifyToken(token)).resolves.toBeNull();
    }
  });

  it("refuses an expired token and accepts one that expires later (expiresAt kept)", async () => {
    const v = verifier();
    await expect(v.verifyToken("expired-token")).resolves.toBeNull();
    const result = await v.verifyToken("future-token");
    expect(result!.expiresAt).toBeGreaterThan(nowSeconds());
  });

  it("a token stops being accepted when its expiresAt passes", async () => {
    const v = new StaticTokenVerifier({ tokens: { soon: { clientId: "c", expiresAt: (Date.now() + 300) / 1000 } } });
    await expect(v.verifyToken("soon")).resolves.not.toBeNull();
    await sleep(400);
    await expect(v.verifyToken("soon")).resolves.toBeNull();
  });

  it("returns a deeply frozen AccessToken that no caller can alter for the next one", async () => {
    const v = verifier();
    const result = (await v.verifyToken("alice-token"))!;
    expect(Object.isFrozen(result)).toBe(true);
    expect(() => { (result.scopes as string[]).push("admin"); }).toThrow(TypeError);
    expect(() => { (result.claims.org as { id: number }).id = 1; }).toThrow(TypeError);
    expect((await v.verifyToken("alice-token"))!.scopes).toEqual(["read", "write"]);
  });

  it("is not affected by later changes to the options object", async () => {
    const entry = { clientId: "c", scopes: ["read"] };
    const tokens: Record<string, typeof entry> = { t: entry };
    const v = new StaticTokenVerifier({ tokens });
    entry.scopes.push("admin");
    tokens.added = { clientId: "x", scopes: [] };
    expect((await v.verifyToken("t"))!.scopes).toEqual(["read"]);
    await expect(v.verifyToken("added")).resolves.toBeNull();
  });
});

describe("DebugTokenVerifier", () => {
  it("by default accepts any non-empty token, as debug-client without scopes", async () => {
    const result = await new DebugTokenVerifier().verifyToken("anything");
    expect(result).toEqual({ token: "anything", clientId: "debug-client", scopes: [], claims: { token: "anything" } });
  });

  it.each(["", " ", "   ", "\t", "\n \t"])("refuses the empty/whitespace token %j, without calling validate", async (token) => {
    let calls = 0;
    const v = new DebugTokenVerifier({ validate: () => { calls++; return true; } });
    await expect(v.verifyToken(token)).resolves.toBeNull();
    expect(calls).toBe(0);
  });

  it("custom clientId and scopes", async () => {
    const result = await new DebugTokenVerifier({ clientId: "dev", scopes: ["read", "admin"] }).verifyToken("t");
    expect(result).toMatchObject({ clientId: "dev", scopes: ["read", "admin"] });
  });

  it("sync validate: accept and refuse, called with the exact token", async () => {
    const seen: string[] = [];
    const v = new DebugTokenVerifier({ validate: (token) => { seen.push(token); return token.startsWith("dev-"); } });
    await expect(v.verifyToken("dev-123")).resolves.not.toBeNull();
    await expect(v.verifyToken("prod-123")).resolves.toBeNull();
    expect(seen).toEqual(["dev-123", "prod-123"]);
  });

  it("async validate: accept and refuse", async () => {
    const v = new DebugTokenVerifier({ validate: async (token) => { await sleep(5); return token === "ok"; } });
    await expect(v.verifyToken("ok")).resolves.not.toBeNull();
    await expect(v.verifyToken("nope")).resolves.toBeNull();
  });

  it("validate throwing synchronously → null", async () => {
    const v = new DebugTokenVerifier({ validate: () => { throw new Error("boom"); } });
    await expect(v.verifyToken("t")).resolves.toBeNull();
  });

  it("validate rejecting → null", async () => {
    const v = new DebugTokenVerifier({ validate: async () => { await sleep(1); throw new Error("boom"); } });
    await expect(v.verifyToken("t")).resolves.toBeNull();
  });

  it("an allow-list validator", async () => {
    const allowed = new Set(["a", "b"]);
    const v = new DebugTokenVerifier({ validate: (token) => allowed.has(token) });
    await expect(v.verifyToken("a")).resolves.not.toBeNull();
    await expect(v.verifyToken("c")).resolves.toBeNull();
  });

  it("a non-string token → null", async () => {
    await expect(new DebugTokenVerifier().verifyToken(undefined as unknown as string)).resolves.toBeNull();
  });

  it("returns a frozen AccessToken; the configured scopes cannot be altered through it", async () => {
    const scopes = ["read"];
    const v = new DebugTokenVerifier({ scopes });
    const result = (await v.verifyToken("t"))!;
    expect(Object.isFrozen(result)).toBe(true);
    expect(() => { (result.scopes as string[]).push("admin"); }).toThrow(TypeError);
    expect((await v.verifyToken("t2"))!.scopes).toEqual(["read"]);
  });
});
