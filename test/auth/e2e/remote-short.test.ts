import { expect, it } from "vitest";
import { RemoteAuthProvider } from "fastmcp-ts/auth";
import { OAuthMcpClient } from "../../helpers/mcp-oauth-client.js";
import { startGuardedServer, TOOLS, type WhoAmI } from "../../helpers/oauth-server.js";
import { challengeOf, stepUpForWrite, textOf } from "./journey.js";
import { describeOAuthJourney } from "./suite.js";

// Nothing but the issuer: its metadata, keys and the audience (this server's MCP URL) are found lazily.
describeOAuthJourney(
  "RemoteAuthProvider, short form, with a real authorization server",
  {
    idp: {},
    auth: (idp, baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idp.issuer, requiredScopes: ["mcp:read"], baseUrl }),
    forwardsMetadata: true,
    foreignToken: "refused",
  },
  (journey) => {
    it("works with a server that requires no scope: the client asks for none and gets the default one (AS-15)", async () => {
      const { idp } = journey();
      const open = await startGuardedServer((baseUrl) => new RemoteAuthProvider({ authorizationServerUrl: idp.issuer, baseUrl }));
      try {
        idp.allowResource(open.url);
        await using client = await new OAuthMcpClient(open.url).connect();
        expect(challengeOf(client.exchanges[0]!.wwwAuthenticate)).not.toHaveProperty("scope");
        expect(client.authorizations[0]!.scopes).toEqual([]);
        expect(idp.authorizationRequests.at(-1)!.has("scope")).toBe(false);
        const whoami = JSON.parse(textOf(await client.callTool(TOOLS.whoami))) as WhoAmI;
        expect(whoami.scopes).toEqual(["mcp:read"]);
        expect(whoami.claims.aud).toBe(open.url);
      } finally {
        await open.close();
      }
    });

    // 2026-07-28 requests take another path through the endpoint (the SDK's per-request handler);
    // the scope check must still answer with the HTTP 403 the client steps up from, not a JSON-RPC error.
    it("answers with 403 insufficient_scope on the 2026-07-28 protocol too, and the client steps up", async () => {
      await using client = await new OAuthMcpClient(journey().server.url, { versionNegotiation: { mode: { pin: "2026-07-28" } } }).connect();
      expect(client.exchanges[0]).toMatchObject({ rpcMethod: "server/discover", status: 401 });
      expect(client.authorizations).toHaveLength(1);
      await stepUpForWrite(journey(), client);
    });
  },
);
