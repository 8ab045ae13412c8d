import type { IncomingMessage } from "node:http";
import type { Context as HonoContext } from "hono";

/**
 * A request header by lower-case name. On Node it reads the headers node:http already parsed:
 * going through `c.req.header()` first builds a WHATWG Headers object, a few microseconds that
 * every MCP request would pay. Other runtimes use the Request's own headers.
 */
export function requestHeader(c: HonoContext, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming !== undefined && typeof incoming.headers === "object" && typeof incoming.on === "function") {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }
  return c.req.header(name);
}
