/** allowedClientRedirectUris: URL patterns the MCP clients' redirect URIs must match. */
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "fastmcp-ts/storage";
import { authorizationRequest, authorizeUrl } from "../server/local/harness.js";
import { startProxiedServer, type ProxiedServer, type ProxyOverrides } from "./harness.js";

const servers: ProxiedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: ProxyOverrides): Promise<ProxiedServer> {
  const server = await startProxiedServer(options);
  servers.push(server);
  return server;
}

function registration(server: ProxiedServer, redirectUris: string[]): Promise<Response> {
  return fetch(`${server.baseUrl}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Test Client", redirect_uris: redirectUris, grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none" }),
  });
}

describe("allowedClientRedirectUris", () => {
  it("accepts registrations whose redirect URIs match a pattern, and refuses any other with invalid_redirect_uri", async () => {
    const server = await serve({ allowedClientRedirectUris: ["http://127.0.0.1:*/callback", "https://*.example.com/oauth/*"] });
    for (const allowed of [["http://127.0.0.1:43117/callback"], ["https://app.example.com/oauth/done", "http://127.0.0.1:9/callback"]]) {
      expect((await registration(server, allowed)).status, allowed.join(" ")).toBe(201);
    }
    for (const refused of [["http://127.0.0.1:43117/other"], ["https://example.com.evil.io/oauth/done"], ["https://app.example.com/oauth/done", "https://evil.io/cb"]]) {
      const response = await registration(server, refused);
      expect(response.status, refused.join(" ")).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_redirect_uri" });
    }
  });

  it("ignores a registered redirect URI the list no longer allows: /authorize shows a page, never redirects there", async () => {
    const store = new MemoryStore();
    const open = await serve({ store });
    const registered = (await (await registration(open, ["https://app.example.com/cb"])).json()) as { client_id: string; redirect_uris: string[] };
    const request = authorizationRequest(registered, { scope: "mcp:read" });
    expect((await fetch(authorizeUrl(open.baseUrl, request), { redirect: "manual" })).status).toBe(302);
    // Another instance on the same store, whose list no longer allows that URI.
    const narrowed = await serve({ store, allowedClientRedirectUris: ["http://127.0.0.1:*/callback"] });
    const refused = await fetch(authorizeUrl(narrowed.baseUrl, request), { redirect: "manual" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("location")).toBeNull();
  });

  it("an empty list allows no client, and says so at startup", async () => {
    const server = await serve({ allowedClientRedirectUris: [] });
    expect(server.errors.map(String).some((message) => message.includes("allowedClientRedirectUris is empty"))).toBe(true);
    expect((await registration(server, ["http://127.0.0.1:43117/callback"])).status).toBe(400);
  });
});
