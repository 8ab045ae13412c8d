import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { FastMCP, type RunningServer } from "fastmcp-ts";
import { StaticTokenVerifier } from "fastmcp-ts/auth";
import { INITIALIZE, MCP_HEADERS, openSession, postRaw } from "../helpers/http.js";

const verifier = new StaticTokenVerifier({
  tokens: {
    "alice-token": { clientId: "app", subject: "alice" },
    "bob-token": { clientId: "app", subject: "bob" },
  },
});
const ALICE = { authorization: "Bearer alice-token" };
const BOB = { authorization: "Bearer bob-token" };
const PING = { jsonrpc: "2.0", id: 1, method: "ping" };
const HOLD = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "hold", arguments: {} } };

let mcp: FastMCP | undefined;
let release: () => void = () => undefined;
let holding = 0;
afterEach(async () => {
  release();
  await mcp?.close();
  mcp = undefined;
});

async function start(run: Parameters<FastMCP["run"]>[0], withAuth = true): Promise<string> {
  mcp = new FastMCP({ name: "limits", ...(withAuth ? { auth: verifier } : {}) });
  const held = new Promise<void>((resolve) => { release = resolve; });
  holding = 0;
  mcp.tool({ name: "hold", execute: async () => { holding++; await held; return "released"; } });
  const running: RunningServer = await mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false, ...run });
  return running.url!;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 15));

async function status(url: string, session: string, headers: Record<string, string>): Promise<number> {
  const response = await postRaw(url, PING, { ...headers, "mcp-session-id": session });
  await response.text();
  return response.status;
}

/** A POST from a given loopback source address (fetch cannot choose one). */
function postFrom(localAddress: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; session: string | undefined }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", localAddress, headers: { ...MCP_HEADERS, ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, session: res.headers["mcp-session-id"] as string | undefined }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("sessions per principal", () => {
  it("evicts the principal's least recently seen idle session at its cap and leaves others alone", async () => {
    const url = await start({ maxSessionsPerPrincipal: 3 });
    const bob = await openSession(url, BOB);
    const first = await openSession(url, ALICE);
    await tick();
    const second = await openSession(url, ALICE);
    await tick();
    const third = await openSession(url, ALICE);
    await tick();
    expect(await status(url, first, ALICE)).toBe(200); // now `second` is the least recently seen
    await tick();

    const fourth = await openSession(url, ALICE);
    expect(await status(url, second, ALICE)).toBe(404);
    for (const session of [first, third, fourth]) expect(await status(url, session, ALICE)).toBe(200);
    expect(await status(url, bob, BOB)).toBe(200);
  });

  it("answers 429 with Retry-After when every session of the principal is busy", async () => {
    const url = await start({ maxSessionsPerPrincipal: 3 });
    const sessions = [await openSession(url, ALICE), await openSession(url, ALICE), await openSession(url, ALICE)];
    const calls = sessions.map((session) => postRaw(url, HOLD, { ...ALICE, "mcp-session-id": session, accept: "application/json" }));
    await expect.poll(() => holding).toBe(3);
    const refused = await postRaw(url, INITIALIZE, ALICE);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("for this client: all 3 are busy");
    expect((await postRaw(url, INITIALIZE, BOB)).status).toBe(200);

    release();
    for (const call of calls) expect(await (await call).json()).toMatchObject({ result: { content: [{ text: "released" }] } });
    expect((await postRaw(url, INITIALIZE, ALICE)).status).toBe(200);
  });

  it("keeps the server-wide cap as the last line", async () => {
    const url = await start({ maxSessions: 2, maxSessionsPerPrincipal: 3 });
    await openSession(url, ALICE);
    await openSession(url, ALICE);
    const bob = await postRaw(url, INITIALIZE, BOB);
    expect(bob.status).toBe(429);
    expect(((await bob.json()) as { error: { message: string } }).error.message).toContain("Too many open sessions");
    expect((await postRaw(url, INITIALIZE, ALICE)).status).toBe(429);
  });

  it("counts sessions by client address on a server without auth", async () => {
    const url = await start({ maxSessionsPerPrincipal: 2 }, false);
    const one = await postFrom("127.0.0.1", url, INITIALIZE);
    await tick();
    const two = await postFrom("127.0.0.1", url, INITIALIZE);
    await tick();
    const other = [await postFrom("127.0.0.2", url, INITIALIZE), await postFrom("127.0.0.2", url, INITIALIZE)];
    expect([one, two, ...other].map((r) => r.status)).toEqual([200, 200, 200, 200]);

    const three = await postFrom("127.0.0.1", url, INITIALIZE);
    expect(three.status).toBe(200);
    expect(await status(url, one.session!, {})).toBe(404);
    for (const session of [two.session!, three.session!, other[0]!.session!, other[1]!.session!]) expect(await status(url, session, {})).toBe(200);
  });
});
