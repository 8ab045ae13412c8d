import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/server";

/** A JSON-RPC error message. */
export function jsonRpcError(id: RequestId | null, code: number, message: string, data?: unknown): JSONRPCMessage & { id: RequestId } {
  const error: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error } as JSONRPCMessage & { id: RequestId };
}

/** An HTTP response carrying a JSON-RPC error, for failures before any request is dispatched. */
export function jsonRpcErrorResponse(status: number, code: number, message: string, headers: Record<string, string> = {}, id: RequestId | null = null): Response {
  return new Response(JSON.stringify(jsonRpcError(id, code, message)), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
