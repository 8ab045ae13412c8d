import { afterEach, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/server";
import * as z from "zod";
import { FastMCP, type RunningServer } from "fastmcp-ts";
import { StaticTokenVerifier } from "fastmcp-ts/auth";
import { openSession, postRaw } from "../helpers/http.js";

const verifier = new StaticTokenVerifier({ tokens: { "alice-token": { clientId: "app", subject: "alice", scopes: ["read"] } } });
const CALL_ECHO = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "hi" } } };
const COMPLETE = { jsonrpc: "2.0", id: 2, method: "completion/complete", params: { ref: { type: "ref/prompt", name: "greet" }, argument: { name: "who", value: "a" } } };

let mcp: FastMCP | undefined;
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

async function start(withAuth: boolean, stateless = false): Promise<RunningServer> {
  mcp = new FastMCP({ name: "versions", statelessHttp: stateless, onError: () => undefined, ...(withAuth ? { auth: verifier } : {}) });
  // With auth the tool needs a scope, so the step-up check has something to decide.
  mcp.tool({ name: "echo", parameters: z.object({ text: z.string() }), ...(withAuth ? { scopes: ["read"] } : {}), execute: ({ text }) => text });
  mcp.tool({ name: "write_it", scopes: ["write"], execute: () => "written" });
  mcp.prompt({ name: "greet", arguments: [{ name: "who" }], complete: { who: () => ["alice", "anna"] }, render: ({ who }) => `Hello ${who}` });
  return mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false });
}

for (const withAuth of [true, false]) {
  describe(`MCP-Protocol-Version and malformed bodies (${withAuth ? "with" : "without"} auth)`, () => {
    const credentials: Record<string, string> = withAuth ? { authorization: "Bearer alice-token" } : {};

    it("answers a non-object body with a modern version header with 400 Invalid Request, not a 500", async () => {
      const { url } = await start(withAuth);
      for (const body of [null, 42, "a string", true, false]) {
        const response = await postRaw(url!, JSON.stringify(body), { ...credentials, "mcp-protocol-version": "2026-07-28" });
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(await response.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
      }
    });

    it("answers a malformed or unknown version header with the unsupported-version error, on both paths", async () => {
      const { url } = await start(withAuth);
      const session = await openSession(url!, credentials);
      for (const version of ["x", "2027-01-01", "1999-01-01", "2025-13-45", ""]) {
        for (const body of [CALL_ECHO, COMPLETE, null, 42]) {
          const response = await postRaw(url!, JSON.stringify(body), { ...credentials, "mcp-session-id": session, "mcp-protocol-version": version });
          expect(response.status, `${version} ${JSON.stringify(body)}`).toBe(400);
          const answer = (await response.json()) as { error: { code: number; message: string; data: { supported: string[]; requested: string } } };
          expect(answer.error.code).toBe(-32022);
          expect(answer.error.message).toContain("unsupported protocol version");
          expect(answer.error.data).toEqual({ supported: expect.arrayContaining(["2026-07-28", "2025-11-25", "2025-06-18"]), requested: version });
        }
      }
    });

    it("answers the unsupported-version error with the request's id, and a per-request-envelope request with the versions server/discover lists (SEP-2575)", async () => {
      const { url } = await start(withAuth, true);
      const legacy = await postRaw(url!, { ...CALL_ECHO, id: 301 }, { ...credentials, "mcp-protocol-version": "v999.0.0" });
      expect(await legacy.json()).toMatchObject({ id: 301, error: { code: -32022, data: { requested: "v999.0.0" } } });
      const discover = { jsonrpc: "2.0", id: "d-1", method: "server/discover", params: { _meta: { [PROTOCOL_VERSION_META_KEY]: "v999.0.0" } } };
      const modern = await postRaw(url!, discover, { ...credentials, "mcp-protocol-version": "v999.0.0" });
      expect(modern.status).toBe(400);
      expect(await modern.json()).toMatchObject({ id: "d-1", error: { code: -32022, data: { supported: ["2026-07-28"], requested: "v999.0.0" } } });
    });

    it("refuses an unknown version header on a stateless server too", async () => {
      const { url } = await start(withAuth, true);
      const response = await postRaw(url!, CALL_ECHO, { ...credentials, "mcp-protocol-version": "x" });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: -32022, data: { requested: "x" } } });
    });

    it("does not crash on a _meta that is not an object", async () => {
      const { url } = await start(withAuth);
      const session = await openSession(url!, credentials);
      for (const meta of [5, "text", null, true]) {
        const body = { ...CALL_ECHO, params: { ...CALL_ECHO.params, _meta: meta } };
        const response = await postRaw(url!, body, { ...credentials, "mcp-session-id": session });
        expect(response.status, JSON.stringify(meta)).toBeLessThan(500);
        await response.text();
      }
    });

    it.runIf(withAuth)("still challenges a well-formed modern request for missing scopes", async () => {
      const { url } = await start(withAuth);
      const call = { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "write_it", arguments: {}, _meta: { [PROTOCOL_VERSION_META_KEY]: "2026-07-28" } } };
      const response = await postRaw(url!, call, { ...credentials, "mcp-protocol-version": "2026-07-28" });
      expect(response.status).toBe(403);
      expect(response.headers.get("www-authenticate")).toContain("insufficient_scope");
    });

    it("still serves supported versions on the fast lane and the SDK path", async () => {
      const { url } = await start(withAuth);
      const session = await openSession(url!, credentials);
      const headers = { ...credentials, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
      expect(await (await postRaw(url!, CALL_ECHO, headers)).json()).toMatchObject({ id: 1, result: { content: [{ text: "hi" }] } });
      expect(await (await postRaw(url!, COMPLETE, headers)).json()).toMatchObject({ id: 2, result: { completion: { values: ["alice", "anna"] } } });
    });
  });
}
