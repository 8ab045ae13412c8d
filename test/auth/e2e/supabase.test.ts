import { SupabaseProvider } from "fastmcp-ts/auth/providers/supabase";
import { supabaseLayout } from "../../helpers/idp-layouts.js";
import { describeOAuthJourney } from "./suite.js";

const claims = { role: "authenticated", email: "alice@example.com" };

describeOAuthJourney("SupabaseProvider against a stand-in with Supabase Auth's URL layout (ES256)", {
  idp: { layout: supabaseLayout(), algorithm: "ES256", audience: () => "authenticated", extraTokenClaims: claims },
  auth: (idp, baseUrl) => new SupabaseProvider({ projectUrl: idp.origin, baseUrl, requiredScopes: ["mcp:read"] }),
  audience: "authenticated",
  claims,
  forwardsMetadata: true,
  // Supabase does not bind tokens to a resource: every token of the project is accepted (as documented).
  foreignToken: "accepted",
});
