import { SUPPORTED_PROTOCOL_VERSIONS, UnsupportedProtocolVersionError, type RequestId } from "@modelcontextprotocol/server";
import { protocolErrorResponse } from "./json-rpc.js";

/** The revisions negotiated by `initialize` (2025 era and before), newest first: the SDK's list. */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

/**
 * The per-request-envelope revisions (2026-07-28 on) the SDK serves. The SDK keeps its own list
 * internal; a revision is added here when the SDK implements it.
 */
export const MODERN_PROTOCOL_VERSIONS: readonly string[] = ["2026-07-28"];

/** Every revision the Streamable HTTP endpoint answers POSTs in, newest first. */
export const ALL_PROTOCOL_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...LEGACY_PROTOCOL_VERSIONS];

export type VersionEra = "legacy" | "modern" | "unsupported";

const ERAS = new Map<string, VersionEra>([
  ...LEGACY_PROTOCOL_VERSIONS.map((version) => [version, "legacy"] as const),
  ...MODERN_PROTOCOL_VERSIONS.map((version) => [version, "modern"] as const),
]);

/**
 * The era of an `MCP-Protocol-Version` value. A lookup, not a comparison: revisions are ISO dates,
 * but comparing strings (as the SDK's own era check does) counts "x" or "9" as modern. Anything
 * not listed, malformed or merely unknown, is unsupported.
 */
export function protocolEraOf(version: string): VersionEra {
  return ERAS.get(version) ?? "unsupported";
}

/**
 * The spec's answer to a version the endpoint does not serve: 400 with the SDK's -32022 error,
 * carrying the request's id when it has one (SEP-2575: every error answers its request).
 */
export function unsupportedVersionResponse(requested: string, supported: readonly string[], headers: Record<string, string> = {}, id: RequestId | null = null): Response {
  const error = new UnsupportedProtocolVersionError(
    { supported: [...supported], requested },
    `Bad Request: unsupported protocol version ${JSON.stringify(requested)} (supported: ${supported.join(", ")})`,
  );
  return protocolErrorResponse(400, error, headers, id);
}
