import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptedStore, scopedStore, SecretBox, type KeyValueStore } from "fastmcp-ts/storage";

/** How the contract suite gets a store: made once per suite, closed after it. */
export interface StoreFactory {
  open(): Promise<KeyValueStore> | KeyValueStore;
  close?(store: KeyValueStore): Promise<void>;
}

/** A TTL that is short enough to wait for; waits run past it with a margin. */
const SHORT_TTL = 1;
const PAST_SHORT_TTL_MS = 1300;

/** What every KeyValueStore must do, whatever its backend. */
export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name}: KeyValueStore contract`, () => {
    let store: KeyValueStore;
    beforeAll(async () => { store = await factory.open(); });
    afterAll(async () => { await (factory.close ? factory.close(store) : store.close?.()); });

    /** A key no other test (or earlier run) uses. */
    const fresh = (label = "k") => `${label}:${randomUUID()}`;

    it("reads an absent key as undefined", async () => {
      expect(await store.get(fresh())).toBeUndefined();
      expect(await store.take(fresh())).toBeUndefined();
    });

    it("round-trips every kind of JSON value", async () => {
      const values = [
        { nested: { list: [1, "two", null, true], empty: {} }, unicode: "ключ ✓ 🔑" },
        ["a", 1, { b: [] }],
        "a string with \"quotes\" and \n newlines",
        "",
        0,
        -12.5,
        false,
        null,
      ];
      for (const value of values) {
        const key = fresh();
        await store.set(key, value);
        expect(await store.get(key)).toEqual(value);
      }
    });

    it("accepts any non-empty string as a key", async () => {
      const id = randomUUID();
      const keys = [`a:b:c:${id}`, `../../etc/passwd/${id}`, `/abs/path\\win/${id}`, `ключ 🔑 ${id}`, `x${"y".repeat(2000)}${id}`, ` ${id}`, `.${id}`];
      for (const [index, key] of keys.entries()) await store.set(key, index);
      for (const [index, key] of keys.entries()) expect(await store.get(key)).toBe(index);
    });

    it("overwrites on set", async () => {
      const key = fresh();
      await store.set(key, { version: 1 });
      await store.set(key, { version: 2 });
      expect(await store.get(key)).toEqual({ version: 2 });
    });

    it("hands out copies: mutating an argument or a result never changes what is stored", async () => {
      const key = fresh();
      const value = { list: [1, 2], inner: { n: 1 } };
      await store.set(key, value);
      value.list.push(3);
      value.inner.n = 99;
      const first = await store.get<typeof value>(key);
      expect(first).toEqual({ list: [1, 2], inner: { n: 1 } });
      first!.list.push(4);
      first!.inner.n = 42;
      expect(await store.get(key)).toEqual({ list: [1, 2], inner: { n: 1 } });
    });

    it("stores values as JSON (dates become strings, undefined properties disappear)", async () => {
      const key = fresh();
      await store.set(key, { at: new Date(0), gone: undefined, kept: 1 });
      expect(await store.get(key)).toStrictEqual({ at: "1970-01-01T00:00:00.000Z", kept: 1 });
    });

    it("add writes only when the key is absent", async () => {
      const key = fresh();
      expect(await store.add(key, "first")).toBe(true);
      expect(await store.add(key, "second")).toBe(false);
      expect(await store.get(key)).toBe("first");
      await store.delete(key);
      expect(await store.add(key, "third")).toBe(true);
      expect(await store.get(key)).toBe("third");
    });

    it("take returns the value once and removes it", async () => {
      const key = fresh();
      await store.set(key, { code: "abc" });
      expect(await store.take(key)).toEqual({ code: "abc" });
      expect(await store.take(key)).toBeUndefined();
      expect(await store.get(key)).toBeUndefined();
    });

    it("delete removes a key, and deleting an absent key is fine", async () => {
      const key = fresh();
      await store.set(key, 1);
      await store.delete(key);
      expect(await store.get(key)).toBeUndefined();
      await expect(store.delete(key)).resolves.toBeUndefined();
    });

    it("of concurrent takes of one key, exactly one gets the value", async () => {
      const key = fresh();
      await store.set(key, "single use");
      const results = await Promise.all(Array.from({ length: 10 }, () => store.take(key)));
      expect(results.filter((result) => result !== undefined)).toEqual(["single use"]);
    });

    it("of concurrent adds of one key, exactly one succeeds and its value is kept", async () => {
      const key = fresh();
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => store.add(key, index)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get(key)).toBe(results.indexOf(true));
    });

    it("expires entries after their TTL, for get, take and add; a later set without TTL keeps its value", async () => {
      const [forGet, forTake, forAdd, persisted, longLived] = [fresh("get"), fresh("take"), fresh("add"), fresh("set"), fresh("long")];
      await store.set(forGet, "g", { ttlSeconds: SHORT_TTL });
      await store.set(forTake, "t", { ttlSeconds: SHORT_TTL });
      expect(await store.add(forAdd, "a", { ttlSeconds: SHORT_TTL })).toBe(true);
      await store.set(persisted, "old", { ttlSeconds: SHORT_TTL });
      await store.set(persisted, "new");
      await store.set(longLived, "l", { ttlSeconds: 3600 });
      expect(await store.get(forGet)).toBe("g");
      expect(await store.add(forAdd, "blocked")).toBe(false);

      await sleep(PAST_SHORT_TTL_MS);
      expect(await store.get(forGet)).toBeUndefined();
      expect(await store.take(forTake)).toBeUndefined();
      expect(await store.add(forAdd, "again")).toBe(true);
      expect(await store.get(forAdd)).toBe("again");
      expect(await store.get(persisted)).toBe("new");
      expect(await store.get(longLived)).toBe("l");
    });

    it("rejects an empty key with a TypeError, in every method", async () => {
      for (const call of [
        () => store.get(""),
        () => store.set("", 1),
        () => store.add("", 1),
        () => store.take(""),
        () => store.delete(""),
      ]) {
        await expect(call()).rejects.toThrow(TypeError);
      }
    });

    it("rejects keys with lone surrogates, which would share an entry once encoded as UTF-8", async () => {
      await expect(store.set(`${fresh()}\ud800`, 1)).rejects.toThrow(/well-formed/);
      await expect(store.get(`\udc00${fresh()}`)).rejects.toThrow(TypeError);
      const key = fresh("🔑"); // a surrogate pair is fine
      await store.set(key, "\ud800 in a value is fine");
      expect(await store.get(key)).toBe("\ud800 in a value is fine");
    });

    it("rejects a TTL that is not a positive finite number, naming it", async () => {
      for (const [ttl, shown] of [[0, "0"], [-1, "-1"], [Number.NaN, "NaN"], [Number.POSITIVE_INFINITY, "Infinity"], ["5", '"5"']] as const) {
        const key = fresh();
        await expect(store.set(key, 1, { ttlSeconds: ttl as number })).rejects.toThrow(new RegExp(`ttlSeconds.*${shown}`));
        await expect(store.add(key, 1, { ttlSeconds: ttl as number })).rejects.toThrow(TypeError);
        expect(await store.get(key)).toBeUndefined();
      }
    });

    it("rejects values JSON cannot represent", async () => {
      const key = fresh();
      await expect(store.set(key, undefined)).rejects.toThrow(/JSON-serialisable/);
      await expect(store.set(key, () => 1)).rejects.toThrow(TypeError);
      await expect(store.add(key, Symbol("s"))).rejects.toThrow(TypeError);
      await expect(store.set(key, 10n)).rejects.toThrow(TypeError);
      expect(await store.get(key)).toBeUndefined();
    });

    it("increment counts from 0, by any safe integer, and a plain get reads the count", async () => {
      const key = fresh("counter");
      expect(await store.increment!(key)).toBe(1);
      expect(await store.increment!(key, 5)).toBe(6);
      expect(await store.increment!(key, -7)).toBe(-1);
      expect(await store.get(key)).toBe(-1);
      await expect(store.increment!(key, 1.5)).rejects.toThrow(TypeError);
      const text = fresh("text");
      await store.set(text, "not a number");
      await expect(store.increment!(text)).rejects.toThrow();
      expect(await store.get(text)).toBe("not a number");
    });

    it("increment is atomic: concurrent increments all count", async () => {
      const key = fresh("counter");
      const results = await Promise.all(Array.from({ length: 20 }, () => store.increment!(key)));
      expect(new Set(results).size).toBe(20);
      expect(await store.get(key)).toBe(20);
    });

    it("increment sets the TTL when it creates the key and keeps an existing key's expiry", async () => {
      const key = fresh("counter");
      await store.increment!(key, 1, { ttlSeconds: SHORT_TTL });
      await store.increment!(key, 1, { ttlSeconds: 3600 });
      await sleep(PAST_SHORT_TTL_MS);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.increment!(key, 1, { ttlSeconds: 3600 })).toBe(1);
    });

    it("increment passes through scoped and encrypted stores, unsealed", async () => {
      const id = randomUUID();
      const scoped = scopedStore(store, `counters:${id}:`);
      expect(await scoped.increment!("n", 2)).toBe(2);
      expect(await store.get(`counters:${id}:n`)).toBe(2);
      const sealed = encryptedStore(store, SecretBox.fromKey(SecretBox.generateKey()));
      expect(await sealed.increment!(`counters:${id}:n`, 3)).toBe(5);
    });

    it("scoped stores share the backend without colliding", async () => {
      const id = randomUUID();
      const clients = scopedStore(store, `clients:${id}:`);
      const codes = scopedStore(store, `codes:${id}:`);
      await clients.set("abc", { kind: "client" });
      await codes.set("abc", { kind: "code" });
      expect(await clients.get("abc")).toEqual({ kind: "client" });
      expect(await codes.get("abc")).toEqual({ kind: "code" });
      expect(await store.get(`clients:${id}:abc`)).toEqual({ kind: "client" });

      expect(await codes.take("abc")).toEqual({ kind: "code" });
      expect(await clients.get("abc")).toEqual({ kind: "client" });
      expect(await codes.add("abc", 2)).toBe(true);
      expect(await clients.add("abc", 3)).toBe(false);
      await clients.delete("abc");
      expect(await store.get(`clients:${id}:abc`)).toBeUndefined();
      expect(await codes.get("abc")).toBe(2);
      await expect(codes.get("")).rejects.toThrow(TypeError);
      expect(() => scopedStore(store, "")).toThrow(TypeError);
    });
  });
}
