/** What the error codes of a failed connection mean, in a few words (fetch's failures carry them as their cause's `code`). */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS lookup failed)",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** The reason a connection failed with `code`, or undefined for a code that is not a network failure. */
export function networkReason(code: unknown): string | undefined {
  return typeof code === "string" && Object.hasOwn(NETWORK_REASONS, code) ? NETWORK_REASONS[code] : undefined;
}
