import type { FastMCP, RunningServer } from "fastmcp-ts";

/** Serves `mcp` over HTTP on an ephemeral loopback port; the returned server closes with `await using`. */
export async function serveHttp(mcp: FastMCP, options: Parameters<FastMCP["run"]>[0] = {}): Promise<RunningServer & AsyncDisposable> {
  const running = await mcp.run({ transport: "http", host: "127.0.0.1", port: 0, banner: false, handleSignals: false, ...options });
  return Object.assign(running, { [Symbol.asyncDispose]: () => mcp.close() });
}

export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
} as const;

/** Posts a raw JSON-RPC body to an MCP endpoint. */
export function postRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw-test", version: "1.0.0" } },
} as const;

/** Opens a session by hand and returns its id (stateful servers). */
export async function openSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await postRaw(url, INITIALIZE, headers);
  if (response.status !== 200) throw new Error(`initialize failed: ${response.status} ${await response.text()}`);
  await response.text();
  const id = response.headers.get("mcp-session-id");
  if (!id) throw new Error("initialize returned no Mcp-Session-Id");
  const initialized = await postRaw(url, { jsonrpc: "2.0", method: "notifications/initialized" }, { ...headers, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" });
  await initialized.text();
  return id;
}

/** Reads a whole SSE body into its `data:` JSON messages. */
export async function readSse(response: Response): Promise<Array<{ id?: string; data: unknown }>> {
  const text = await response.text();
  const events: Array<{ id?: string; data: unknown }> = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n");
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
    const id = lines.find((l) => l.startsWith("id:"))?.slice(3).trim();
    if (data) events.push({ ...(id ? { id } : {}), data: JSON.parse(data) });
  }
  return events;
}
