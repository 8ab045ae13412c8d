import type { Context as HonoContext } from "hono";
import { requestHeader } from "../../../http/headers.js";
import { OAuthError } from "../errors.js";

/** Largest form or JSON body the OAuth endpoints read. */
export const MAX_OAUTH_BODY_BYTES = 16 * 1024;

/** A body the endpoint refuses to read: too large, or not the expected media type. */
export class BodyError extends OAuthError {
  constructor(readonly status: 400 | 413 | 415, description: string) {
    super("invalid_request", description);
  }
}

/**
 * The body as text, refusing more than `maxBytes` whether or not Content-Length says so.
 *
 * A body with a Content-Length (what every OAuth client sends) is read in one piece: the HTTP
 * server delivers exactly that many bytes, and on Node `c.req.text()` takes them from the
 * IncomingMessage directly, while `c.req.raw.body` first builds a web Request and a web stream
 * around it (about 70 µs a request on Node 20). Its size is still checked once read. A chunked
 * body is counted as it streams in, and refused as soon as it passes the limit.
 */
export async function readBodyText(c: HonoContext, maxBytes = MAX_OAUTH_BODY_BYTES): Promise<string> {
  const declared = requestHeader(c, "content-length");
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (declared !== undefined && /^\d+$/.test(declared) && requestHeader(c, "transfer-encoding") === undefined) {
    const text = await c.req.text();
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs counting.
    if (text.length * 3 > maxBytes && Buffer.byteLength(text, "utf8") > maxBytes) throw tooLarge(maxBytes);
    return text;
  }
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
}

function tooLarge(maxBytes: number): BodyError {
  return new BodyError(413, `The request body exceeds ${maxBytes} bytes`);
}

function mediaType(c: HonoContext): string {
  return (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * An `application/x-www-form-urlencoded` body. A parameter given twice is an error (RFC 6749 §3.1):
 * which of the two a server picks is exactly what parameter-pollution attacks play on.
 */
export async function readForm(c: HonoContext, options: { allowRepeated?: boolean } = {}): Promise<URLSearchParams> {
  if (mediaType(c) !== "application/x-www-form-urlencoded") {
    throw new BodyError(415, "The request body must be application/x-www-form-urlencoded");
  }
  const form = new URLSearchParams(await readBodyText(c));
  if (!options.allowRepeated) rejectRepeatedParameters(form);
  return form;
}

/** A JSON object body (RFC 7591 registration requests). */
export async function readJsonObject(c: HonoContext): Promise<Record<string, unknown>> {
  if (mediaType(c) !== "application/json") throw new BodyError(415, "The request body must be application/json");
  const text = await readBodyText(c);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BodyError(400, "The request body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BodyError(400, "The request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

export function rejectRepeatedParameters(params: URLSearchParams): void {
  const [name] = repeatedParameters(params);
  if (name !== undefined) throw new OAuthError("invalid_request", `The parameter ${name} is repeated`);
}

/** The names given more than once, in order of first repetition. */
export function repeatedParameters(params: URLSearchParams): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return [...repeated];
}
