import { describe, expect, it } from "vitest";
import { MemoryStore } from "fastmcp-ts/storage";
import { describeStoreContract } from "./contract.js";

describeStoreContract("MemoryStore", { open: () => new MemoryStore() });

describe("MemoryStore", () => {
  it("evicts the oldest write when it holds maxEntries", async () => {
    const store = new MemoryStore({ maxEntries: 3 });
    await store.set("a", 1);
    await store.set("b", 2);
    await store.set("c", 3);
    await store.set("a", 10); // rewriting makes "a" the newest
    await store.set("d", 4);
    expect(await store.get("b")).toBeUndefined();
    expect([await store.get("a"), await store.get("c"), await store.get("d")]).toEqual([10, 3, 4]);
    expect(await store.add("e", 5)).toBe(true);
    expect(await store.get("c")).toBeUndefined();
  });

  it("sweep removes expired entries and keeps live ones", async () => {
    const store = new MemoryStore();
    await store.set("short", 1, { ttlSeconds: 0.05 });
    await store.set("long", 2, { ttlSeconds: 60 });
    await store.set("forever", 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.sweep()).toBe(1);
    expect(await store.get("long")).toBe(2);
    expect(await store.get("forever")).toBe(3);
  });

  it("refuses a maxEntries that is not a positive integer", () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryStore({ maxEntries })).toThrow(TypeError);
    }
  });

  it("instances do not share data", async () => {
    const one = new MemoryStore();
    await one.set("k", 1);
    expect(await new MemoryStore().get("k")).toBeUndefined();
  });
});
