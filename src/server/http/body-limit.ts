import type { MiddlewareHandler } from "hono";
import { bodyLimit as streamingBodyLimit } from "hono/body-limit";
import { jsonRpcErrorResponse } from "./json-rpc.js";
import { requestHeader } from "./headers.js";

/**
 * 413 for bodies over `maxBytes`. A request that declares its Content-Length is judged from the
 * header alone (no body stream is touched, which would cost a full web Request on Node); chunked
 * bodies are counted as they stream in by Hono's body-limit middleware.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => jsonRpcErrorResponse(413, -32000, `Payload Too Large: the body exceeds ${maxBytes} bytes`);
  const streaming = streamingBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const declared = requestHeader(c, "content-length");
    if (declared !== undefined && requestHeader(c, "transfer-encoding") === undefined) {
      if (!/^\d+$/.test(declared)) return jsonRpcErrorResponse(400, -32000, "Bad Request: invalid Content-Length");
      if (Number(declared) > maxBytes) return tooLarge();
      await next();
      return undefined;
    }
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "DELETE") {
      await next();
      return undefined;
    }
    return streaming(c, next);
  };
}
