import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import { freshnessLifetime, hasFreshnessHeaders } from "../../../src/auth/server/clients/http-cache.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const options = { defaultSeconds: 3600, maxSeconds: 86_400 };
const lifetime = (headers: IncomingHttpHeaders) => freshnessLifetime(headers, NOW, options);
const at = (offsetSeconds: number) => new Date(NOW + offsetSeconds * 1000).toUTCString();

describe("freshnessLifetime", () => {
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
    ["no-store wins over max-age", { "cache-control": "max-age=600, no-store" }, undefined],
    ["no-cache: revalidate every time", { "cache-control": "no-cache" }, 0],
    ["no-cache wins over max-age", { "cache-control": "no-cache, max-age=600" }, 0],
    ["max-age wins over Expires", { "cache-control": "max-age=60", expires: at(600) }, 60],
    ["Expires in the future", { expires: at(600) }, 600],
    ["Expires relative to the Date header", { expires: at(600), date: at(-100) }, 700],
    ["Expires in the past", { expires: at(-600) }, 0],
    ["an invalid Expires: stale", { expires: "0" }, 0],
    ["Expires beyond the cap", { expires: at(10 * 86_400) }, 86_400],
    ["directives without a lifetime: the default", { "cache-control": "public" }, 3600],
  ])("%s", (_name, headers, expected) => {
    expect(lifetime(headers)).toBe(expected);
  });

  it("caps the default lifetime too", () => {
    expect(freshnessLifetime({}, NOW, { defaultSeconds: 500, maxSeconds: 100 })).toBe(100);
  });
});

describe("hasFreshnessHeaders", () => {
  it.each<[IncomingHttpHeaders, boolean]>([
    [{}, false],
    [{ etag: '"v1"' }, false],
    [{ "cache-control": "max-age=5" }, true],
    [{ expires: at(5) }, true],
  ])("%j: %s", (headers, expected) => {
    expect(hasFreshnessHeaders(headers)).toBe(expected);
  });
});
