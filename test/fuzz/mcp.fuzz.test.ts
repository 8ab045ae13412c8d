/**
 * /mcp with a valid token, under fuzzing: arbitrary JSON values, JSON-RPC-shaped messages with
 * mutated fields, batches up to a little past the 100-message cap, bodies that are not JSON;
 * random MCP-Protocol-Version (every known revision, 2026-07-28, other dates, garbage), Accept,
 * Content-Type and Mcp-Session-Id headers. Never a 5xx or a reported failure, and every error
 * body is JSON: a JSON-RPC error, or an OAuth challenge with WWW-Authenticate. Against a stateless
 * server, and a stateful one with a live session.
 */
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INITIALIZE } from "../helpers/http.js";
import {
  anyText, batchOf, Browser, eachConcurrently, expectNoReportedErrors, fuzz, MCP_HEADERS, parseJson, printTally, registerClient, send, startServer, tally, tokensFor,
  type FuzzServer, type Reply,
} from "./support.js";

let stateless: FuzzServer;
let stateful: FuzzServer;
/** Tokens with mcp:read, and with mcp:read mcp:write, per server. */
const tokens = new Map<FuzzServer, string[]>();
let sessionId: string;

beforeAll(async () => {
  stateless = await startServer({ stateless: true });
  stateful = await startServer({ stateless: false });
  for (const server of [stateless, stateful]) {
    const client = await registerClient(server);
    const browser = new Browser(server.origin);
    tokens.set(server, [(await tokensFor(server, browser, client)).access_token, (await tokensFor(server, browser, client, "mcp:read mcp:write")).access_token]);
  }
  const opened = await send(stateful.origin, { path: "/mcp", headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.get(stateful)![0]}` }, body: JSON.stringify(INITIALIZE) });
  expect(opened.status, opened.body).toBe(200);
  sessionId = String(opened.headers["mcp-session-id"]);
});

afterAll(async () => {
  await stateless?.close();
  await stateful?.close();
});

const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07", "2026-07-28"];
const version = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VERSIONS) },
  { weight: 2, arbitrary: fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)) },
  { weight: 1, arbitrary: fc.constantFrom("", "2026-07-28 ", "2026-7-28", "x", "9999-99-99", "DRAFT-2026-v1", "2025-11-25,2026-07-28", "null") },
  { weight: 1, arbitrary: anyText },
);

const METHODS = [
  "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
  "prompts/list", "prompts/get", "completion/complete", "logging/setLevel", "server/discover", "sampling/createMessage", "elicitation/create", "roots/list",
  "tasks/get", "tasks/list", "tasks/cancel", "tasks/result",
  "notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed", "notifications/message",
  "", "rpc.discover", "__proto__", "tools/call/", "TOOLS/LIST",
];

const smallJson = fc.jsonValue({ maxDepth: 2 });

/** `params` a method might get: right-ish fields with arbitrary values. */
const params = fc.record(
  {
    name: fc.oneof(fc.constantFrom("whoami", "write_note", "missing", ""), anyText),
    arguments: fc.oneof(fc.constant({}), fc.constant({ text: "hi" }), fc.dictionary(fc.constantFrom("text", "x", "__proto__"), smallJson, { maxKeys: 2 }), smallJson),
    protocolVersion: version,
    capabilities: fc.oneof(fc.constant({}), smallJson),
    clientInfo: fc.oneof(fc.constant({ name: "fuzz", version: "1" }), smallJson),
    uri: fc.oneof(fc.constantFrom("file:///x", "https://example.com"), anyText),
    cursor: fc.oneof(anyText, smallJson),
    level: fc.oneof(fc.constantFrom("debug", "info", "error"), anyText),
    requestId: fc.oneof(fc.integer(), anyText),
    progressToken: fc.oneof(fc.integer(), anyText),
    ref: smallJson,
    argument: smallJson,
    _meta: fc.oneof(
      { weight: 6, arbitrary: fc.record({ [META_VERSION]: version, progressToken: fc.oneof(fc.integer(), anyText) }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: smallJson },
    ),
  },
  { requiredKeys: [] },
);

const id = fc.oneof({ weight: 8, arbitrary: fc.integer() }, { weight: 4, arbitrary: fc.string({ maxLength: 10 }) }, { weight: 1, arbitrary: fc.constantFrom(null, 1.5, -0, true, {}, [], 2 ** 53 + 1) });
const method = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.oneof(anyText, smallJson) });

/** A JSON-RPC message: a request, a notification or a response, well formed or with fields wrong, missing or extra. */
const message = fc.oneof(
  { weight: 8, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id, method, params: fc.oneof({ weight: 12, arbitrary: params }, { weight: 1, arbitrary: smallJson }) }, { requiredKeys: ["jsonrpc", "id", "method"] }) },
  { weight: 1, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), method, params }, { requiredKeys: ["jsonrpc", "method"] }) },
  { weight: 1, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id, result: smallJson, error: fc.oneof(fc.record({ code: fc.integer(), message: anyText }), smallJson) }, { requiredKeys: ["jsonrpc", "id"] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        jsonrpc: fc.oneof(fc.constant("2.0"), fc.constantFrom("1.0", "2", 2, null), anyText),
        id,
        method,
        params: fc.oneof(params, smallJson),
        result: smallJson,
        error: smallJson,
        extra: smallJson,
      },
      { requiredKeys: [] },
    ),
  },
);

const body = fc.oneof(
  { weight: 10, arbitrary: message.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.array(message, { maxLength: 8 }).map((value) => JSON.stringify(value)) },
  // Around the batch cap (100): big batches of pings.
  { weight: 1, arbitrary: fc.integer({ min: 95, max: 105 }).map((size) => JSON.stringify(Array.from({ length: size }, (_, id) => ({ jsonrpc: "2.0", id, method: "ping" })))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom("null", "0", "-1", "1e999", '"x"', "true", "[]", "{}", "[[]]", "[null]", '{"jsonrpc":"2.0"}', "", " ", "{", '{"a":1}garbage', "\uFEFF{}", "[" .repeat(5000)) },
  { weight: 1, arbitrary: fc.oneof(anyText, fc.string({ unit: "binary", maxLength: 200 })) },
);

interface McpCase {
  body: string;
  contentType: string | undefined;
  accept: string | undefined;
  version: string | undefined;
  session: "live" | "none" | "made up";
  token: number;
  method: string;
}

const mcpCase: fc.Arbitrary<McpCase> = fc.record({
  body,
  contentType: fc.oneof(
    { weight: 16, arbitrary: fc.constant("application/json") },
    { weight: 2, arbitrary: fc.constantFrom(undefined, "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "", "application/json-rpc", "application/jsonx", "application/x-www-form-urlencoded", "*/*") },
    { weight: 1, arbitrary: anyText },
  ),
  accept: fc.oneof(
    { weight: 16, arbitrary: fc.constant("application/json, text/event-stream") },
    { weight: 2, arbitrary: fc.constantFrom(undefined, "application/json", "text/event-stream", "*/*", "", "text/html", "application/*", "application/json;q=0") },
    { weight: 1, arbitrary: anyText },
  ),
  version: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.constantFrom("2025-11-25", "2025-06-18", "2026-07-28") }, { weight: 2, arbitrary: version }),
  session: fc.constantFrom("live", "live", "none", "made up"),
  token: fc.constantFrom(0, 1),
  method: fc.oneof({ weight: 12, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("GET", "DELETE", "PUT", "PATCH", "OPTIONS") }),
});

/** Every answer: no 5xx; a 4xx is a JSON-RPC error or an OAuth challenge; a 200 is JSON or SSE whose events are JSON. */
function expectWellFormed(reply: Reply): string {
  expect(reply.status, `${reply.status}: ${reply.body.slice(0, 300)}`).toBeLessThan(500);
  const type = reply.headers["content-type"] ?? "";
  if (reply.status >= 400) {
    expect(type, `${reply.status} ${reply.body.slice(0, 300)}`).toMatch(/^application\/json\b/);
    const error = parseJson(reply) as { jsonrpc?: unknown; error?: unknown; id?: unknown };
    if (typeof error.error === "string") {
      expect(reply.headers["www-authenticate"], "an OAuth error without a challenge").toMatch(/^Bearer\b/);
      return `${reply.status} oauth ${error.error}`;
    }
    expect(error.jsonrpc, reply.body).toBe("2.0");
    const detail = error.error as { code?: unknown; message?: unknown };
    expect(typeof detail?.code, reply.body).toBe("number");
    expect(typeof detail?.message, reply.body).toBe("string");
    return `${reply.status} json-rpc ${detail.code as number}`;
  }
  if (reply.status === 202 || reply.status === 204) return String(reply.status);
  if (type.startsWith("text/event-stream")) {
    for (const line of reply.body.split("\n")) if (line.startsWith("data:") && line.slice(5).trim() !== "") JSON.parse(line.slice(5));
    return `${reply.status} sse`;
  }
  expect(type, `${reply.status} ${reply.body.slice(0, 300)}`).toMatch(/^application\/json\b/);
  parseJson(reply);
  return `${reply.status} json`;
}

function property(server: () => FuzzServer) {
  return fc.asyncProperty(batchOf(mcpCase), async (requests) => {
    await eachConcurrently(requests, async (request) => {
      const target = server();
      const reply = await send(target.origin, {
        method: request.method,
        path: "/mcp",
        headers: {
          "content-type": request.contentType,
          accept: request.accept,
          authorization: `Bearer ${tokens.get(target)![request.token]}`,
          "mcp-protocol-version": request.version,
          // With the live session, DELETE would end it for the rest of the run and GET would open
          // its standalone SSE stream (which stays open by design): those get a made-up session.
          "mcp-session-id": request.session === "live" && request.method === "POST" ? sessionId : request.session === "none" ? undefined : "5f2d1a9e-0000-4000-8000-000000000000",
        },
        body: request.method === "GET" || request.method === "DELETE" ? undefined : request.body,
      });
      const outcome = expectWellFormed(reply);
      tally(`${target === stateless ? "stateless" : "stateful"} ${request.method} -> ${outcome}`);
    });
  });
}

describe("/mcp fuzz (valid token)", () => {
  it("stateless: never a 5xx; every error a JSON-RPC error or an OAuth challenge", async () => {
    await fc.assert(property(() => stateless), fuzz(1000));
    printTally();
    expectNoReportedErrors(stateless);
  }, 120_000);

  it("stateful, with a live session: never a 5xx; every error a JSON-RPC error or an OAuth challenge", async () => {
    await fc.assert(property(() => stateful), fuzz(500));
    printTally();
    expectNoReportedErrors(stateful);
  }, 120_000);

  it("refuses bodies past 4 MiB with a JSON-RPC 413, whether or not their length is declared", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(4 * 1024 * 1024) } });
    for (const chunked of [false, true]) {
      const reply = await send(stateless.origin, { path: "/mcp", headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.get(stateless)![0]}` }, body: big, chunked, agent: new http.Agent({ keepAlive: false }) });
      expect(reply.status, reply.body.slice(0, 200)).toBe(413);
      expectWellFormed(reply);
    }
    // Just under the limit: read and answered.
    const under = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(4 * 1024 * 1024 - 100) } });
    const reply = await send(stateless.origin, { path: "/mcp", headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.get(stateless)![0]}` }, body: under });
    expect(reply.status, reply.body.slice(0, 200)).toBe(200);
    expectNoReportedErrors(stateless);
  });
});
