import type { IncomingMessage } from "node:http";
import type { Context as HonoContext } from "hono";

/**
 * The client's IP address, for rate limits: the socket's peer on Node, or with `trustProxy` the
 * last hop of `X-Forwarded-For` (the address your own proxy saw; earlier entries are whatever the
 * client wrote). "unknown" on runtimes that do not expose it.
 */
export function clientAddress(c: HonoContext, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    const last = forwarded?.split(",").map((part) => part.trim()).filter(Boolean).pop();
    if (last) return last;
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? "unknown";
}
