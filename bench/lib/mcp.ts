/** The MCP side of the harness: the echo call, its headers, checking answers, opening sessions. */

export const PROTOCOL_VERSION = "2025-11-25";

/** Headers every benchmark request carries, plus the session's once one is open, and the bearer token if any. */
export function callHeaders(sessionId?: string, token?: string): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": PROTOCOL_VERSION,
  };
  if (sessionId !== undefined) headers["mcp-session-id"] = sessionId;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return headers;
}

export function echoText(id: number): string {
  return `hello ${id}`;
}

/** A tools/call of the echo tool; the id and the text are both unique to the request. */
export function echoCall(id: number): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text: echoText(id) } } });
}

/** The JSON-RPC message in a response body: plain JSON, or the first `data:` line of an SSE stream. */
export function messageOf(body: string): unknown {
  const trimmed = body.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return JSON.parse(trimmed);
  const data = body.split("\n").find((line) => line.startsWith("data: ") && line.length > 6);
  if (data === undefined) throw new Error(`no JSON-RPC message in ${JSON.stringify(body.slice(0, 200))}`);
  return JSON.parse(data.slice(6));
}

/** Whether `body` is the correct answer to echoCall(id). */
export function isEchoAnswer(body: string, id: number): boolean {
  try {
    const message = messageOf(body) as { jsonrpc?: string; id?: unknown; result?: { content?: Array<{ type?: string; text?: string }>; isError?: boolean } };
    const first = message.result?.content?.[0];
    return message.jsonrpc === "2.0" && message.id === id && message.result?.isError !== true && first?.type === "text" && first.text === echoText(id);
  } catch {
    return false;
  }
}

/** Sends a few calls with fetch and checks status and answer; throws on the first wrong one. */
export async function sampleCalls(url: string, sessionId: string | undefined, ids: number[], token?: string): Promise<void> {
  for (const id of ids) {
    const response = await fetch(url, { method: "POST", headers: callHeaders(sessionId, token), body: echoCall(id) });
    const body = await response.text();
    if (response.status !== 200 || !isEchoAnswer(body, id)) {
      throw new Error(`wrong answer to call ${id} at ${url}: HTTP ${response.status} ${body.slice(0, 300)}`);
    }
  }
}

/** initialize + notifications/initialized, as a 2025-11-25 client does; returns the session id. */
export async function openSession(url: string): Promise<string> {
  const initialize = {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "fastmcp-bench", version: "1.0.0" } },
  };
  const response = await fetch(url, { method: "POST", headers: callHeaders(), body: JSON.stringify(initialize) });
  const body = await response.text();
  const sessionId = response.headers.get("mcp-session-id");
  const result = response.status === 200 ? (messageOf(body) as { result?: { protocolVersion?: string } }).result : undefined;
  if (sessionId === null || result?.protocolVersion !== PROTOCOL_VERSION) {
    throw new Error(`initialize failed: HTTP ${response.status} ${body.slice(0, 300)}`);
  }
  const initialized = await fetch(url, {
    method: "POST",
    headers: callHeaders(sessionId),
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.arrayBuffer();
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered HTTP ${initialized.status}`);
  return sessionId;
}

/** Opens `count` sessions, `concurrency` at a time. */
export async function openSessions(url: string, count: number, concurrency: number): Promise<void> {
  let opened = 0;
  const worker = async () => {
    while (opened < count) {
      opened++;
      await openSession(url);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export type ServerMemory = NodeJS.MemoryUsage & { newSpace: number };

/** Asks a server started with gcRoute to collect garbage; returns its memory usage then. */
export async function collectGarbage(url: string): Promise<ServerMemory> {
  const response = await fetch(new URL("/__gc", url), { method: "POST" });
  if (response.status !== 200) throw new Error(`/__gc answered HTTP ${response.status}`);
  return (await response.json()) as ServerMemory;
}
