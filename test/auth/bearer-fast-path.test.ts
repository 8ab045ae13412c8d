import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FastMCP, getAccessToken } from "fastmcp-ts";
import { JWTKeyPair, JWTVerifier, RemoteAuthProvider, type AccessToken, type AuthProvider } from "fastmcp-ts/auth";
import { postRaw } from "../helpers/http.js";
import { freePort, ISSUER, serve, tokenFor } from "./helpers.js";

/** A JWTVerifier that counts how requests were authenticated. */
class CountingVerifier extends JWTVerifier {
  verifications = 0;
  lookups = 0;
  hits = 0;
  throwOnLookup = false;

  override async verifyToken(token: string): Promise<AccessToken | null> {
    this.verifications++;
    return super.verifyToken(token);
  }

  override cachedToken(token: string): AccessToken | undefined {
    this.lookups++;
    if (this.throwOnLookup) throw new Error("lookup failed");
    const found = super.cachedToken(token);
    if (found) this.hits++;
    return found;
  }
}

let keys: JWTKeyPair;
let mcp: FastMCP | undefined;
beforeAll(() => { keys = JWTKeyPair.generate(); });
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

const CALL = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } };

async function start(options: { requiredScopes?: string[] } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const verifier = new CountingVerifier({ publicKey: keys.publicKey, issuer: ISSUER, baseUrl: base });
  const errors: unknown[] = [];
  const auth: AuthProvider = options.requiredScopes
    ? new RemoteAuthProvider({ tokenVerifier: verifier, authorizationServers: [ISSUER], baseUrl: base, requiredScopes: options.requiredScopes })
    : verifier;
  mcp = new FastMCP({ name: "fast-path", auth, statelessHttp: true, onError: (error) => errors.push(error) });
  mcp.tool({ name: "whoami", execute: (_args, ctx) => `${ctx.auth?.subject}:${getAccessToken()?.clientId}` });
  const { url } = await serve(mcp, port);
  return { base, url: url!, verifier, errors };
}

async function call(url: string, authorization: string | undefined, path = ""): Promise<{ status: number; text: string; challenge: string | null }> {
  const response = await postRaw(`${url}${path}`, CALL, { "mcp-protocol-version": "2025-11-25", ...(authorization !== undefined ? { authorization } : {}) });
  return { status: response.status, text: await response.text(), challenge: response.headers.get("www-authenticate") };
}

describe("a token already verified is served from the verifier's cache", () => {
  it("without calling verifyToken again, and handlers still see the token", async () => {
    const { base, url, verifier } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    const first = await call(url, `Bearer ${token}`);
    expect(first.status).toBe(200);
    expect(verifier.verifications).toBe(1);
    for (let i = 0; i < 3; i++) {
      const again = await call(url, `Bearer ${token}`);
      expect(again.status).toBe(200);
      expect(again.text).toContain("alice:test-client");
    }
    expect({ verifications: verifier.verifications, hits: verifier.hits }).toEqual({ verifications: 1, hits: 3 });
  });

  it("a header the full parser accepts but the fast path does not recognise still works (other casing, extra spaces)", async () => {
    const { base, url, verifier } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    expect((await call(url, `Bearer ${token}`)).status).toBe(200);
    // (Trailing spaces are not tried: fetch trims header values.)
    for (const header of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`]) {
      expect((await call(url, header)).status).toBe(200);
    }
    // Not answered by the fast path (verifyToken was called), but by the cache inside verifyToken.
    expect({ verifications: verifier.verifications, hits: verifier.hits }).toEqual({ verifications: 4, hits: 3 });
  });

  it("still refuses a token in the query string, even next to a cached token", async () => {
    const { base, url } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    expect((await call(url, `Bearer ${token}`)).status).toBe(200);
    const refused = await call(url, `Bearer ${token}`, `?access_token=${token}`);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_request"');
  });

  it("still applies the server's required scopes", async () => {
    const { base, url, verifier } = await start({ requiredScopes: ["mcp:read", "mcp:admin"] });
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    for (let i = 0; i < 2; i++) {
      const refused = await call(url, `Bearer ${token}`);
      expect(refused.status).toBe(403);
      expect(refused.challenge).toContain('error="insufficient_scope"');
      expect(refused.challenge).toContain('scope="mcp:read mcp:admin"');
    }
    expect(verifier.hits).toBe(1); // the second refusal came from the fast path
  });

  it("refuses a cached token once it expires", async () => {
    const { base, url } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"], { expiresInSeconds: 1 });
    expect((await call(url, `Bearer ${token}`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const refused = await call(url, `Bearer ${token}`);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_token"');
  });

  it("a lookup that throws is reported and the token verified the usual way", async () => {
    const { base, url, verifier, errors } = await start();
    const token = await tokenFor(keys, `${base}/mcp`, ["mcp:read"]);
    verifier.throwOnLookup = true;
    expect((await call(url, `Bearer ${token}`)).status).toBe(401); // verifyToken's own lookup throws too
    verifier.throwOnLookup = false;
    expect((await call(url, `Bearer ${token}`)).status).toBe(200);
    expect(errors.map((error) => (error as Error).message)).toContain("lookup failed");
  });

  it("an unknown or malformed token still gets the usual answers", async () => {
    const { url, verifier } = await start();
    expect((await call(url, undefined)).status).toBe(401);
    expect((await call(url, "Bearer not.a.jwt")).challenge).toContain('error="invalid_token"');
    expect((await call(url, "Bearer a b")).challenge).toContain("not a well-formed Bearer token");
    expect((await call(url, "Basic dTpw")).challenge).not.toContain("error=");
    expect(verifier.hits).toBe(0);
  });
});
