/**
 * The caching rules of a fetched document (http-cache-semantics as a private cache, within our
 * bounds), response by response. The fetcher's use of them over real HTTP is tested in
 * client-metadata-document.test.ts.
 */
import type { IncomingHttpHeaders } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DocumentCachePolicy, type CacheBounds } from "../../../src/auth/server/clients/http-cache.js";

const URL = "https://app.example.com/client.json";
const NOW = Date.parse("2026-01-01T00:00:00Z");
const bounds: CacheBounds = { defaultSeconds: 3600, maxSeconds: 86_400 };
const at = (offsetSeconds: number) => new Date(NOW + offsetSeconds * 1000).toUTCString();
const policyOf = (headers: IncomingHttpHeaders, options: CacheBounds = bounds) => DocumentCachePolicy.of(URL, { status: 200, headers }, options);
const lifetime = (headers: IncomingHttpHeaders) => policyOf(headers).freshnessSeconds();

function advanceClock(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"], now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("freshnessSeconds", () => {
  it.each<[string, IncomingHttpHeaders, number | undefined]>([
    ["no caching headers: the default", {}, 3600],
    ["max-age", { "cache-control": "max-age=120" }, 120],
    ["max-age among other directives, any case", { "cache-control": "public, Max-Age=300, must-revalidate" }, 300],
    ["a quoted max-age", { "cache-control": 'max-age="60"' }, 60],
    ["max-age=0", { "cache-control": "max-age=0" }, 0],
    ["max-age above the cap", { "cache-control": "max-age=31536000" }, 86_400],
    ["max-age minus Age", { "cache-control": "max-age=100", age: "30" }, 70],
    ["Age beyond max-age", { "cache-control": "max-age=100", age: "300" }, 0],
    ["an invalid max-age: stale", { "cache-control": "max-age=soon" }, 0],
    ["a negative max-age: stale", { "cache-control": "max-age=-5" }, 0],
    ["no-store: not stored", { "cache-control": "no-store" }, undefined],
    ["NO-STORE in capitals: not stored", { "cache-control": "NO-STORE" }, undefined],
    ["no-store wins over max-age", { "cache-control": "max-age=600, no-store" }, undefined],
    ["no-cache: revalidate every time", { "cache-control": "no-cache" }, 0],
    ["no-cache wins over max-age", { "cache-control": "no-cache, max-age=600" }, 0],
    ["Pragma: no-cache without Cache-Control: revalidate every time", { pragma: "no-cache" }, 0],
    ["Pragma: no-cache under a Cache-Control: ignored", { pragma: "no-cache", "cache-control": "max-age=60" }, 60],
    ["Vary: * (no later request can match it): revalidate every time", { vary: "*" }, 0],
    ["Vary on a request header: kept (every fetch sends the same headers)", { vary: "accept", "cache-control": "max-age=60" }, 60],
    ["private: kept, this cache is private", { "cache-control": "private, max-age=120" }, 120],
    ["private alone: the default", { "cache-control": "private" }, 3600],
    ["s-maxage alone: for shared caches only, so the default", { "cache-control": "s-maxage=600" }, 3600],
    ["s-maxage beside max-age: max-age", { "cache-control": "s-maxage=600, max-age=60" }, 60],
    ["stale-while-revalidate does not extend the lifetime", { "cache-control": "max-age=60, stale-while-revalidate=600" }, 60],
    ["stale-if-error does not extend the lifetime", { "cache-control": "max-age=60, stale-if-error=600" }, 60],
    ["max-age wins over Expires", { "cache-control": "max-age=60", expires: at(600) }, 60],
    ["Expires in the future", { expires: at(600) }, 600],
    ["Expires relative to the Date header", { expires: at(600), date: at(-100) }, 700],
    ["Expires in the past", { expires: at(-600) }, 0],
    ["an invalid Expires: stale", { expires: "0" }, 0],
    ["Expires beyond the cap", { expires: at(10 * 86_400) }, 86_400],
    ["directives without a lifetime: the default", { "cache-control": "public" }, 3600],
    ["must-revalidate alone: the default (a stale document is always revalidated anyway)", { "cache-control": "must-revalidate" }, 3600],
    ["immutable alone: the default", { "cache-control": "immutable" }, 3600],
    ["Last-Modified alone: the default, not a guess from the document's age", { "last-modified": at(-100 * 86_400) }, 3600],
  ])("%s", (_name, headers, expected) => {
    expect(lifetime(headers)).toBe(expected);
  });

  it("caps the default lifetime too", () => {
    expect(policyOf({}, { defaultSeconds: 500, maxSeconds: 100 }).freshnessSeconds()).toBe(100);
  });

  it("counts down as time passes", () => {
    const policy = policyOf({ "cache-control": "max-age=120" });
    advanceClock(100);
    expect(policy.freshnessSeconds()).toBe(20);
    advanceClock(30);
    expect(policy.freshnessSeconds()).toBe(0);
  });
});

describe("validators", () => {
  it.each<[IncomingHttpHeaders, string | undefined, string | undefined]>([
    [{}, undefined, undefined],
    [{ etag: '"v1"' }, '"v1"', undefined],
    [{ etag: 'W/"v1"' }, 'W/"v1"', undefined],
    [{ "last-modified": at(-60) }, undefined, at(-60)],
    [{ etag: '"v1"', "last-modified": at(-60) }, '"v1"', at(-60)],
    [{ etag: '"v1"', "cache-control": "no-store" }, undefined, undefined],
  ])("%j: If-None-Match %s, If-Modified-Since %s", (headers, ifNoneMatch, ifModifiedSince) => {
    expect(policyOf(headers).validators()).toEqual({ ifNoneMatch, ifModifiedSince });
  });
});

describe("revalidated (after a 304)", () => {
  const notModified = (headers: IncomingHttpHeaders = {}) => ({ status: 304, headers: { date: new Date().toUTCString(), ...headers } });

  it("gives a stored lifetime again from the confirmation on", () => {
    const policy = policyOf({ "cache-control": "max-age=60", etag: '"v1"' });
    advanceClock(61);
    expect(policy.freshnessSeconds()).toBe(0);
    const confirmed = policy.revalidated(notModified({ etag: '"v1"' }));
    expect(confirmed.freshnessSeconds()).toBe(60);
    expect(confirmed.validators().ifNoneMatch).toBe('"v1"');
  });

  it("takes the lifetime the 304 announces", () => {
    const policy = policyOf({ "cache-control": "max-age=10", etag: '"v1"' });
    advanceClock(11);
    expect(policy.revalidated(notModified({ etag: '"v1"', "cache-control": "max-age=600" })).freshnessSeconds()).toBe(600);
  });

  it("takes a lifetime the 304 announces for a document that had none (the library alone would ignore it)", () => {
    const policy = policyOf({ etag: '"v1"' });
    advanceClock(3601);
    expect(policy.revalidated(notModified({ etag: '"v1"', "cache-control": "max-age=600" })).freshnessSeconds()).toBe(600);
  });

  it("takes the Expires a 304 announces", () => {
    const policy = policyOf({ etag: '"v1"', expires: at(10) });
    advanceClock(11);
    expect(policy.revalidated(notModified({ etag: '"v1"', expires: new Date(Date.now() + 300_000).toUTCString() })).freshnessSeconds()).toBe(300);
  });

  it("keeps the default lifetime of a document without caching headers", () => {
    const policy = policyOf({ "last-modified": at(-60) });
    advanceClock(3601);
    const confirmed = policy.revalidated(notModified());
    expect(confirmed.freshnessSeconds()).toBe(3600);
    expect(confirmed.validators().ifModifiedSince).toBe(at(-60));
  });

  it("accepts a 304 that leaves out the validator it confirms", () => {
    const policy = policyOf({ "cache-control": "max-age=60", etag: '"v1"' });
    advanceClock(61);
    expect(policy.revalidated(notModified()).freshnessSeconds()).toBe(60);
  });

  it("can be confirmed again and again", () => {
    let policy = policyOf({ "cache-control": "max-age=60", etag: '"v1"' });
    for (let i = 0; i < 3; i += 1) {
      advanceClock(61);
      policy = policy.revalidated(notModified({ etag: '"v1"' }));
      expect(policy.freshnessSeconds()).toBe(60);
    }
  });

  it("keeps nothing after a 304 that names another validator", () => {
    const policy = policyOf({ "cache-control": "max-age=60", etag: '"v1"' });
    advanceClock(61);
    const confused = policy.revalidated(notModified({ etag: '"v2"' }));
    expect(confused.freshnessSeconds()).toBeUndefined();
    expect(confused.validators()).toEqual({ ifNoneMatch: undefined, ifModifiedSince: undefined });
  });

  it("a 304 that says no-store keeps nothing", () => {
    const policy = policyOf({ "cache-control": "max-age=60", etag: '"v1"' });
    advanceClock(61);
    expect(policy.revalidated(notModified({ etag: '"v1"', "cache-control": "no-store" })).freshnessSeconds()).toBeUndefined();
  });
});
