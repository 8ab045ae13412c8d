/**
 * Fetching a URL a client chose (a Client ID Metadata Document) without letting that client make
 * this server reach its own network: https only, every address the host resolves to must be
 * public unicast, and the connection goes to the address that was checked (a DNS answer that
 * changes between the check and the connection cannot redirect it). No redirects, a byte cap and
 * one time budget for the whole fetch.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, isIPv4, isIPv6, type LookupFunction } from "node:net";
import { FastMCPError } from "../../../errors.js";

export type SsrfErrorReason =
  | "invalid_url"
  | "dns_failed"
  | "blocked_address"
  | "connection_failed"
  | "tls_failed"
  | "timeout"
  | "redirect"
  | "bad_status"
  | "too_large";

/** A fetch {@link safeFetch} refused or that failed; the message says why, for people. */
export class SsrfError extends FastMCPError {
  override name = "SsrfError";
  constructor(
    readonly reason: SsrfErrorReason,
    message: string,
    /** For `blocked_address`: the refused address (kept out of the message, which may reach the client). */
    readonly address?: string,
  ) {
    super(message);
  }
}

export interface SafeFetchOptions {
  /** Largest body accepted, in bytes (default 5,120). */
  maxBytes?: number;
  /** Budget for the whole fetch — DNS, connection, TLS, headers and body (default 5,000 ms). */
  timeoutMs?: number;
  /** Revalidation: sent as `If-None-Match`; a 304 is then an accepted answer. */
  ifNoneMatch?: string | undefined;
  /** Revalidation: sent as `If-Modified-Since`; a 304 is then an accepted answer. */
  ifModifiedSince?: string | undefined;
  /** Relaxation for development and tests: connect to loopback and private addresses too. */
  allowPrivateAddresses?: boolean | undefined;
  /** Relaxation for development and tests: accept `http:` URLs. */
  allowHttp?: boolean | undefined;
  /** Extra certificate authority to trust (a test server's self-signed certificate). */
  ca?: string | Buffer | undefined;
}

export interface SafeFetchResponse {
  /** 200, or 304 when the request was conditional. */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export const DEFAULT_MAX_BYTES = 5120;
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * GETs `url` (with `accept: application/json`) under the rules above. Resolves with a 200 (or a
 * 304 to a conditional request); anything else rejects with an {@link SsrfError}.
 */
export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<SafeFetchResponse> {
  const target = checkTarget(url, options);
  const budget = new TimeBudget(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const addresses = await budget.race(resolveHost(hostOf(target)));
    if (!options.allowPrivateAddresses) refuseNonPublic(target, addresses);
    return await getPinned(target, addresses, options, budget);
  } finally {
    budget.end();
  }
}

/**
 * Why `address` (an IPv4 or IPv6 literal, without brackets) is not a public unicast address this
 * server may fetch from, or `undefined` when it is. IPv6 forms that carry an IPv4 address (mapped,
 * NAT64, 6to4) are judged by that IPv4 address.
 */
export function nonPublicAddressReason(address: string): string | undefined {
  if (isIPv4(address)) return IPV4_REFUSED.reasonFor(address);
  if (!isIPv6(address)) return "not an IP address";
  if (address.includes("%")) return "scoped IPv6 address";
  const embedded = IPV4_IN_IPV6_REFUSED.reasonFor(address);
  if (embedded !== undefined || IPV4_IN_IPV6.check(address, "ipv6")) return embedded;
  return IPV6_REFUSED.reasonFor(address) ?? (GLOBAL_UNICAST.check(address, "ipv6") ? undefined : "not in the global unicast range (2000::/3)");
}

type Range = readonly [prefix: string, bits: number, reason: string];

// Covers the IANA IPv4 and IPv6 Special-Purpose Address Registries (iana-ipv4-special-registry,
// iana-ipv6-special-registry) in full, their globally reachable anycast blocks too (no metadata
// document lives there), plus multicast, reserved and deprecated blocks. Where ranges overlap,
// the first listed names the reason.
const IPV4_RANGES: readonly Range[] = [
  ["0.0.0.0", 8, "\"this network\" (0.0.0.0/8)"],
  ["10.0.0.0", 8, "private network (10.0.0.0/8)"],
  ["100.64.0.0", 10, "shared address space (100.64.0.0/10)"],
  ["127.0.0.0", 8, "loopback (127.0.0.0/8)"],
  ["169.254.0.0", 16, "link-local, where cloud metadata services live (169.254.0.0/16)"],
  ["172.16.0.0", 12, "private network (172.16.0.0/12)"],
  ["192.0.0.0", 24, "IETF protocol assignments (192.0.0.0/24)"],
  ["192.0.2.0", 24, "documentation (192.0.2.0/24)"],
  ["192.31.196.0", 24, "AS112 DNS sink (192.31.196.0/24)"],
  ["192.52.193.0", 24, "AMT relay anycast (192.52.193.0/24)"],
  ["192.88.99.0", 24, "6to4 relay anycast (192.88.99.0/24)"],
  ["192.168.0.0", 16, "private network (192.168.0.0/16)"],
  ["192.175.48.0", 24, "AS112 direct delegation DNS sink (192.175.48.0/24)"],
  ["198.18.0.0", 15, "benchmarking (198.18.0.0/15)"],
  ["198.51.100.0", 24, "documentation (198.51.100.0/24)"],
  ["203.0.113.0", 24, "documentation (203.0.113.0/24)"],
  ["224.0.0.0", 4, "multicast (224.0.0.0/4)"],
  ["255.255.255.255", 32, "broadcast (255.255.255.255)"],
  ["240.0.0.0", 4, "reserved (240.0.0.0/4)"],
];

/** IPv6 ranges refused outright (after the forms that embed an IPv4 address), besides everything outside 2000::/3. */
const IPV6_RANGES: readonly Range[] = [
  ["::", 128, "unspecified address (::)"],
  ["::1", 128, "loopback (::1)"],
  ["::ffff:0:0:0", 96, "IPv4-translated address (::ffff:0:0:0/96)"],
  ["::", 96, "IPv4-compatible address (::/96, deprecated)"],
  ["64:ff9b:1::", 48, "local-use NAT64 (64:ff9b:1::/48)"],
  ["100::", 64, "discard prefix (100::/64)"],
  ["2001::", 32, "Teredo (2001::/32)"],
  ["2001::", 23, "IETF protocol assignments (2001::/23)"],
  ["2001:db8::", 32, "documentation (2001:db8::/32)"],
  ["2620:4f:8000::", 48, "AS112 direct delegation DNS sink (2620:4f:8000::/48)"],
  ["3fff::", 20, "documentation (3fff::/20)"],
  ["5f00::", 16, "SRv6 segment identifiers (5f00::/16)"],
  ["fc00::", 7, "unique local address (fc00::/7)"],
  ["fe80::", 10, "link-local (fe80::/10)"],
  ["fec0::", 10, "site-local (fec0::/10, deprecated)"],
  ["ff00::", 8, "multicast (ff00::/8)"],
];

/** IPv6 prefixes whose addresses carry an IPv4 address, and the IPv6 form of an IPv4 range under each. */
const IPV4_EMBEDDINGS: readonly { name: string; prefix: string; bits: number; embed: (ipv4: string) => string }[] = [
  { name: "IPv4-mapped", prefix: "::ffff:0:0", bits: 96, embed: (ipv4) => `::ffff:${ipv4}` },
  { name: "NAT64", prefix: "64:ff9b::", bits: 96, embed: (ipv4) => `64:ff9b::${ipv4}` },
  { name: "6to4", prefix: "2002::", bits: 16, embed: (ipv4) => `2002:${ipv4Groups(ipv4)}::` },
];

/** Two hexadecimal IPv6 groups holding a dotted IPv4 address (6to4 puts it in the second and third group). */
function ipv4Groups(ipv4: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split(".").map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Ranges of one family in one BlockList, each with the reason it is refused for. An address is
 * only ever checked against ranges of its own family: Node's BlockList also matches an IPv4 range
 * against the IPv4-mapped IPv6 form and the reverse, which the embedded forms handle explicitly.
 */
class RefusedRanges {
  private readonly all = new BlockList();
  private readonly each: (readonly [BlockList, string])[] = [];

  constructor(
    private readonly family: "ipv4" | "ipv6",
    ranges: readonly Range[],
  ) {
    for (const [prefix, bits, reason] of ranges) {
      this.all.addSubnet(prefix, bits, family);
      this.each.push([blockListOf(prefix, bits, family), reason]);
    }
  }

  reasonFor(address: string): string | undefined {
    if (!this.all.check(address, this.family)) return undefined;
    return this.each.find(([range]) => range.check(address, this.family))?.[1];
  }
}

function blockListOf(prefix: string, bits: number, family: "ipv4" | "ipv6"): BlockList {
  const list = new BlockList();
  list.addSubnet(prefix, bits, family);
  return list;
}

const IPV4_REFUSED = new RefusedRanges("ipv4", IPV4_RANGES);
const IPV6_REFUSED = new RefusedRanges("ipv6", IPV6_RANGES);
const IPV4_IN_IPV6_REFUSED = new RefusedRanges(
  "ipv6",
  IPV4_EMBEDDINGS.flatMap(({ name, bits, embed }) =>
    IPV4_RANGES.map(([prefix, ipv4Bits, reason]): Range => [embed(prefix), bits + ipv4Bits, `${name} form of an IPv4 address that is ${reason}`]),
  ),
);
const IPV4_IN_IPV6 = new BlockList();
for (const { prefix, bits } of IPV4_EMBEDDINGS) IPV4_IN_IPV6.addSubnet(prefix, bits, "ipv6");
const GLOBAL_UNICAST = blockListOf("2000::", 3, "ipv6");

function checkTarget(url: string | URL, options: SafeFetchOptions): URL {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw new SsrfError("invalid_url", "not an absolute URL");
  }
  const httpAllowed = options.allowHttp === true && target.protocol === "http:";
  if (target.protocol !== "https:" && !httpAllowed) throw new SsrfError("invalid_url", `only https URLs are fetched (got ${target.protocol})`);
  if (target.username || target.password) throw new SsrfError("invalid_url", "URLs with credentials are not fetched");
  if (!target.hostname) throw new SsrfError("invalid_url", "the URL has no host");
  return target;
}

/** The hostname to resolve or connect to: IPv6 literals without their brackets. */
function hostOf(target: URL): string {
  return target.hostname.replace(/^\[(.*)\]$/, "$1");
}

async function resolveHost(host: string): Promise<LookupAddress[]> {
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family }];
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, addresses) => {
      if (error) reject(new SsrfError("dns_failed", `could not resolve ${host} (${error.code ?? "lookup failed"})`));
      else if (addresses.length === 0) reject(new SsrfError("dns_failed", `${host} has no address`));
      else resolve(addresses);
    });
  });
}

function refuseNonPublic(target: URL, addresses: readonly LookupAddress[]): void {
  for (const { address } of addresses) {
    const reason = nonPublicAddressReason(address);
    if (reason !== undefined) throw new SsrfError("blocked_address", `refused to fetch ${target.host}: it resolves to a non-public address (${reason})`, address);
  }
}

/**
 * The `lookup` the connection uses: it only ever answers with the vetted addresses, so the socket
 * cannot reach anything else. Answering `all` keeps Node's happy-eyeballs fallback across them.
 */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter(({ family }) => family === options.family) : addresses;
    const first = wanted[0];
    if (first === undefined) callback(Object.assign(new Error("no vetted address of this family"), { code: "ENOTFOUND" }), "", 0);
    else if (options.all) callback(null, [...wanted]);
    else callback(null, first.address, first.family);
  };
}

/** The GET itself, over a connection that can only reach `addresses`. */
function getPinned(target: URL, addresses: readonly LookupAddress[], options: SafeFetchOptions, budget: TimeBudget): Promise<SafeFetchResponse> {
  const conditional = options.ifNoneMatch !== undefined || options.ifModifiedSince !== undefined;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const headers: Record<string, string> = { host: target.host, accept: "application/json", "accept-encoding": "identity", "user-agent": "fastmcp-ts" };
  if (options.ifNoneMatch !== undefined) headers["if-none-match"] = options.ifNoneMatch;
  if (options.ifModifiedSince !== undefined) headers["if-modified-since"] = options.ifModifiedSince;
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({
      hostname: hostOf(target),
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      method: "GET",
      headers,
      lookup: pinnedLookup(addresses),
      agent: false,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
    const fail = (error: SsrfError) => {
      reject(error);
      req.destroy();
    };
    budget.onExpiry(() => fail(new SsrfError("timeout", `fetching ${target.host} took longer than ${budget.ms} ms`)));
    req.on("error", (error) => reject(connectionError(target, error)));
    req.on("response", (response) => {
      const refusal = responseRefusal(response, conditional, maxBytes);
      if (refusal) return fail(refusal);
      readBody(response, maxBytes, target).then((body) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }), fail);
    });
    req.end();
  });
}

function responseRefusal(response: IncomingMessage, conditional: boolean, maxBytes: number): SsrfError | undefined {
  const status = response.statusCode ?? 0;
  if (status === 304 && conditional) return undefined;
  if (status >= 300 && status < 400) return new SsrfError("redirect", `the server answered with a redirect (${status}); redirects are not followed`);
  if (status !== 200) return new SsrfError("bad_status", `the server answered ${status}`);
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return new SsrfError("too_large", `the response is larger than ${maxBytes} bytes`);
  return undefined;
}

function readBody(response: IncomingMessage, maxBytes: number, target: URL): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new SsrfError("too_large", `the response is larger than ${maxBytes} bytes`));
        response.destroy();
      } else chunks.push(chunk);
    });
    response.on("end", () => (response.complete ? resolve(Buffer.concat(chunks)) : reject(truncated(target))));
    response.on("error", () => reject(truncated(target)));
    response.on("close", () => reject(truncated(target)));
  });
}

function truncated(target: URL): SsrfError {
  return new SsrfError("connection_failed", `the connection to ${target.host} closed before the response was complete`);
}

function connectionError(target: URL, error: Error & { code?: string }): SsrfError {
  const code = error.code ?? "unknown error";
  if (/CERT|TLS|SSL|EPROTO|SIGNATURE/i.test(code)) return new SsrfError("tls_failed", `TLS verification of ${target.host} failed (${code})`);
  return new SsrfError("connection_failed", `could not fetch from ${target.host} (${code})`);
}

/** One deadline for every step of a fetch. */
class TimeBudget {
  private readonly timer: NodeJS.Timeout;
  private expired = false;
  private readonly listeners: (() => void)[] = [];

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      for (const listener of this.listeners.splice(0)) listener();
    }, ms);
  }

  onExpiry(listener: () => void): void {
    if (this.expired) listener();
    else this.listeners.push(listener);
  }

  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.onExpiry(() => reject(new SsrfError("timeout", `the fetch took longer than ${this.ms} ms`)));
      promise.then(resolve, reject);
    });
  }

  end(): void {
    clearTimeout(this.timer);
    this.listeners.length = 0;
  }
}
