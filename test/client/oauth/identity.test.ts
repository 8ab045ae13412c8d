/**
 * Who the client is at the authorization server: a Client ID Metadata Document URL where the
 * server supports them, else pre-registered credentials, else dynamic registration.
 *
 * The metadata document is served over https from loopback with a certificate made for the test,
 * which the authorization server is told to trust (`clientMetadataDocuments: { ca }`). The
 * client's rule that a document URL is https stays as it is: no http relaxation on the client.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemoryOAuthProvider, type InMemoryOAuthProviderOptions } from "fastmcp-ts/auth";
import { Client, OAuth } from "fastmcp-ts/client";
import { DocumentServer, makeTestCertificate } from "../../auth/server/document-server.js";
import { recordingFetch, SCOPES, scriptedBrowser, startServer, TOOL, textOf, type McpServer, type WhoAmI } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

type Options = Omit<InMemoryOAuthProviderOptions, "baseUrl">;

function inMemoryServer(options: Options = {}): Promise<McpServer<InMemoryOAuthProvider>> {
  return startServer((baseUrl) => new InMemoryOAuthProvider({ baseUrl, requiredScopes: SCOPES.required, clientRegistration: { validScopes: SCOPES.valid, rateLimit: false }, ...options }));
}

/** Registers a client the way an operator would before handing its credentials out (not counted as the client's). */
async function preRegister(server: McpServer, metadata: Record<string, unknown>): Promise<{ client_id: string; client_secret?: string }> {
  const response = await fetch(`${server.baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: ["http://127.0.0.1/callback"], grant_types: ["authorization_code", "refresh_token"], client_name: "operator", ...metadata }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { client_id: string; client_secret?: string };
}

describe("pre-registered credentials", () => {
  let server: McpServer<InMemoryOAuthProvider>;
  beforeAll(async () => {
    server = await inMemoryServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a confidential client (client_id and secret) is used instead of dynamic registration: no /register, the secret sent with HTTP Basic", async () => {
    const registered = await preRegister(server, { token_endpoint_auth_method: "client_secret_basic" });
    expect(registered.client_secret).toEqual(expect.any(String));
    const registrations = server.registrations;
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ clientId: registered.client_id, clientSecret: registered.client_secret!, openBrowser: browser.openBrowser, fetch: oauthRequests.fetch }) });
    await client.connect();

    expect(server.registrations).toBe(registrations);
    expect(oauthRequests.to("/register")).toHaveLength(0);
    expect(browser.opened[0]!.searchParams.get("client_id")).toBe(registered.client_id);
    const [exchange] = oauthRequests.to("/token", "authorization_code");
    expect(exchange!.authorization).toBe(`Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString("base64")}`);
    expect(exchange!.form!.has("client_secret")).toBe(false);
    expect((JSON.parse(textOf(await client.callTool(TOOL.whoami))) as WhoAmI).clientId).toBe(registered.client_id);
  });

  it("a public client (client_id alone) too: the id in the token request, no secret", async () => {
    const registered = await preRegister(server, { token_endpoint_auth_method: "none" });
    const registrations = server.registrations;
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(server.url, { auth: new OAuth({ clientId: registered.client_id, openBrowser: browser.openBrowser, fetch: oauthRequests.fetch }) });
    await client.connect();
    expect(server.registrations).toBe(registrations);
    const [exchange] = oauthRequests.to("/token", "authorization_code");
    expect(exchange!.form!.get("client_id")).toBe(registered.client_id);
    expect(exchange!.authorization).toBeNull();
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
  });

  it("a wrong secret is a clear error from the token endpoint, and no registration is made to get around it", async () => {
    const registered = await preRegister(server, { token_endpoint_auth_method: "client_secret_basic" });
    const registrations = server.registrations;
    const browser = scriptedBrowser();
    const client = new Client(server.url, { auth: new OAuth({ clientId: registered.client_id, clientSecret: "not-the-secret", openBrowser: browser.openBrowser }) });
    const failure = await client.connect().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/Client authentication failed: unknown client, wrong secret/);
    expect((failure as Error).message).not.toMatch(/\[object Response\]/);
    expect(server.registrations).toBe(registrations);
    await client.close();
  });

  it("a secret needs an id", () => {
    expect(() => new OAuth({ clientSecret: "s" })).toThrow(/clientSecret needs clientId/);
  });
});

const certificate = makeTestCertificate();

describe.skipIf(certificate === undefined)("a Client ID Metadata Document URL", () => {
  let documents: DocumentServer;
  let supporting: McpServer<InMemoryOAuthProvider>;
  let notSupporting: McpServer<InMemoryOAuthProvider>;
  let documentUrl: string;

  beforeAll(async () => {
    documents = await DocumentServer.start(certificate);
    documentUrl = documents.url("/fastmcp-client.json");
    const document = {
      client_id: documentUrl,
      client_name: "fastmcp-ts tests",
      redirect_uris: ["http://127.0.0.1/callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
    documents.reply = (request) => (request.path === "/fastmcp-client.json" ? { status: 200, body: document } : { status: 404 });
    [supporting, notSupporting] = await Promise.all([
      inMemoryServer({ clientMetadataDocuments: { allowPrivateAddresses: true, ca: certificate!.cert } }),
      inMemoryServer({ clientMetadataDocuments: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([supporting?.close(), notSupporting?.close(), documents?.close()]);
  });

  it("is the client_id where the server advertises client_id_metadata_document_supported: no /register, the server fetched the document", async () => {
    const browser = scriptedBrowser();
    const oauthRequests = recordingFetch();
    await using client = new Client(supporting.url, { auth: new OAuth({ clientMetadataUrl: documentUrl, openBrowser: browser.openBrowser, fetch: oauthRequests.fetch }) });
    await client.connect();
    expect(supporting.registrations).toBe(0);
    expect(oauthRequests.to("/register")).toHaveLength(0);
    expect(browser.opened[0]!.searchParams.get("client_id")).toBe(documentUrl);
    expect(documents.count("/fastmcp-client.json")).toBeGreaterThanOrEqual(1);
    expect(oauthRequests.to("/token", "authorization_code")[0]!.form!.get("client_id")).toBe(documentUrl);
    expect((JSON.parse(textOf(await client.callTool(TOOL.whoami))) as WhoAmI).clientId).toBe(documentUrl);
  });

  it("is preferred over pre-registered credentials where the server supports documents; the credentials serve where it does not", async () => {
    const registered = await preRegister(notSupporting, { token_endpoint_auth_method: "none" });
    const both = { clientMetadataUrl: documentUrl, clientId: registered.client_id };

    const browserA = scriptedBrowser();
    await using a = new Client(supporting.url, { auth: new OAuth({ ...both, openBrowser: browserA.openBrowser }) });
    await a.connect();
    expect(browserA.opened[0]!.searchParams.get("client_id")).toBe(documentUrl);

    const browserB = scriptedBrowser();
    const registrations = notSupporting.registrations;
    await using b = new Client(notSupporting.url, { auth: new OAuth({ ...both, openBrowser: browserB.openBrowser }) });
    await b.connect();
    expect(browserB.opened[0]!.searchParams.get("client_id")).toBe(registered.client_id);
    expect(notSupporting.registrations).toBe(registrations);
  });

  it("without credentials, a server that does not support documents gets a dynamic registration", async () => {
    const browser = scriptedBrowser();
    const registrations = notSupporting.registrations;
    await using client = new Client(notSupporting.url, { auth: new OAuth({ clientMetadataUrl: documentUrl, openBrowser: browser.openBrowser }) });
    await client.connect();
    expect(notSupporting.registrations).toBe(registrations + 1);
    expect(browser.opened[0]!.searchParams.get("client_id")).not.toBe(documentUrl);
    expect(textOf(await client.callTool(TOOL.read))).toBe("read ok");
  });

  it("must be an https URL with a path (the client never relaxes this: a document over http could be swapped on the way)", () => {
    expect(() => new OAuth({ clientMetadataUrl: documentUrl.replace("https:", "http:") })).toThrow(/https URL/);
    expect(() => new OAuth({ clientMetadataUrl: "https://client.example/" })).toThrow(/https URL with a path/);
    expect(() => new OAuth({ clientMetadataUrl: "https://client.example/doc.json#frag" })).toThrow(/https URL/);
    expect(() => new OAuth({ clientMetadataUrl: "not a url" })).toThrow(/https URL/);
    expect(() => new OAuth({ clientMetadataUrl: "https://client.example/fastmcp.json" })).not.toThrow();
  });
});
