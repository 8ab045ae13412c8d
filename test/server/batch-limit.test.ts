import { afterEach, describe, expect, it } from "vitest";
import { FastMCP, type RunningServer } from "fastmcp-ts";
import { postRaw } from "../helpers/http.js";

let mcp: FastMCP | undefined;
let calls = 0;
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

async function start(run: Parameters<FastMCP["run"]>[0] = {}): Promise<RunningServer> {
  calls = 0;
  mcp = new FastMCP({ name: "batches", statelessHttp: true });
  mcp.tool({ name: "count", execute: () => ++calls });
  return mcp.run({ transport: "http", port: 0, banner: false, handleSignals: false, ...run });
}

const pings = (n: number) => Array.from({ length: n }, (_, id) => ({ jsonrpc: "2.0", id, method: "ping" }));
const counts = (n: number) => Array.from({ length: n }, (_, id) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "count", arguments: {} } }));

describe("JSON-RPC batch size", () => {
  it("answers a batch of 100 messages", async () => {
    const { url } = await start();
    const response = await postRaw(url!, pings(100));
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(100);
  });

  it("refuses a batch of 101 with 400 Invalid Request naming the limit and the size, dispatching nothing", async () => {
    const { url } = await start();
    for (const batch of [pings(101), counts(101), pings(60_000)]) {
      const response = await postRaw(url!, batch);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { id: null; error: { code: number; message: string } };
      expect(answer).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
      expect(answer.error.message).toContain("100");
      expect(answer.error.message).toContain(String(batch.length));
    }
    expect(calls).toBe(0);
  });

  it("counts before looking at the messages", async () => {
    const { url } = await start();
    const response = await postRaw(url!, Array.from({ length: 101 }, () => null));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("101");
  });

  it("takes its limit from maxBatchSize", async () => {
    const { url } = await start({ maxBatchSize: 3 });
    expect(((await (await postRaw(url!, counts(3))).json()) as unknown[]).length).toBe(3);
    const refused = await postRaw(url!, counts(4));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/at most 3 .*4/);
    expect(calls).toBe(3);
  });
});
