import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { LookupAddress } from "node:dns";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { closedPort } from "../../helpers/ports.js";
import { nonPublicAddressReason, safeFetch, SsrfError, type SafeFetchOptions } from "../../../src/auth/server/clients/ssrf.js";
import { DocumentServer, makeTestCertificate, type Reply } from "./document-server.js";

/** Scripted DNS answers for the rebinding test; every other lookup goes to the real resolver. */
const scriptedDns = vi.hoisted(() => ({ answers: [] as LookupAddress[][], calls: 0 }));
vi.mock("node:dns", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:dns")>();
  const lookup = (host: string, options: object, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
    scriptedDns.calls += 1;
    const answer = scriptedDns.answers.shift();
    if (answer) callback(null, answer);
    else actual.lookup(host, { ...options, all: true }, callback);
  };
  return { ...actual, lookup };
});

describe("nonPublicAddressReason: IPv4", () => {
  it.each([
    ["0.0.0.0", "this network"],
    ["0.1.2.3", "this network"],
    ["10.0.0.1", "10.0.0.0/8"],
    ["10.255.255.255", "10.0.0.0/8"],
    ["100.64.0.1", "100.64.0.0/10"],
    ["100.127.255.254", "100.64.0.0/10"],
    ["127.0.0.1", "loopback"],
    ["127.53.0.1", "loopback"],
    ["169.254.169.254", "link-local"],
    ["172.16.0.1", "172.16.0.0/12"],
    ["172.31.255.255", "172.16.0.0/12"],
    ["192.0.0.8", "192.0.0.0/24"],
    ["192.0.2.1", "documentation"],
    ["192.88.99.1", "6to4 relay"],
    ["192.168.1.1", "192.168.0.0/16"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["192.31.196.1", "AS112"],
    ["192.52.193.1", "AMT"],
    ["192.175.48.1", "AS112 direct delegation"],
  ])("%s is refused (%s)", (address, reason) => {
    expect(nonPublicAddressReason(address)).toContain(reason);
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "11.0.0.0", "100.63.255.255", "100.128.0.0", "169.253.255.255", "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.88.98.255", "198.17.255.255", "198.20.0.0", "223.255.255.255", "192.31.195.255", "192.31.197.0", "192.52.192.255", "192.52.194.0", "192.175.47.255", "192.175.49.0"])(
    "%s is public",
    (address) => {
      expect(nonPublicAddressReason(address)).toBeUndefined();
    },
  );
});

describe("nonPublicAddressReason: IPv6", () => {
  it.each([
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["::ffff:127.0.0.1", "IPv4-mapped form of an IPv4 address that is loopback"],
    ["::ffff:7f00:1", "IPv4-mapped form of an IPv4 address that is loopback"],
    ["::ffff:10.0.0.1", "IPv4-mapped"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:0.0.0.0", "IPv4-mapped"],
    ["64:ff9b::127.0.0.1", "NAT64 form of an IPv4 address that is loopback"],
    ["64:ff9b::a00:1", "NAT64 form of an IPv4 address that is private"],
    ["64:ff9b::c0a8:101", "NAT64"],
    ["64:ff9b:1::1", "local-use NAT64"],
    ["64:ff9b:1:abcd::8.8.8.8", "local-use NAT64"],
    ["2002:7f00:1::1", "6to4 form of an IPv4 address that is loopback"],
    ["2002:c0a8:101::1", "6to4 form of an IPv4 address that is private"],
    ["2002:a9fe:a9fe::", "6to4 form of an IPv4 address that is link-local"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"],
    ["2001:0:7f00:1::", "Teredo"],
    ["2001:2::1", "IETF protocol assignments"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", "documentation"],
    ["::127.0.0.1", "IPv4-compatible"],
    ["::ffff:0:7f00:1", "IPv4-translated"],
    ["100::1", "discard"],
    ["fc00::1", "unique local"],
    ["fd12:3456:789a::1", "unique local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "scoped"],
    ["febf::1", "link-local"],
    ["fec0::1", "site-local"],
    ["ff02::1", "multicast"],
    ["ff05::1:3", "multicast"],
    ["4000::1", "global unicast"],
    ["1::1", "global unicast"],
    ["2620:4f:8000::1", "AS112 direct delegation"],
    ["5f00::1", "SRv6"],
    ["::FFFF:7F00:1", "IPv4-mapped form of an IPv4 address that is loopback"],
    ["FE80::1", "link-local"],
    ["::ffff:255.255.255.255", "IPv4-mapped form of an IPv4 address that is broadcast"],
    ["::ffff:100.127.255.255", "IPv4-mapped form of an IPv4 address that is shared address space"],
    ["::ffff:192.31.196.1", "IPv4-mapped form of an IPv4 address that is AS112"],
    ["64:ff9b::6440:0", "NAT64 form of an IPv4 address that is shared address space"],
    ["64:ff9b::c034:c101", "NAT64 form of an IPv4 address that is AMT"],
    ["64:ff9b::ffff:ffff", "NAT64 form of an IPv4 address that is broadcast"],
    ["2002:ac1f:ffff::1", "6to4 form of an IPv4 address that is private"],
    ["2002:c01f:c401::1", "6to4 form of an IPv4 address that is AS112"],
    ["2002:f000::1", "6to4 form of an IPv4 address that is reserved"],
    ["2002:ffff:ffff::", "6to4 form of an IPv4 address that is broadcast"],
    ["2002::1", "6to4 form of an IPv4 address that is \"this network\""],
    ["::8.8.8.8", "IPv4-compatible"],
    ["::0808:0808", "IPv4-compatible"],
  ])("%s is refused (%s)", (address, reason) => {
    expect(nonPublicAddressReason(address)).toContain(reason);
  });

  it.each(["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:81c::200e", "::ffff:8.8.8.8", "::ffff:808:808", "64:ff9b::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:200::1", "2620:4f:7fff::1", "2620:4f:8001::1", "::ffff:100.128.0.0", "64:ff9b::6480:0", "2002:ac20::1", "2002:dfff:ffff::1", "2600::1"])(
    "%s is public",
    (address) => {
      expect(nonPublicAddressReason(address)).toBeUndefined();
    },
  );

  it.each(["example.com", "", "127.1", "::gg", "[::1]"])("%j is not an IP address", (value) => {
    expect(nonPublicAddressReason(value)).toBe("not an IP address");
  });
});

const certificate = makeTestCertificate();
let server: DocumentServer;

beforeAll(async () => {
  server = await DocumentServer.start(certificate);
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.requests.length = 0;
  server.connections = 0;
  server.reply = () => ({ status: 404 });
});

async function refusal(url: string, options: SafeFetchOptions = {}): Promise<SsrfError> {
  try {
    await safeFetch(url, options);
  } catch (error) {
    if (error instanceof SsrfError) return error;
    throw error;
  }
  throw new Error(`${url} was fetched`);
}

function serve(reply: Reply | ((path: string) => Reply)): void {
  server.reply = (request) => (typeof reply === "function" ? reply(request.path) : reply);
}

const document = { client_id: "x", client_name: "Test" };

describe(`safeFetch: refused before any connection (${certificate ? "https" : "http"} test server)`, () => {
  it.each<[string, (port: string) => string, string | undefined]>([
    ["127.0.0.1", (port) => `https://127.0.0.1:${port}/doc`, "127.0.0.1"],
    ["localhost, through DNS", (port) => `https://localhost:${port}/doc`, "127.0.0.1"],
    ["[::1]", (port) => `https://[::1]:${port}/doc`, "::1"],
    ["the IPv4-mapped [::ffff:127.0.0.1] (the URL parser writes it [::ffff:7f00:1])", (port) => `https://[::ffff:127.0.0.1]:${port}/doc`, "::ffff:7f00:1"],
    ["the hexadecimal 0x7f000001 (the URL parser makes it 127.0.0.1)", (port) => `https://0x7f000001:${port}/doc`, "127.0.0.1"],
    ["the decimal 2130706433 (the URL parser makes it 127.0.0.1)", (port) => `https://2130706433:${port}/doc`, "127.0.0.1"],
    ["the short 127.1 (the URL parser makes it 127.0.0.1)", (port) => `https://127.1:${port}/doc`, "127.0.0.1"],
    ["0.0.0.0", (port) => `https://0.0.0.0:${port}/doc`, "0.0.0.0"],
    ["the NAT64 [64:ff9b::7f00:1]", (port) => `https://[64:ff9b::7f00:1]:${port}/doc`, "64:ff9b::7f00:1"],
    ["cloud metadata 169.254.169.254", () => "https://169.254.169.254/latest/meta-data/", "169.254.169.254"],
  ])("%s", async (_name, urlFor, address) => {
    const url = urlFor(new URL(server.url("/")).port);
    const error = await refusal(url);
    expect(error.reason).toBe("blocked_address");
    expect(error.address).toBe(address);
    expect(server.connections).toBe(0);
  });

  it("does not put the resolved address in the message (it may reach the client)", async () => {
    const error = await refusal(server.url("/doc", "localhost").replace(/^http:/, "https:"));
    expect(error.message).toContain("non-public address");
    expect(error.message).not.toContain("127.0.0.1");
  });

  it("refuses http without allowHttp, even with allowPrivateAddresses", async () => {
    const error = await refusal(server.url("/doc").replace(/^https:/, "http:"), { allowPrivateAddresses: true });
    expect(error.reason).toBe("invalid_url");
    expect(server.connections).toBe(0);
  });

  it.each([
    ["a relative URL", "/doc"],
    ["not a URL", "not a url"],
    ["a file: URL", "file:///etc/passwd"],
    ["a URL with credentials", "https://user:pw@example.com/doc"],
    ["an ftp: URL", "ftp://example.com/doc"],
  ])("refuses %s", async (_name, url) => {
    expect((await refusal(url)).reason).toBe("invalid_url");
  });

  it("fails clearly when the host does not resolve", async () => {
    const error = await refusal("https://does-not-exist.invalid/doc");
    expect(error.reason).toBe("dns_failed");
    expect(error.message).toContain("does-not-exist.invalid");
  });
});

describe("safeFetch: the connection is pinned to the checked address", () => {
  it("connects to the address it checked: a DNS answer that changes to loopback afterwards (rebinding) is never used", async () => {
    scriptedDns.calls = 0;
    scriptedDns.answers = [[{ address: "93.184.216.34", family: 4 }], [{ address: "127.0.0.1", family: 4 }]];
    try {
      const port = new URL(server.url("/")).port;
      const error = await refusal(`https://rebind.example:${port}/doc`, { timeoutMs: 500, ...(server.certificate ? { ca: server.certificate.cert } : {}) });
      expect(["connection_failed", "timeout", "tls_failed"]).toContain(error.reason);
      expect(scriptedDns.calls).toBe(1);
      expect(server.connections).toBe(0);
    } finally {
      scriptedDns.answers = [];
    }
  });

  it("opens its connection to the vetted answer without resolving the hostname again", async () => {
    // rebind.example exists in no real DNS: only the scripted answer can lead to the test server.
    scriptedDns.calls = 0;
    scriptedDns.answers = [[{ address: "127.0.0.1", family: 4 }]];
    serve({ body: document });
    const port = new URL(server.url("/")).port;
    try {
      await safeFetch(`${server.scheme}://rebind.example:${port}/doc`, { ...server.relaxations, timeoutMs: 2000 }).catch((error: unknown) => {
        // Over https the test certificate does not name rebind.example: the handshake fails after connecting.
        if (!(error instanceof SsrfError && error.reason === "tls_failed")) throw error;
      });
      expect(scriptedDns.calls).toBe(1);
      expect(server.connections).toBe(1);
    } finally {
      scriptedDns.answers = [];
    }
  });
});

describe(`safeFetch with the development relaxations (${certificate ? "https" : "http"} test server)`, () => {
  const fetchOptions = (extra: SafeFetchOptions = {}): SafeFetchOptions => ({ ...server.relaxations, ...extra });

  it("GETs the document, asking for JSON", async () => {
    serve({ body: document });
    const response = await safeFetch(server.url("/doc?v=1"), fetchOptions());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString("utf8"))).toEqual(document);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: "GET", path: "/doc?v=1" });
    expect(server.requests[0]?.headers.accept).toBe("application/json");
  });

  it.runIf(certificate)("connects to the resolved address but keeps the hostname for SNI and Host", async () => {
    serve({ body: document });
    await safeFetch(server.url("/doc", "localhost"), fetchOptions());
    expect(server.requests[0]?.servername).toBe("localhost");
    expect(server.requests[0]?.headers.host).toBe(new URL(server.url("/doc", "localhost")).host);
  });

  it.runIf(certificate)("verifies the certificate: without the test CA the fetch fails with tls_failed", async () => {
    serve({ body: document });
    const error = await refusal(server.url("/doc"), { allowPrivateAddresses: true });
    expect(error.reason).toBe("tls_failed");
    expect(server.requests).toHaveLength(0);
  });

  it.each([301, 302, 303, 307, 308])("refuses a %i redirect without following it", async (status) => {
    serve((path) => (path === "/doc" ? { status, headers: { location: server.url("/elsewhere") } } : { body: document }));
    const error = await refusal(server.url("/doc"), fetchOptions());
    expect(error.reason).toBe("redirect");
    expect(server.count("/elsewhere")).toBe(0);
  });

  it("refuses a 304 to a request that was not conditional", async () => {
    serve({ status: 304 });
    expect((await refusal(server.url("/doc"), fetchOptions())).reason).toBe("redirect");
  });

  it("accepts a 304 to a conditional request, sending If-None-Match and If-Modified-Since", async () => {
    serve({ status: 304, headers: { etag: '"v1"' } });
    const response = await safeFetch(server.url("/doc"), fetchOptions({ ifNoneMatch: '"v1"', ifModifiedSince: "Wed, 21 Oct 2015 07:28:00 GMT" }));
    expect(response.status).toBe(304);
    expect(server.requests[0]?.headers["if-none-match"]).toBe('"v1"');
    expect(server.requests[0]?.headers["if-modified-since"]).toBe("Wed, 21 Oct 2015 07:28:00 GMT");
  });

  it.each([201, 204, 404, 500])("refuses status %i", async (status) => {
    serve({ status, body: document });
    const error = await refusal(server.url("/doc"), fetchOptions());
    expect(error.reason).toBe("bad_status");
    expect(error.message).toContain(String(status));
  });

  it("refuses a body whose Content-Length is over the cap, before reading it", async () => {
    serve({ body: "x".repeat(6000) });
    const error = await refusal(server.url("/doc"), fetchOptions());
    expect(error.reason).toBe("too_large");
  });

  it("refuses a streamed (chunked) body once it passes the cap", async () => {
    serve({ chunks: Array.from({ length: 10 }, () => "y".repeat(1000)) });
    const error = await refusal(server.url("/doc"), fetchOptions());
    expect(error.reason).toBe("too_large");
  });

  it("accepts a body of exactly maxBytes", async () => {
    serve({ chunks: ["z".repeat(100), "z".repeat(28)] });
    const response = await safeFetch(server.url("/doc"), fetchOptions({ maxBytes: 128 }));
    expect(response.body.length).toBe(128);
  });

  it("honours a smaller maxBytes", async () => {
    serve({ body: "z".repeat(129) });
    expect((await refusal(server.url("/doc"), fetchOptions({ maxBytes: 128 }))).reason).toBe("too_large");
  });

  it("times out on a server that never answers", async () => {
    serve({ hang: true });
    const started = Date.now();
    const error = await refusal(server.url("/doc"), fetchOptions({ timeoutMs: 300 }));
    expect(error.reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("times out on a body that trickles in (the budget covers the whole fetch)", async () => {
    serve({ chunks: ["{", " ", " ", " ", " ", "}"], chunkDelayMs: 150 });
    const error = await refusal(server.url("/doc"), fetchOptions({ timeoutMs: 400 }));
    expect(error.reason).toBe("timeout");
  });

  it("reports a refused connection without a socket dump", async () => {
    const port = await closedPort();
    const error = await refusal(`${server.scheme}://127.0.0.1:${port}/doc`, fetchOptions());
    expect(error.reason).toBe("connection_failed");
    expect(error.message).toBe(`could not fetch from 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it("reports a connection dropped mid-body as connection_failed", async () => {
    const dropping = await droppingServer();
    try {
      const error = await refusal(`http://127.0.0.1:${dropping.port}/doc`, { allowPrivateAddresses: true, allowHttp: true });
      expect(error.reason).toBe("connection_failed");
    } finally {
      await dropping.close();
    }
  });
});


/** A raw TCP server that promises 100 bytes of body, sends 5 and hangs up. */
async function droppingServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const raw = createServer((socket) => {
    socket.once("data", () => {
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"a\":");
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  return { port: (raw.address() as AddressInfo).port, close: () => new Promise((resolve) => raw.close(() => resolve())) };
}
