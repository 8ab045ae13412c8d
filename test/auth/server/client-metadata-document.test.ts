import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ClientMetadataDocumentFetcher,
  ClientMetadataError,
  isClientMetadataDocumentUrl,
  type ClientMetadataDocumentFetcherOptions,
  type ClientMetadataErrorReason,
} from "../../../src/auth/server/clients/metadata-document.js";
import { SsrfError } from "../../../src/auth/server/clients/ssrf.js";
import { DocumentServer, makeTestCertificate, type RecordedRequest, type Reply } from "./document-server.js";

/** Counts DNS lookups (a refused fetch never connects, so its lookup is the attempt to count); answers come from the real resolver. */
const dnsLookups = vi.hoisted(() => ({ hosts: [] as string[] }));
vi.mock("node:dns", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:dns")>();
  const lookup = (host: string, ...rest: unknown[]) => {
    dnsLookups.hosts.push(host);
    return (actual.lookup as (host: string, ...rest: unknown[]) => void)(host, ...rest);
  };
  return { ...actual, lookup };
});

describe("isClientMetadataDocumentUrl", () => {
  it.each([
    "https://app.example.com/oauth/client.json",
    "https://app.example.com/client",
    "https://app.example.com:8443/client.json",
    "https://app.example.com/client.json?version=2",
    "https://app.example.com/clients/",
  ])("%s is one", (clientId) => {
    expect(isClientMetadataDocumentUrl(clientId)).toBe(true);
  });

  it.each([
    ["an opaque client id", "my-client-id"],
    ["a random registered id", "dGhpcyBpcyBhIGNsaWVudCBpZA"],
    ["http", "http://app.example.com/client.json"],
    ["no path", "https://app.example.com"],
    ["the root path", "https://app.example.com/"],
    ["the root path with a query", "https://app.example.com/?client=1"],
    ["a fragment", "https://app.example.com/client.json#x"],
    ["userinfo", "https://user@app.example.com/client.json"],
    ["a dot-dot segment", "https://app.example.com/a/../client.json"],
    ["a dot segment", "https://app.example.com/./client.json"],
    ["an encoded dot-dot segment", "https://app.example.com/a/%2e%2e/client.json"],
    ["no host", "https:///client.json"],
    ["no authority", "https:/app.example.com/client.json"],
    ["whitespace", "https://app.example.com/client.json "],
    ["a control character", "https://app.example.com/\u0000client.json"],
    ["a backslash", "https://app.example.com\\client.json"],
    ["too long", `https://app.example.com/${"a".repeat(2000)}`],
    ["another scheme", "urn:example:client"],
    ["empty", ""],
  ])("%s is not", (_name, clientId) => {
    expect(isClientMetadataDocumentUrl(clientId)).toBe(false);
  });

  it("accepts http only with the allowHttp relaxation", () => {
    expect(isClientMetadataDocumentUrl("http://127.0.0.1:3000/client.json", { allowHttp: true })).toBe(true);
  });

  it("keeps the other rules with allowHttp", () => {
    expect(isClientMetadataDocumentUrl("http://127.0.0.1:3000/", { allowHttp: true })).toBe(false);
  });
});

const certificate = makeTestCertificate();
let server: DocumentServer;
const replies = new Map<string, (request: RecordedRequest) => Reply>();

beforeAll(async () => {
  server = await DocumentServer.start(certificate);
  server.reply = (request) => replies.get(request.path)?.(request) ?? { status: 404 };
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  vi.useRealTimers();
  replies.clear();
  server.requests.length = 0;
  server.connections = 0;
});

let documentCounter = 0;
/** A fresh document path on the test server; its URL is the client_id. */
function documentUrl(): string {
  documentCounter += 1;
  return server.url(`/clients/${documentCounter}.json`);
}

function validDocument(clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: clientId, client_name: "Example MCP Client", redirect_uris: ["http://127.0.0.1:33418/callback"], ...extra };
}

function serveDocument(clientId: string, reply: Reply | ((request: RecordedRequest) => Reply)): void {
  replies.set(new URL(clientId).pathname, typeof reply === "function" ? reply : () => reply);
}

function fetcher(options: ClientMetadataDocumentFetcherOptions = {}): ClientMetadataDocumentFetcher {
  return new ClientMetadataDocumentFetcher({ ...server.relaxations, ...options });
}

function requestsFor(clientId: string): RecordedRequest[] {
  const path = new URL(clientId).pathname;
  return server.requests.filter((request) => request.path === path);
}

async function failure(promise: Promise<unknown>, reason: ClientMetadataErrorReason): Promise<ClientMetadataError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClientMetadataError);
  expect((error as ClientMetadataError).reason).toBe(reason);
  return error as ClientMetadataError;
}

/** Moves the clock the fetcher reads (Date only; timers and sockets keep real time). */
function advanceClock(seconds: number): void {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  vi.setSystemTime(Date.now() + seconds * 1000);
}

describe(`ClientMetadataDocumentFetcher: the document (${certificate ? "https" : "http"} test server)`, () => {
  it("returns the document's client: its metadata, client_id = URL, public, marked as a metadata document", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, {
      body: validDocument(clientId, {
        client_uri: "https://app.example.com",
        logo_uri: "https://app.example.com/logo.png",
        scope: "read write",
        grant_types: ["authorization_code", "refresh_token"],
        token_endpoint_auth_method: "none",
        software_id: "example-client",
        jwks_uri: "https://app.example.com/jwks.json",
      }),
    });
    const client = await fetcher().get(clientId);
    expect(client).toEqual({
      client_id: clientId,
      client_name: "Example MCP Client",
      redirect_uris: ["http://127.0.0.1:33418/callback"],
      client_uri: "https://app.example.com",
      logo_uri: "https://app.example.com/logo.png",
      scope: "read write",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
      software_id: "example-client",
      metadata_document: true,
    });
    expect(requestsFor(clientId)[0]?.headers.accept).toBe("application/json");
  });

  it("treats a document without token_endpoint_auth_method as a public client", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId) });
    expect((await fetcher().get(clientId)).token_endpoint_auth_method).toBe("none");
  });

  it("keeps private-use redirect URIs of native apps", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId, { redirect_uris: ["cursor://anysphere.cursor-retrieval/oauth/callback"] }) });
    expect((await fetcher().get(clientId)).redirect_uris).toEqual(["cursor://anysphere.cursor-retrieval/oauth/callback"]);
  });

  it.each([
    ["an opaque client id", () => "my-client-id"],
    ["the server's root URL", () => server.url("/")],
    ["a URL with a fragment", () => server.url("/client.json#x")],
  ])("refuses %s as a client_id without fetching", async (_name, clientId) => {
    await failure(fetcher().get(clientId()), "invalid_client_id");
    expect(server.connections).toBe(0);
  });

  it("refuses a loopback document without allowPrivateAddresses, before connecting", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId) });
    const error = await failure(new ClientMetadataDocumentFetcher({ ca: server.certificate?.cert, allowHttp: !server.certificate }).get(clientId), "fetch_failed");
    expect(error.cause).toBeInstanceOf(SsrfError);
    expect((error.cause as SsrfError).reason).toBe("blocked_address");
    expect(server.connections).toBe(0);
  });

  it("refuses a document served with a redirect", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { status: 302, headers: { location: server.url("/elsewhere.json") } });
    const error = await failure(fetcher().get(clientId), "fetch_failed");
    expect((error.cause as SsrfError).reason).toBe("redirect");
  });

  it("refuses a document over maxBytes (5 KiB by default)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId, { padding: "p".repeat(6000) }) });
    const error = await failure(fetcher().get(clientId), "fetch_failed");
    expect((error.cause as SsrfError).reason).toBe("too_large");
  });

  it("refuses a document from a server that answers 404", async () => {
    const clientId = documentUrl();
    const error = await failure(fetcher().get(clientId), "fetch_failed");
    expect((error.cause as SsrfError).reason).toBe("bad_status");
  });

  it("refuses a slow server (timeout)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { hang: true });
    const error = await failure(fetcher({ timeoutMs: 300 }).get(clientId), "fetch_failed");
    expect((error.cause as SsrfError).reason).toBe("timeout");
  });

  it("refuses a body that is not JSON", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: "<html>not json</html>", headers: { "content-type": "text/html" } });
    await failure(fetcher().get(clientId), "not_json");
  });

  it("refuses a body that is not UTF-8", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { chunks: [Buffer.from('{"client_name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')] });
    await failure(fetcher().get(clientId), "not_json");
  });

  it.each([
    ["a JSON array", (clientId: string) => [validDocument(clientId)]],
    ["a JSON string", () => "client"],
    ["JSON null", () => null],
  ])("refuses %s", async (_name, body) => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: JSON.stringify(body(clientId)) });
    await failure(fetcher().get(clientId), "invalid_document");
  });

  it("refuses a document whose client_id is another URL", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument("https://other.example.com/client.json") });
    const error = await failure(fetcher().get(clientId), "client_id_mismatch");
    expect(error.message).toContain("https://other.example.com/client.json");
  });

  it("refuses a client_id that differs only by a trailing slash (the match is exact)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(`${clientId}/`) });
    await failure(fetcher().get(clientId), "client_id_mismatch");
  });

  it("refuses a client_id that differs only in case", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId.toUpperCase()) });
    await failure(fetcher().get(clientId), "client_id_mismatch");
  });

  it.each<[string, (clientId: string) => Record<string, unknown>, ClientMetadataErrorReason, string]>([
    ["a missing client_id", (id) => { const { client_id: _, ...rest } = validDocument(id); return rest; }, "invalid_document", "client_id is required"],
    ["a client_id that is not a string", (id) => validDocument(id, { client_id: 1 }), "invalid_document", "client_id is required"],
    ["a missing client_name", (id) => { const { client_name: _, ...rest } = validDocument(id); return rest; }, "invalid_document", "client_name is required"],
    ["an empty client_name", (id) => validDocument(id, { client_name: "" }), "invalid_document", "client_name is required"],
    ["missing redirect_uris", (id) => { const { redirect_uris: _, ...rest } = validDocument(id); return rest; }, "invalid_document", "redirect_uris is required"],
    ["empty redirect_uris", (id) => validDocument(id, { redirect_uris: [] }), "invalid_document", "redirect_uris"],
    ["a client_name over 200 characters", (id) => validDocument(id, { client_name: "n".repeat(201) }), "invalid_document", "client_name"],
    ["an unsupported grant type", (id) => validDocument(id, { grant_types: ["client_credentials"] }), "invalid_document", "grant_types"],
    ["a javascript: logo_uri", (id) => validDocument(id, { logo_uri: "javascript:alert(1)" }), "invalid_document", "logo_uri"],
    ["client_secret_basic", (id) => validDocument(id, { token_endpoint_auth_method: "client_secret_basic" }), "unsupported_auth_method", "shared secret"],
    ["client_secret_post", (id) => validDocument(id, { token_endpoint_auth_method: "client_secret_post" }), "unsupported_auth_method", "shared secret"],
    ["client_secret_jwt", (id) => validDocument(id, { token_endpoint_auth_method: "client_secret_jwt" }), "unsupported_auth_method", "shared secret"],
    ["private_key_jwt", (id) => validDocument(id, { token_endpoint_auth_method: "private_key_jwt" }), "unsupported_auth_method", "private_key_jwt is not supported"],
    ["an unknown auth method", (id) => validDocument(id, { token_endpoint_auth_method: "tls_client_auth" }), "unsupported_auth_method", "tls_client_auth"],
    ["a javascript: redirect URI", (id) => validDocument(id, { redirect_uris: ["javascript:alert(1)"] }), "invalid_redirect_uri", "forbidden scheme"],
    ["an http redirect URI to a remote host", (id) => validDocument(id, { redirect_uris: ["http://evil.example/cb"] }), "invalid_redirect_uri", "not loopback"],
    ["a redirect URI with a fragment", (id) => validDocument(id, { redirect_uris: ["https://app.example.com/cb#x"] }), "invalid_redirect_uri", "fragment"],
    ["a wildcard redirect URI", (id) => validDocument(id, { redirect_uris: ["http://localhost:*/callback"] }), "invalid_redirect_uri", "localhost:*"],
    ["a loopback redirect URI for a web application", (id) => validDocument(id, { application_type: "web" }), "invalid_redirect_uri", "web application"],
  ])("refuses %s", async (_name, body, reason, mentions) => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: body(clientId) });
    const error = await failure(fetcher().get(clientId), reason);
    expect(error.message).toContain(mentions);
  });

  it("returns copies: changing a returned client does not change the cached one", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId) });
    const documents = fetcher();
    const first = await documents.get(clientId);
    first.redirect_uris.push("https://evil.example/cb");
    expect((await documents.get(clientId)).redirect_uris).toEqual(["http://127.0.0.1:33418/callback"]);
  });
});

describe(`ClientMetadataDocumentFetcher: HTTP caching (${certificate ? "https" : "http"} test server)`, () => {
  it("caches for the default lifetime when the server sends no caching headers", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId) });
    const documents = fetcher({ defaultCacheSeconds: 60 });
    await documents.get(clientId);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(1);
    advanceClock(61);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("honours Cache-Control: max-age (a hit makes no request; expiry refetches)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { "cache-control": "public, max-age=120" } });
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(119);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(1);
    advanceClock(2);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("caps max-age at maxCacheSeconds", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { "cache-control": "max-age=31536000" } });
    const documents = fetcher({ maxCacheSeconds: 100 });
    await documents.get(clientId);
    advanceClock(101);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("subtracts Age from max-age", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { "cache-control": "max-age=100", age: "90" } });
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(11);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("does not store a no-store document: every get fetches", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { "cache-control": "no-store", etag: '"v1"' } });
    const documents = fetcher();
    await documents.get(clientId);
    await documents.get(clientId);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(3);
    expect(requestsFor(clientId).every((request) => request.headers["if-none-match"] === undefined)).toBe(true);
  });

  it("revalidates a no-cache document on every get, with If-None-Match", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, (request): Reply =>
      request.headers["if-none-match"] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { body: validDocument(clientId), headers: { "cache-control": "no-cache", etag: '"v1"' } },
    );
    const documents = fetcher();
    const first = await documents.get(clientId);
    const second = await documents.get(clientId);
    const third = await documents.get(clientId);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    const requests = requestsFor(clientId);
    expect(requests).toHaveLength(3);
    expect(requests.map((request) => request.headers["if-none-match"])).toEqual([undefined, '"v1"', '"v1"']);
  });

  it("revalidates an expired document with its ETag; a 304 keeps it and refreshes its lifetime", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, (request): Reply =>
      request.headers["if-none-match"] === '"v1"' ? { status: 304 } : { body: validDocument(clientId), headers: { "cache-control": "max-age=60", etag: '"v1"' } },
    );
    const documents = fetcher();
    const first = await documents.get(clientId);
    advanceClock(61);
    expect(await documents.get(clientId)).toEqual(first);
    expect(requestsFor(clientId).map((request) => request.headers["if-none-match"])).toEqual([undefined, '"v1"']);
    advanceClock(59);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
    advanceClock(2);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(3);
  });

  it("takes the lifetime a 304 announces", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, (request): Reply =>
      request.headers["if-none-match"] ? { status: 304, headers: { "cache-control": "max-age=600" } } : { body: validDocument(clientId), headers: { "cache-control": "max-age=10", etag: '"v1"' } },
    );
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(11);
    await documents.get(clientId);
    advanceClock(500);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("revalidates with If-Modified-Since when the document had a Last-Modified", async () => {
    const lastModified = "Wed, 21 Oct 2025 07:28:00 GMT";
    const clientId = documentUrl();
    serveDocument(clientId, (request): Reply =>
      request.headers["if-modified-since"] === lastModified ? { status: 304 } : { body: validDocument(clientId), headers: { "cache-control": "max-age=5", "last-modified": lastModified } },
    );
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(6);
    await documents.get(clientId);
    const requests = requestsFor(clientId);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.headers["if-modified-since"]).toBe(lastModified);
  });

  it("uses a new document when revalidation answers 200", async () => {
    const clientId = documentUrl();
    let version = 1;
    serveDocument(clientId, () => ({ body: validDocument(clientId, { client_name: `Version ${version}` }), headers: { "cache-control": "max-age=5", etag: `"v${version}"` } }));
    const documents = fetcher();
    expect((await documents.get(clientId)).client_name).toBe("Version 1");
    version = 2;
    advanceClock(6);
    expect((await documents.get(clientId)).client_name).toBe("Version 2");
    expect(requestsFor(clientId)[1]?.headers["if-none-match"]).toBe('"v1"');
  });

  it("honours Expires when there is no max-age", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, () => ({ body: validDocument(clientId), headers: { expires: new Date(Date.now() + 300_000).toUTCString() } }));
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(290);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(1);
    advanceClock(20);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("does not cache a document whose Expires is in the past (and has nothing to revalidate with)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { expires: "Thu, 01 Jan 1970 00:00:00 GMT" } });
    const documents = fetcher();
    await documents.get(clientId);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("keeps a Cache-Control: private document (this cache is private to the server)", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), headers: { "cache-control": "private, max-age=120" } });
    const documents = fetcher();
    await documents.get(clientId);
    advanceClock(119);
    await documents.get(clientId);
    expect(requestsFor(clientId)).toHaveLength(1);
  });

  it("does not serve a stale document on stale-if-error: a failed refetch fails", async () => {
    const clientId = documentUrl();
    let healthy = true;
    serveDocument(clientId, () => (healthy ? { body: validDocument(clientId), headers: { "cache-control": "max-age=5, stale-if-error=600", etag: '"v1"' } } : { status: 503 }));
    const documents = fetcher();
    await documents.get(clientId);
    healthy = false;
    advanceClock(6);
    await failure(documents.get(clientId), "fetch_failed");
  });

  it("does not serve a stale document on stale-while-revalidate: it waits for the refetch", async () => {
    const clientId = documentUrl();
    let version = 1;
    serveDocument(clientId, () => ({ body: validDocument(clientId, { client_name: `Version ${version}` }), headers: { "cache-control": "max-age=5, stale-while-revalidate=600" } }));
    const documents = fetcher();
    await documents.get(clientId);
    version = 2;
    advanceClock(6);
    expect((await documents.get(clientId)).client_name).toBe("Version 2");
  });

  it("uses the cached document once after a 304 that names another ETag, then fetches it whole", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, (request): Reply =>
      request.headers["if-none-match"] ? { status: 304, headers: { etag: '"other"' } } : { body: validDocument(clientId), headers: { "cache-control": "max-age=5", etag: '"v1"' } },
    );
    const documents = fetcher();
    const first = await documents.get(clientId);
    advanceClock(6);
    expect(await documents.get(clientId)).toEqual(first);
    await documents.get(clientId);
    expect(requestsFor(clientId).map((request) => request.headers["if-none-match"])).toEqual([undefined, '"v1"', undefined]);
  });

  it("fails instead of serving a stale document when the refetch fails, and recovers when the server does (after the failure's period)", async () => {
    const clientId = documentUrl();
    let healthy = true;
    serveDocument(clientId, () => (healthy ? { body: validDocument(clientId), headers: { "cache-control": "max-age=5", etag: '"v1"' } } : { status: 503 }));
    const documents = fetcher({ failureCacheSeconds: 30 });
    await documents.get(clientId);
    healthy = false;
    advanceClock(6);
    await failure(documents.get(clientId), "fetch_failed");
    healthy = true;
    await failure(documents.get(clientId), "fetch_failed");
    advanceClock(31);
    await expect(documents.get(clientId)).resolves.toMatchObject({ client_id: clientId });
    expect(requestsFor(clientId)).toHaveLength(3);
    expect(requestsFor(clientId)[2]?.headers["if-none-match"]).toBeUndefined();
  });

  it("drops a cached document that became invalid", async () => {
    const clientId = documentUrl();
    let body = validDocument(clientId);
    serveDocument(clientId, () => ({ body, headers: { "cache-control": "max-age=5" } }));
    const documents = fetcher({ failureCacheSeconds: 0 });
    await documents.get(clientId);
    body = validDocument("https://other.example.com/client.json");
    advanceClock(6);
    await failure(documents.get(clientId), "client_id_mismatch");
    await failure(documents.get(clientId), "client_id_mismatch");
    expect(requestsFor(clientId)).toHaveLength(3);
  });

  it("keeps at most cacheSize documents, dropping the least recently used", async () => {
    const [a, b, c] = [documentUrl(), documentUrl(), documentUrl()] as const;
    for (const clientId of [a, b, c]) serveDocument(clientId, { body: validDocument(clientId) });
    const documents = fetcher({ cacheSize: 2 });
    await documents.get(a);
    await documents.get(b);
    await documents.get(a); // a is now the most recently used
    await documents.get(c); // evicts b
    await documents.get(a);
    expect(requestsFor(a)).toHaveLength(1);
    await documents.get(b);
    expect(requestsFor(b)).toHaveLength(2);
    expect(requestsFor(c)).toHaveLength(1);
  });

  it("shares one fetch between concurrent gets of the same URL", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument(clientId), delayMs: 150 });
    const documents = fetcher();
    const clients = await Promise.all(Array.from({ length: 5 }, () => documents.get(clientId)));
    expect(requestsFor(clientId)).toHaveLength(1);
    expect(new Set(clients.map((client) => client.client_id))).toEqual(new Set([clientId]));
  });

  it("shares one failing fetch between concurrent gets, and tries again once the failure's period is over", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { status: 500, delayMs: 100 });
    const documents = fetcher({ failureCacheSeconds: 10 });
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => documents.get(clientId)));
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(requestsFor(clientId)).toHaveLength(1);
    advanceClock(11);
    await documents.get(clientId).catch(() => undefined);
    expect(requestsFor(clientId)).toHaveLength(2);
  });

  it("fetches different URLs separately", async () => {
    const [a, b] = [documentUrl(), documentUrl()] as const;
    serveDocument(a, { body: validDocument(a), delayMs: 50 });
    serveDocument(b, { body: validDocument(b), delayMs: 50 });
    const documents = fetcher();
    const [clientA, clientB] = await Promise.all([documents.get(a), documents.get(b)]);
    expect(clientA.client_id).toBe(a);
    expect(clientB.client_id).toBe(b);
  });
});

describe(`ClientMetadataDocumentFetcher: failures are cached and reported once per period (${certificate ? "https" : "http"} test server)`, () => {
  /** A fetcher that reports into `reports`. */
  function reportingFetcher(options: ClientMetadataDocumentFetcherOptions = {}): { documents: ClientMetadataDocumentFetcher; reports: unknown[] } {
    const reports: unknown[] = [];
    return { documents: fetcher({ report: (error) => reports.push(error), ...options }), reports };
  }

  /** The test server through `localhost`, which resolves to loopback: refused without allowPrivateAddresses. */
  function refusedUrl(): string {
    return documentUrl().replace("//127.0.0.1:", "//localhost:");
  }

  const strictOptions = (): ClientMetadataDocumentFetcherOptions => ({ allowPrivateAddresses: false, ...(server.certificate ? { ca: server.certificate.cert } : { allowHttp: true }) });
  const lookupsOf = (host: string) => dnsLookups.hosts.filter((looked) => looked === host).length;

  it("N gets of a URL the SSRF guard refuses make one attempt and one report; after failureCacheSeconds, one new attempt and one report counting the others", async () => {
    const clientId = refusedUrl();
    const { documents, reports } = reportingFetcher({ ...strictOptions(), failureCacheSeconds: 60 });
    dnsLookups.hosts.length = 0;
    const errors: ClientMetadataError[] = [];
    for (let i = 0; i < 25; i += 1) errors.push(await failure(documents.get(clientId), "fetch_failed"));
    expect(lookupsOf("localhost")).toBe(1);
    expect(reports).toEqual([errors[0]]);
    expect(new Set(errors).size).toBe(1);
    expect((errors[0]?.cause as SsrfError).reason).toBe("blocked_address");

    advanceClock(59);
    await failure(documents.get(clientId), "fetch_failed");
    expect(lookupsOf("localhost")).toBe(1);
    expect(reports).toHaveLength(1);

    advanceClock(2);
    const again = await failure(documents.get(clientId), "fetch_failed");
    expect(again).not.toBe(errors[0]);
    expect(lookupsOf("localhost")).toBe(2);
    expect(reports).toHaveLength(2);
    const second = reports[1] as ClientMetadataError;
    expect(second).toBeInstanceOf(ClientMetadataError);
    expect(second.reason).toBe("fetch_failed");
    expect(second.message).toContain(again.message);
    expect(second.message).toContain("25 more");
    expect(server.connections).toBe(0);
  });

  it("rethrows a cached failure as the same ClientMetadataError, whatever its reason, without fetching", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { body: validDocument("https://other.example.com/client.json") });
    const { documents, reports } = reportingFetcher();
    const first = await failure(documents.get(clientId), "client_id_mismatch");
    serveDocument(clientId, { body: validDocument(clientId) });
    expect(await failure(documents.get(clientId), "client_id_mismatch")).toBe(first);
    expect(requestsFor(clientId)).toHaveLength(1);
    expect(reports).toEqual([first]);
  });

  it("keeps a failure for 60 s by default", async () => {
    const clientId = documentUrl();
    const { documents, reports } = reportingFetcher();
    await failure(documents.get(clientId), "fetch_failed");
    serveDocument(clientId, { body: validDocument(clientId) });
    advanceClock(59);
    await failure(documents.get(clientId), "fetch_failed");
    expect(requestsFor(clientId)).toHaveLength(1);
    advanceClock(2);
    await expect(documents.get(clientId)).resolves.toMatchObject({ client_id: clientId });
    expect(requestsFor(clientId)).toHaveLength(2);
    expect(reports).toHaveLength(1);
  });

  it("with failureCacheSeconds 0 keeps no failure: every get fetches and every failure is reported", async () => {
    const clientId = documentUrl();
    const { documents, reports } = reportingFetcher({ failureCacheSeconds: 0 });
    for (let i = 0; i < 3; i += 1) await failure(documents.get(clientId), "fetch_failed");
    expect(requestsFor(clientId)).toHaveLength(3);
    expect(reports).toHaveLength(3);
    expect((reports as Error[]).every((report) => !report.message.includes("more"))).toBe(true);
  });

  it("reports a failing fetch shared by concurrent gets once", async () => {
    const clientId = documentUrl();
    serveDocument(clientId, { status: 500, delayMs: 100 });
    const { documents, reports } = reportingFetcher();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => documents.get(clientId)));
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(requestsFor(clientId)).toHaveLength(1);
    expect(reports).toHaveLength(1);
  });

  it("keeps and reports each URL's failure separately", async () => {
    const [a, b] = [documentUrl(), documentUrl()] as const;
    const { documents, reports } = reportingFetcher();
    await failure(documents.get(a), "fetch_failed");
    await failure(documents.get(b), "fetch_failed");
    await failure(documents.get(a), "fetch_failed");
    await failure(documents.get(b), "fetch_failed");
    expect(requestsFor(a)).toHaveLength(1);
    expect(requestsFor(b)).toHaveLength(1);
    expect((reports as Error[]).map((report) => report.message)).toEqual([expect.stringContaining(a), expect.stringContaining(b)]);
  });

  it("keeps at most cacheSize failures, dropping the least recently used", async () => {
    const [a, b, c] = [documentUrl(), documentUrl(), documentUrl()] as const;
    const { documents, reports } = reportingFetcher({ cacheSize: 2 });
    await failure(documents.get(a), "fetch_failed");
    await failure(documents.get(b), "fetch_failed");
    await failure(documents.get(a), "fetch_failed"); // a is now the most recently used
    await failure(documents.get(c), "fetch_failed"); // drops b
    await failure(documents.get(a), "fetch_failed");
    expect(requestsFor(a)).toHaveLength(1);
    await failure(documents.get(b), "fetch_failed");
    expect(requestsFor(b)).toHaveLength(2);
    expect(requestsFor(c)).toHaveLength(1);
    expect(reports).toHaveLength(4);
  });

  it("forgets a failure once the document works again: its next failure is reported on its own", async () => {
    const clientId = documentUrl();
    let healthy = false;
    serveDocument(clientId, () => (healthy ? { body: validDocument(clientId), headers: { "cache-control": "max-age=5" } } : { status: 503 }));
    const { documents, reports } = reportingFetcher({ failureCacheSeconds: 10 });
    await failure(documents.get(clientId), "fetch_failed");
    await failure(documents.get(clientId), "fetch_failed");
    healthy = true;
    advanceClock(11);
    await documents.get(clientId);
    healthy = false;
    advanceClock(6);
    await failure(documents.get(clientId), "fetch_failed");
    expect(requestsFor(clientId)).toHaveLength(3);
    expect(reports).toHaveLength(2);
    expect((reports[1] as Error).message).not.toContain("more");
  });

  it("reports nothing for a client_id that is not a document URL (nothing was fetched)", async () => {
    const { documents, reports } = reportingFetcher();
    await failure(documents.get("my-client-id"), "invalid_client_id");
    expect(reports).toEqual([]);
  });

  it("a report hook that throws does not change what get throws", async () => {
    const clientId = documentUrl();
    const documents = fetcher({
      report: () => {
        throw new Error("the log is full");
      },
    });
    await failure(documents.get(clientId), "fetch_failed");
  });
});
