import { expect, it } from "vitest";
import { ScalekitProvider } from "fastmcp-ts/auth/providers/scalekit";
import { scalekitLayout } from "../../helpers/idp-layouts.js";
import { FOREIGN_RESOURCE, describeOAuthJourney } from "./suite.js";

const RESOURCE_ID = "res_e2e1";
/** Scalekit puts the resource id in `aud`; another resource has another id. */
const audience = (resource: string) => (resource === FOREIGN_RESOURCE ? "res_other" : RESOURCE_ID);

describeOAuthJourney(
  "ScalekitProvider against a stand-in with Scalekit's URL layout",
  {
    idp: { layout: scalekitLayout(RESOURCE_ID), audience, extraTokenClaims: { oid: "org_1" } },
    auth: (idp, baseUrl) => new ScalekitProvider({ environmentUrl: idp.origin, resourceId: RESOURCE_ID, baseUrl, requiredScopes: ["mcp:read"] }),
    audience: RESOURCE_ID,
    claims: { oid: "org_1" },
    forwardsMetadata: true,
    foreignToken: "refused",
  },
  (journey) => {
    it("names the per-resource authorization server", () => {
      const { idp } = journey();
      expect(idp.issuer).toBe(`${idp.origin}/resources/${RESOURCE_ID}`);
      expect(idp.metadataUrl).toBe(`${idp.origin}/.well-known/oauth-authorization-server/resources/${RESOURCE_ID}`);
    });
  },
);
