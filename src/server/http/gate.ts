import type { Context as HonoContext } from "hono";
import { bodyLimit as streamingBodyLimit } from "hono/body-limit";
import type { AccessToken } from "../../auth/access-token.js";
import { authenticateBearer } from "../../auth/bearer.js";
import type { AuthProvider } from "../../auth/provider.js";
import { requestHeader } from "../../http/headers.js";
import { hostCheck, type HostGuardOptions } from "./host-guard.js";
import { jsonRpcErrorResponse } from "./json-rpc.js";

export interface GateOptions {
  hosts: HostGuardOptions | undefined;
  maxBodyBytes: number;
  provider: AuthProvider | undefined;
  onVerifierError: (error: unknown) => void;
}

/** Serves a request that passed the gate, with the caller's token (undefined without auth). */
export type Serve = (token: AccessToken | undefined) => Response | Promise<Response>;

/**
 * Every check a request to an MCP endpoint passes before it is served: DNS-rebinding protection,
 * the body size limit, and the bearer token. One function rather than a middleware chain: each
 * middleware layer adds promises to every request, and the common case here is synchronous.
 */
export function createGate(options: GateOptions): (c: HonoContext, serve: Serve) => Response | Promise<Response> {
  const { maxBodyBytes, provider } = options;
  const hosts = options.hosts?.allowedHosts || options.hosts?.allowedOrigins ? hostCheck(options.hosts) : undefined;
  // The rest of a refused body is left unread: the connection cannot carry another request.
  const tooLarge = () => jsonRpcErrorResponse(413, -32000, `Payload Too Large: the body exceeds ${maxBodyBytes} bytes`, { connection: "close" });
  const streamingLimit = streamingBodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  const authenticate = (c: HonoContext, serve: Serve): Response | Promise<Response> => {
    if (!provider) return serve(undefined);
    // Synchronous for a token the provider already verified (nearly every request).
    const outcome = authenticateBearer(c, provider, options.onVerifierError);
    if (outcome instanceof Promise) return outcome.then((result) => ("response" in result ? result.response : serve(result.token)));
    return "response" in outcome ? outcome.response : serve(outcome.token);
  };

  return (c, serve) => {
    const refused = hosts?.(c);
    if (refused) return refused;
    const size = declaredSize(c);
    if (size === "invalid") return jsonRpcErrorResponse(400, -32000, "Bad Request: invalid Content-Length");
    if (typeof size === "number" && size > maxBodyBytes) return tooLarge();
    if (size !== "streamed") return authenticate(c, serve);
    // No declared length: count the body as it streams in (this builds a full web Request on Node).
    return (async () => {
      let response: Response | undefined;
      const limited = await streamingLimit(c, async () => { response = await authenticate(c, serve); });
      return limited ?? response!;
    })();
  };
}

/** The declared Content-Length; "streamed" for a chunked body; undefined when there is no body. */
function declaredSize(c: HonoContext): number | "invalid" | "streamed" | undefined {
  const declared = requestHeader(c, "content-length");
  if (declared !== undefined && requestHeader(c, "transfer-encoding") === undefined) {
    return /^\d+$/.test(declared) ? Number(declared) : "invalid";
  }
  const method = c.req.method;
  return method === "GET" || method === "HEAD" || method === "DELETE" ? undefined : "streamed";
}
