import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { FastMCP, getAccessToken } from "fastmcp-ts";
import { StaticTokenVerifier } from "fastmcp-ts/auth";
import { Client } from "fastmcp-ts/client";
import { INITIALIZE, postRaw } from "../helpers/http.js";

const verifier = new StaticTokenVerifier({
  tokens: {
    "alice-token": { clientId: "app", subject: "alice", scopes: ["read"] },
    "bob-token": { clientId: "app", subject: "bob", scopes: ["read"] },
  },
});

let mcp: FastMCP;
afterEach(async () => { await mcp?.close(); });

async function start() {
  mcp = new FastMCP({ name: "guarded", auth: verifier });
  mcp.tool({ name: "whoami", execute: (_args, ctx) => `${ctx.auth?.subject}/${getAccessToken()?.subject}` });
  mcp.tool({ name: "echo", parameters: z.object({ text: z.string() }), execute: ({ text }) => text });
  return (await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false })).url!;
}

describe("bearer tokens on the HTTP transport", () => {
  it("refuses requests without a token with a Bearer challenge", async () => {
    const url = await start();
    const response = await postRaw(url, INITIALIZE);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("refuses an unknown token, another scheme and a token in the query string", async () => {
    const url = await start();
    const bad = await postRaw(url, INITIALIZE, { authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await bad.json()).toMatchObject({ error: "invalid_token" });
    expect((await postRaw(url, INITIALIZE, { authorization: "Basic YWxpY2U6cGFzcw==" })).status).toBe(401);
    expect((await postRaw(`${url}?access_token=alice-token`, INITIALIZE)).status).toBe(401);
  });

  it("gives handlers the caller's token through ctx.auth and getAccessToken()", async () => {
    const url = await start();
    await using client = await new Client(url, { auth: "alice-token" }).connect();
    expect((await client.callTool("whoami")).content).toEqual([{ type: "text", text: "alice/alice" }]);
  });

  it("binds a session to the identity that opened it", async () => {
    const url = await start();
    const init = await postRaw(url, INITIALIZE, { authorization: "Bearer alice-token" });
    const session = init.headers.get("mcp-session-id")!;
    const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } };
    expect((await postRaw(url, call, { authorization: "Bearer alice-token", "mcp-session-id": session })).status).toBe(200);
    expect((await postRaw(url, call, { authorization: "Bearer bob-token", "mcp-session-id": session })).status).toBe(404);
  });

  it("does not require a token from in-memory connections, and verifies one when given", async () => {
    const server = new FastMCP({ name: "memory", auth: verifier }).tool({ name: "whoami", execute: (_args, ctx) => ctx.auth?.subject ?? "anonymous" });
    await using anonymous = await new Client(server).connect();
    expect((await anonymous.callTool("whoami")).content).toEqual([{ type: "text", text: "anonymous" }]);
    await using alice = await new Client(server, { auth: "alice-token" }).connect();
    expect((await alice.callTool("whoami")).content).toEqual([{ type: "text", text: "alice" }]);
    await expect(new Client(server, { auth: "forged" }).connect()).rejects.toThrow(/refused/);
  });
});
