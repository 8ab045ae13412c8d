import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthConfigurationError, IntrospectionTokenVerifier, type IntrospectionTokenVerifierOptions } from "fastmcp-ts/auth";
import { errorSink, eventually, nowSeconds, sleep, TestEndpoint, withoutAuthEnvironment, type RecordedRequest, type Reply } from "./helpers.js";

withoutAuthEnvironment();

// Alphanumeric on purpose: client_secret_basic form-encodes credentials first (see the RFC 6749 test).
const CLIENT_ID = "mcpserver";
const CLIENT_SECRET = "s3cretValue";
const AUDIENCE = "https://mcp.test/mcp";

const endpoints: TestEndpoint[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
});

/** An RFC 7662 endpoint at /introspect answering `reply` for every token. */
async function introspectionEndpoint(reply: (token: string, request: RecordedRequest) => Reply | Promise<Reply>): Promise<TestEndpoint> {
  const endpoint = await TestEndpoint.start();
  endpoints.push(endpoint);
  endpoint.reply = (request) => (request.path === "/introspect" ? reply(new URLSearchParams(request.body).get("token") ?? "", request) : { status: 404 });
  return endpoint;
}

const active = (fields: Record<string, unknown> = {}): Reply => ({
  body: { active: true, client_id: "client-app", sub: "alice", scope: "read write", exp: nowSeconds() + 3600, ...fields },
});

function verifierFor(endpoint: TestEndpoint, options: Partial<IntrospectionTokenVerifierOptions> = {}): IntrospectionTokenVerifier {
  return new IntrospectionTokenVerifier({ introspectionUrl: endpoint.url("/introspect"), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, onError: () => undefined, ...options });
}

const formOf = (request: RecordedRequest): Record<string, string> => Object.fromEntries(new URLSearchParams(request.body));

describe("IntrospectionTokenVerifier: what the endpoint receives", () => {
  it("client_secret_basic (the default): an Authorization header, no secret in the form", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    await verifierFor(endpoint).verifyToken("opaque-token-1");
    const [request] = endpoint.requests;
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request!.headers.accept).toContain("application/json");
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`);
    expect(formOf(request!)).toEqual({ token: "opaque-token-1", token_type_hint: "access_token" });
  });

  it("client_secret_basic form-encodes credentials before base64 (RFC 6749 §2.3.1)", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    await verifierFor(endpoint, { clientId: "id:with colon", clientSecret: "p@ss+word/ü" }).verifyToken("t");
    const encoded = endpoint.requests[0]!.headers.authorization!.replace(/^Basic /, "");
    const [user, password] = Buffer.from(encoded, "base64").toString("utf8").split(":");
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, " "));
    expect([formDecode(user!), formDecode(password!)]).toEqual(["id:with colon", "p@ss+word/ü"]);
  });

  it("client_secret_post: credentials in the form, no Authorization header", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    await verifierFor(endpoint, { clientAuthMethod: "client_secret_post" }).verifyToken("opaque-token-2");
    const [request] = endpoint.requests;
    expect(request!.headers.authorization).toBeUndefined();
    expect(formOf(request!)).toEqual({ token: "opaque-token-2", token_type_hint: "access_token", client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
  });

  it("the token is sent verbatim, even with characters that need form encoding", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const token = "a+b/c=d&e=f g";
    await verifierFor(endpoint).verifyToken(token);
    expect(formOf(endpoint.requests[0]!).token).toBe(token);
  });
});

describe("IntrospectionTokenVerifier: responses", () => {
  it("an active token becomes an AccessToken (scopes, clientId, subject, expiresAt, resource, claims), frozen", async () => {
    const exp = nowSeconds() + 1800;
    const endpoint = await introspectionEndpoint(() => active({ exp, aud: AUDIENCE, iss: "https://as.test", username: "alice@example.com" }));
    const result = await verifierFor(endpoint).verifyToken("good");
    expect(result).toMatchObject({ token: "good", clientId: "client-app", subject: "alice", scopes: ["read", "write"], expiresAt: exp, resource: AUDIENCE });
    expect(result!.claims).toMatchObject({ active: true, client_id: "client-app", username: "alice@example.com", iss: "https://as.test" });
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result!.claims)).toBe(true);
    expect(() => { (result!.scopes as string[]).push("admin"); }).toThrow(TypeError);
  });

  it("scopes: extra whitespace, a list, none", async () => {
    let fields: Record<string, unknown> = {};
    const endpoint = await introspectionEndpoint(() => ({ body: { active: true, ...fields } }));
    const verifier = verifierFor(endpoint);
    fields = { scope: "  read\t write  " };
    expect((await verifier.verifyToken("t1"))!.scopes).toEqual(["read", "write"]);
    fields = { scope: ["read", "admin"] };
    expect((await verifier.verifyToken("t2"))!.scopes).toEqual(["read", "admin"]);
    fields = {};
    expect((await verifier.verifyToken("t3"))!.scopes).toEqual([]);
  });

  it("clientId falls back to sub, then \"unknown\"; no exp means no expiresAt", async () => {
    let fields: Record<string, unknown> = {};
    const endpoint = await introspectionEndpoint(() => ({ body: { active: true, ...fields } }));
    const verifier = verifierFor(endpoint);
    fields = { sub: "alice" };
    const fromSub = await verifier.verifyToken("t1");
    expect(fromSub!.clientId).toBe("alice");
    expect(fromSub!.expiresAt).toBeUndefined();
    fields = {};
    expect((await verifier.verifyToken("t2"))!.clientId).toBe("unknown");
  });

  it("inactive → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ body: { active: false } }));
    await expect(verifierFor(endpoint).verifyToken("revoked")).resolves.toBeNull();
  });

  it("active missing or not a boolean → null", async () => {
    const endpoint = await introspectionEndpoint((token) => ({ body: token === "missing" ? { sub: "alice", scope: "read" } : { active: "true", sub: "alice" } }));
    const verifier = verifierFor(endpoint);
    await expect(verifier.verifyToken("missing")).resolves.toBeNull();
    await expect(verifier.verifyToken("string")).resolves.toBeNull();
  });

  it("exp in the past → null", async () => {
    const endpoint = await introspectionEndpoint(() => active({ exp: nowSeconds() - 5 }));
    await expect(verifierFor(endpoint).verifyToken("stale")).resolves.toBeNull();
  });

  it("nbf in the future → null", async () => {
    const endpoint = await introspectionEndpoint(() => active({ nbf: nowSeconds() + 600 }));
    await expect(verifierFor(endpoint).verifyToken("early")).resolves.toBeNull();
  });

  it.each([400, 401, 403, 404, 500, 503])("HTTP %i → null", async (status) => {
    const endpoint = await introspectionEndpoint(() => ({ status, body: { active: true, sub: "alice" } }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
  });

  it("401 with a WWW-Authenticate challenge (bad client credentials) → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ status: 401, headers: { "www-authenticate": 'Basic realm="as"' }, body: { error: "invalid_client" } }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
  });

  it("a redirect is not followed → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ status: 302, headers: { location: "/elsewhere" } }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
    expect(endpoint.count("/elsewhere")).toBe(0);
  });

  it("invalid JSON → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ headers: { "content-type": "application/json" }, body: "{active: true" }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
  });

  it("JSON that is not an object → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ body: [{ active: true }] }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
  });

  it("endpoint down (connection refused) → null without throwing, reported", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    await endpoint.close();
    const sink = errorSink();
    await expect(verifierFor(endpoint, { onError: sink.onError }).verifyToken("t")).resolves.toBeNull();
    expect(sink.errors).toHaveLength(1);
  });

  it("connection dropped mid-request → null", async () => {
    const endpoint = await introspectionEndpoint(() => ({ reset: true }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.toBeNull();
  });

  it("endpoint hanging → null after timeoutSeconds, reported", async () => {
    const endpoint = await introspectionEndpoint(() => ({ hang: true }));
    const sink = errorSink();
    const started = Date.now();
    await expect(verifierFor(endpoint, { timeoutSeconds: 0.2, onError: sink.onError }).verifyToken("t")).resolves.toBeNull();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(5_000);
    expect(sink.errors).toHaveLength(1);
  });

  it("a slow answer within timeoutSeconds is accepted", async () => {
    const endpoint = await introspectionEndpoint(() => ({ ...active(), delayMs: 100 }));
    await expect(verifierFor(endpoint, { timeoutSeconds: 5 }).verifyToken("t")).resolves.not.toBeNull();
  });

  it("empty, whitespace-free-but-huge tokens are refused without asking the endpoint", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const verifier = verifierFor(endpoint);
    await expect(verifier.verifyToken("")).resolves.toBeNull();
    await expect(verifier.verifyToken("x".repeat(20_000))).resolves.toBeNull();
    expect(endpoint.count()).toBe(0);
  });
});

describe("IntrospectionTokenVerifier: audience", () => {
  it("accepts a matching aud (string or list), refuses another or a missing one", async () => {
    let aud: unknown;
    const endpoint = await introspectionEndpoint(() => active(aud === undefined ? {} : { aud }));
    const verifier = verifierFor(endpoint, { audience: AUDIENCE });
    aud = AUDIENCE;
    await expect(verifier.verifyToken("t1")).resolves.not.toBeNull();
    aud = ["https://other.test", AUDIENCE];
    await expect(verifier.verifyToken("t2")).resolves.not.toBeNull();
    aud = "https://other.test";
    await expect(verifier.verifyToken("t3")).resolves.toBeNull();
    aud = undefined;
    await expect(verifier.verifyToken("t4")).resolves.toBeNull();
  });

  it("an audience list accepts any of its members", async () => {
    const endpoint = await introspectionEndpoint(() => active({ aud: "api://b" }));
    await expect(verifierFor(endpoint, { audience: ["api://a", "api://b"] }).verifyToken("t")).resolves.not.toBeNull();
    await expect(verifierFor(endpoint, { audience: ["api://a", "api://c"] }).verifyToken("t")).resolves.toBeNull();
  });

  it("without a configured audience, any aud is accepted", async () => {
    const endpoint = await introspectionEndpoint(() => active({ aud: "https://whatever.test" }));
    await expect(verifierFor(endpoint).verifyToken("t")).resolves.not.toBeNull();
  });
});

describe("IntrospectionTokenVerifier: cache", () => {
  it("is off by default: every call hits the endpoint", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const verifier = verifierFor(endpoint);
    for (let i = 0; i < 3; i++) await expect(verifier.verifyToken("same")).resolves.not.toBeNull();
    expect(endpoint.count("/introspect")).toBe(3);
  });

  it("cacheTtlSeconds: 0 keeps it off", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 0 });
    await verifier.verifyToken("same");
    await verifier.verifyToken("same");
    expect(endpoint.count()).toBe(2);
  });

  it("with cacheTtlSeconds, a second call does not hit the endpoint; other tokens are separate entries", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 60 });
    const first = await verifier.verifyToken("cached");
    const second = await verifier.verifyToken("cached");
    expect(second).toEqual(first);
    expect(endpoint.count()).toBe(1);
    await verifier.verifyToken("another");
    expect(endpoint.count()).toBe(2);
  });

  it("an entry ends after the TTL", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 0.5 });
    const started = Date.now();
    await verifier.verifyToken("t");
    await verifier.verifyToken("t");
    if (Date.now() - started < 450) expect(endpoint.count()).toBe(1);
    await sleep(700);
    const before = endpoint.count();
    await verifier.verifyToken("t");
    expect(endpoint.count()).toBe(before + 1);
  });

  it("an entry ends at the token's exp even when the TTL is longer", async () => {
    const exp = nowSeconds() + 2;
    const endpoint = await introspectionEndpoint(() => active({ exp }));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 3600 });
    await expect(verifier.verifyToken("short-lived")).resolves.not.toBeNull();
    await expect(verifier.verifyToken("short-lived")).resolves.not.toBeNull();
    expect(endpoint.count()).toBe(1);

    await sleep(exp * 1000 - Date.now() + 100);
    await expect(verifier.verifyToken("short-lived")).resolves.toBeNull();
    expect(endpoint.count()).toBe(2);
  });

  it("inactive results are never cached", async () => {
    let isActive = false;
    const endpoint = await introspectionEndpoint(() => (isActive ? active() : { body: { active: false } }));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 60 });
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    expect(endpoint.count()).toBe(2);
    isActive = true;
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
  });

  it("HTTP errors are never cached", async () => {
    let failing = true;
    const endpoint = await introspectionEndpoint(() => (failing ? { status: 503 } : active()));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 60 });
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    expect(endpoint.count()).toBe(2);
    failing = false;
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
  });

  it("timeouts are never cached", async () => {
    let hanging = true;
    const endpoint = await introspectionEndpoint(() => (hanging ? { hang: true } : active()));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 60, timeoutSeconds: 0.2 });
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    hanging = false;
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
    expect(endpoint.count()).toBe(2);
  });

  it("an expired-at-introspection result is not cached", async () => {
    let exp = nowSeconds() - 10;
    const endpoint = await introspectionEndpoint(() => active({ exp }));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 60 });
    await expect(verifier.verifyToken("t")).resolves.toBeNull();
    exp = nowSeconds() + 600;
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
    expect(endpoint.count()).toBe(2);
  });

  it("a cached token is revoked only when its entry ends (the documented trade-off)", async () => {
    let isActive = true;
    const endpoint = await introspectionEndpoint(() => (isActive ? active() : { body: { active: false } }));
    const verifier = verifierFor(endpoint, { cacheTtlSeconds: 1 });
    const started = Date.now();
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
    isActive = false;
    const meanwhile = await verifier.verifyToken("t");
    if (Date.now() - started < 900) expect(meanwhile).not.toBeNull();
    expect(await eventually(async () => (await verifier.verifyToken("t")) === null, 5_000, 50)).toBe(true);
  });
});

describe("IntrospectionTokenVerifier: construction", () => {
  const base = { introspectionUrl: "https://as.test/introspect", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };

  it("names the option and the environment variable when introspectionUrl is missing", () => {
    expect(() => new IntrospectionTokenVerifier({ ...base, introspectionUrl: undefined })).toThrow(AuthConfigurationError);
    expect(() => new IntrospectionTokenVerifier({ ...base, introspectionUrl: undefined })).toThrow(/introspectionUrl.*FASTMCP_SERVER_AUTH_INTROSPECTION_INTROSPECTION_URL/);
  });

  it("names the option and the environment variable when clientId is missing", () => {
    expect(() => new IntrospectionTokenVerifier({ ...base, clientId: undefined })).toThrow(/clientId.*FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_ID/);
  });

  it("names the option and the environment variable when clientSecret is missing or empty", () => {
    expect(() => new IntrospectionTokenVerifier({ ...base, clientSecret: undefined })).toThrow(/clientSecret.*FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_SECRET/);
    expect(() => new IntrospectionTokenVerifier({ ...base, clientSecret: "" })).toThrow(/FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_SECRET/);
  });

  it("takes missing options from the environment (explicit arguments win)", async () => {
    const endpoint = await introspectionEndpoint(() => active());
    vi.stubEnv("FASTMCP_SERVER_AUTH_INTROSPECTION_INTROSPECTION_URL", endpoint.url("/introspect"));
    vi.stubEnv("FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_ID", "from-env");
    vi.stubEnv("FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_SECRET", "env-secret");
    vi.stubEnv("FASTMCP_SERVER_AUTH_INTROSPECTION_CLIENT_AUTH_METHOD", "client_secret_post");
    const verifier = new IntrospectionTokenVerifier({ clientId: "explicit", onError: () => undefined });
    await expect(verifier.verifyToken("t")).resolves.not.toBeNull();
    expect(formOf(endpoint.requests[0]!)).toMatchObject({ client_id: "explicit", client_secret: "env-secret" });
  });

  it("refuses an introspectionUrl over plain http off loopback, unless allowInsecureHttp", () => {
    expect(() => new IntrospectionTokenVerifier({ ...base, introspectionUrl: "http://as.example.com/introspect" })).toThrow(/must use https/);
    expect(() => new IntrospectionTokenVerifier({ ...base, introspectionUrl: "http://as.example.com/introspect", allowInsecureHttp: true })).not.toThrow();
    expect(() => new IntrospectionTokenVerifier({ ...base, introspectionUrl: "not a url" })).toThrow(AuthConfigurationError);
  });

  it("refuses an unknown clientAuthMethod instead of silently using client_secret_basic", () => {
    const typo = "client_secret_pots" as IntrospectionTokenVerifierOptions["clientAuthMethod"];
    expect(() => new IntrospectionTokenVerifier({ ...base, clientAuthMethod: typo })).toThrow(AuthConfigurationError);
  });
});
