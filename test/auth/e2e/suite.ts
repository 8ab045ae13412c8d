/**
 * The end-to-end cases every auth provider goes through against its identity provider's stand-in:
 * one identity provider and one server per `describe`, a fresh OAuth client per test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthProvider } from "fastmcp-ts/auth";
import { startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from "../../helpers/idp.js";
import { startGuardedServer, type GuardedServer } from "../../helpers/oauth-server.js";
import {
  adminRefused,
  foreignTokenRefused,
  initializeWith,
  logInAndCallTools,
  metadataForwarded,
  resourceMetadataNamesIssuer,
  stepUpForWrite,
  type Journey,
} from "./journey.js";

/** A resource the identity provider also issues tokens for: not this server. */
export const FOREIGN_RESOURCE = "https://other.example/mcp";

export interface JourneyCase {
  /** How the identity provider is emulated (layout, token shape). */
  idp: Omit<IdentityProviderOptions, "resources">;
  /** The auth provider under test, given the stand-in and the server's base URL. */
  auth: (idp: IdentityProvider, baseUrl: string) => AuthProvider;
  /** The `aud` of tokens for this server. Default: its MCP URL. */
  audience?: string;
  /** Claims the identity provider adds that handlers must see. */
  claims?: Record<string, unknown>;
  /** Whether the server serves the identity provider's metadata at its own RFC 8414 URL. */
  forwardsMetadata: boolean;
  /** What becomes of a token minted for another resource. */
  foreignToken: "refused" | "accepted";
}

/**
 * Registers the standard tests; returns the journey (ready inside tests) so a file can add its own.
 */
export function describeOAuthJourney(name: string, journeyCase: JourneyCase, more?: (journey: () => Journey) => void): void {
  describe(name, () => {
    let idp: IdentityProvider | undefined;
    let server: GuardedServer | undefined;
    let journey: Journey | undefined;
    const current = (): Journey => {
      if (!journey) throw new Error("the journey is not set up");
      return journey;
    };

    beforeAll(async () => {
      const started = await startIdentityProvider({ ...journeyCase.idp, resources: [FOREIGN_RESOURCE] });
      idp = started;
      server = await startGuardedServer((baseUrl) => journeyCase.auth(started, baseUrl));
      idp.allowResource(server.url);
      journey = {
        idp,
        server,
        audience: journeyCase.audience ?? server.url,
        ...(journeyCase.claims ? { claims: journeyCase.claims } : {}),
        ...(journeyCase.idp.algorithm ? { algorithm: journeyCase.idp.algorithm } : {}),
      };
    });

    afterAll(async () => {
      await server?.close();
      await idp?.close();
    });

    it("publishes protected resource metadata naming the identity provider", async () => {
      await resourceMetadataNamesIssuer(current());
      if (journeyCase.forwardsMetadata) {
        await metadataForwarded(current());
      } else {
        expect((await fetch(`${current().server.baseUrl}/.well-known/oauth-authorization-server`)).status).toBe(404);
      }
    });

    it("lets the official client discover, register, log in, list and call tools", async () => {
      await using client = await logInAndCallTools(current());
      expect(client.tokens?.refresh_token).toEqual(expect.any(String));
    });

    it("answers a call the token lacks scopes for with 403 before the handler runs, and the client steps up", async () => {
      await using client = await logInAndCallTools(current());
      await stepUpForWrite(current(), client);
      await adminRefused(current(), client);
    });

    if (journeyCase.foreignToken === "refused") {
      it("refuses a token the identity provider minted for another resource", async () => {
        await foreignTokenRefused(current(), FOREIGN_RESOURCE);
      });
    } else {
      it("accepts any token of the identity provider, whatever resource it was minted for (no audience binding)", async () => {
        const { idp: provider, server: guarded } = current();
        expect((await initializeWith(guarded, await provider.mintToken(FOREIGN_RESOURCE))).status).toBe(200);
      });
    }

    more?.(current);
  });
}
