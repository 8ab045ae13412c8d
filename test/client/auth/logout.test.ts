/**
 * OAuth.logout(): RFC 7009 revocation of the stored tokens at the revocation endpoint of the
 * stored discovery state, best effort, then the server's record forgotten. The authorization
 * server is a recording fetch; the CLI tests (test/cli/login.test.ts) check the same against a
 * real LocalOAuthProvider.
 */
import { describe, expect, it } from "vitest";
import { OAuth } from "fastmcp-ts/client";
import { MemoryStore } from "fastmcp-ts/storage";

const SERVER = "http://127.0.0.1:8000/mcp";
const ISSUER = "http://127.0.0.1:8000";
const KEY = `mcp-oauth:${SERVER}`;

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: URLSearchParams;
}

function recordWith(options: { revocationEndpoint?: string; client?: Record<string, unknown> } = {}) {
  return {
    clients: { [ISSUER]: options.client ?? { client_id: "public-client", token_endpoint_auth_method: "none", redirect_uris: ["http://127.0.0.1:5000/callback"] } },
    tokens: { [ISSUER]: { access_token: "access-1", token_type: "Bearer", refresh_token: "refresh-1", scope: "mcp:read" } },
    latestIssuer: ISSUER,
    discovery: {
      authorizationServerUrl: ISSUER,
      authorizationServerMetadata: {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
        response_types_supported: ["code"],
        ...(options.revocationEndpoint === undefined ? {} : { revocation_endpoint: options.revocationEndpoint }),
      },
    },
  };
}

async function setUp(record: unknown, respond: (sent: Sent) => Response | Promise<Response> = () => new Response(null, { status: 200 }), extra: ConstructorParameters<typeof OAuth>[0] = {}) {
  const store = new MemoryStore();
  await store.set(KEY, record);
  const sent: Sent[] = [];
  const oauth = new OAuth({
    ...extra,
    tokenStorage: store,
    fetch: async (url, init) => {
      const entry = { url: String(url), headers: { ...(init?.headers as Record<string, string>) }, body: new URLSearchParams(String(init?.body)) };
      sent.push(entry);
      return respond(entry);
    },
  });
  oauth.bind(new URL(SERVER));
  return { store, sent, oauth };
}

describe("OAuth.logout()", () => {
  it("revokes the refresh token, then the access token, as the registered public client, and forgets the record", async () => {
    const { store, sent, oauth } = await setUp(recordWith({ revocationEndpoint: `${ISSUER}/revoke` }));
    expect(await oauth.logout()).toEqual({ revoked: true });
    expect(sent.map((entry) => [entry.url, entry.body.get("token"), entry.body.get("token_type_hint"), entry.body.get("client_id")])).toEqual([
      [`${ISSUER}/revoke`, "refresh-1", "refresh_token", "public-client"],
      [`${ISSUER}/revoke`, "access-1", "access_token", "public-client"],
    ]);
    expect(sent[0]!.headers.authorization).toBeUndefined();
    expect(await store.get(KEY)).toBeUndefined();
    expect(await oauth.hasTokens()).toBe(false);
  });

  it("authenticates a confidential client with HTTP Basic (client_secret_basic)", async () => {
    const client = { client_id: "conf id", client_secret: "s3cret:+", token_endpoint_auth_method: "client_secret_basic" };
    const { sent, oauth } = await setUp(recordWith({ revocationEndpoint: `${ISSUER}/revoke`, client }));
    await oauth.logout();
    expect(sent).toHaveLength(2);
    const basic = Buffer.from(sent[0]!.headers.authorization!.replace(/^Basic /, ""), "base64").toString();
    expect(basic).toBe("conf+id:s3cret%3A%2B");
    expect(sent[0]!.body.get("client_id")).toBeNull();
    expect(sent[0]!.body.get("client_secret")).toBeNull();
  });

  it("uses pre-registered credentials when the OAuth instance has them", async () => {
    const { sent, oauth } = await setUp(recordWith({ revocationEndpoint: `${ISSUER}/revoke` }), undefined, { clientId: "configured", clientSecret: "configured-secret" });
    await oauth.logout();
    expect(Buffer.from(sent[0]!.headers.authorization!.replace(/^Basic /, ""), "base64").toString()).toBe("configured:configured-secret");
  });

  it("never fails because of the revocation: unreachable or refused, the record is forgotten all the same", async () => {
    const unreachable = await setUp(recordWith({ revocationEndpoint: `${ISSUER}/revoke` }), () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    });
    expect(await unreachable.oauth.logout()).toEqual({ revoked: false });
    expect(await unreachable.store.get(KEY)).toBeUndefined();

    const refused = await setUp(recordWith({ revocationEndpoint: `${ISSUER}/revoke` }), () => new Response('{"error":"invalid_client"}', { status: 401 }));
    expect(await refused.oauth.logout()).toEqual({ revoked: false });
    expect(refused.sent).toHaveLength(2);
    expect(await refused.store.get(KEY)).toBeUndefined();
  });

  it("sends nothing without a revocation endpoint, or to a plain-http one off loopback", async () => {
    const none = await setUp(recordWith());
    expect(await none.oauth.logout()).toEqual({ revoked: false });
    expect(none.sent).toEqual([]);
    expect(await none.store.get(KEY)).toBeUndefined();

    const insecure = await setUp(recordWith({ revocationEndpoint: "http://auth.example.com/revoke" }));
    expect(await insecure.oauth.logout()).toEqual({ revoked: false });
    expect(insecure.sent).toEqual([]);
  });

  it("has nothing to revoke when nothing is stored", async () => {
    const store = new MemoryStore();
    const sent: unknown[] = [];
    const oauth = new OAuth({ tokenStorage: store, fetch: async () => { sent.push(1); return new Response(null); } });
    oauth.bind(new URL(SERVER));
    expect(await oauth.logout()).toEqual({ revoked: false });
    expect(sent).toEqual([]);
  });
});
