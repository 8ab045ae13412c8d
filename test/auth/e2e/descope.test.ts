import { expect, it } from "vitest";
import { DescopeProvider } from "fastmcp-ts/auth/providers/descope";
import { descopeAgenticLayout, descopeLayout } from "../../helpers/idp-layouts.js";
import { FOREIGN_RESOURCE, describeOAuthJourney } from "./suite.js";

const PROJECT = "P2abcDescope";
const SERVER = "MS2mcpServer";
/** Descope binds tokens to the project: a token for another resource is one of another project here. */
const audience = (resource: string) => (resource === FOREIGN_RESOURCE ? "P2otherProject" : PROJECT);
const claims = { dct: "tenant-1", tenants: { "tenant-1": { roles: ["editor"] } } };

describeOAuthJourney(
  "DescopeProvider (Inbound Apps) against a stand-in with Descope's URL layout",
  {
    idp: { layout: descopeLayout(PROJECT), audience, extraTokenClaims: claims },
    auth: (idp, baseUrl) => new DescopeProvider({ projectId: PROJECT, descopeBaseUrl: idp.origin, baseUrl, requiredScopes: ["mcp:read"] }),
    audience: PROJECT,
    claims,
    forwardsMetadata: true,
    foreignToken: "refused",
  },
  (journey) => {
    it("derives the issuer and key URLs from the project", () => {
      const { idp, server } = journey();
      const provider = server.auth as DescopeProvider;
      expect(provider.issuer).toBe(`${idp.origin}/v1/apps/${PROJECT}`);
      expect(provider.issuer).toBe(idp.issuer);
      expect(idp.jwksUri).toBe(`${idp.origin}/${PROJECT}/.well-known/jwks.json`);
    });
  },
);

describeOAuthJourney("DescopeProvider (Agentic Identity Hub, configUrl) against a stand-in with Descope's URL layout", {
  idp: { layout: descopeAgenticLayout(PROJECT, SERVER), audience, extraTokenClaims: claims },
  auth: (idp, baseUrl) => new DescopeProvider({ configUrl: idp.metadataUrl, baseUrl, requiredScopes: ["mcp:read"] }),
  audience: PROJECT,
  claims,
  forwardsMetadata: true,
  foreignToken: "refused",
});
