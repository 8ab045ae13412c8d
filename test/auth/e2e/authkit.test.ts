import { AuthKitProvider } from "fastmcp-ts/auth/providers/authkit";
import { authkitLayout } from "../../helpers/idp-layouts.js";
import { describeOAuthJourney } from "./suite.js";

// AuthKit binds tokens to the MCP URL (the resource listed in the WorkOS dashboard).
describeOAuthJourney("AuthKitProvider against a stand-in with AuthKit's URL layout", {
  idp: { layout: authkitLayout(), extraTokenClaims: { org_id: "org_01E2E", permissions: ["notes:read"] } },
  auth: (idp, baseUrl) => new AuthKitProvider({ authkitDomain: idp.origin, baseUrl, requiredScopes: ["mcp:read"] }),
  claims: { org_id: "org_01E2E", permissions: ["notes:read"] },
  forwardsMetadata: true,
  foreignToken: "refused",
});
