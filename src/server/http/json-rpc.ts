import { isJsonContentType, ProtocolErrorCode, type JSONRPCMessage, type ProtocolError, type RequestId } from "@modelcontextprotocol/server";
import type { Context as HonoContext } from "hono";
import { requestHeader } from "../../http/headers.js";

/** Most messages one JSON-RPC batch may hold: the SDK's own figure (its constant is not exported). */
export const MAX_BATCH_SIZE = 100;

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

/** An HTTP response carrying an SDK protocol error (its code, message and data). */
export function protocolErrorResponse(status: number, error: ProtocolError, headers: Record<string, string> = {}, id: RequestId | null = null): Response {
  return new Response(JSON.stringify(jsonRpcError(id, error.code, error.message, error.data)), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Reads a POST body that must be JSON: the parsed value, or the 415/400 response refusing it. */
export async function readJsonBody(c: HonoContext): Promise<{ body: unknown } | { response: Response }> {
  if (!isJsonContentType(requestHeader(c, "content-type") ?? "")) {
    return { response: jsonRpcErrorResponse(415, -32000, "Unsupported Media Type: Content-Type must be application/json") };
  }
  try {
    return { body: JSON.parse(await c.req.text()) };
  } catch {
    return { response: jsonRpcErrorResponse(400, ProtocolErrorCode.ParseError, "Parse error: the body is not valid JSON") };
  }
}
