import { accessToken, parseScopes, type AccessToken } from "../access-token.js";
import { JWTVerifier, type JWTVerifierOptions } from "../verifiers/jwt.js";
import type { IssuerRule } from "./azure-authority.js";
import { bareScope } from "./azure-scopes.js";
import { perVerifiedToken } from "./refine-token.js";

export interface EntraTokenVerifierOptions extends Omit<JWTVerifierOptions, "issuer" | "publicKey" | "jwksUri" | "audience"> {
  jwksUri: string;
  issuer: IssuerRule;
  /** The app's client id and its Application ID URI: Entra's v2 tokens name the first, v1 tokens the second. */
  audience: readonly string[];
  identifierUri: string;
  /** Keep only the claims that say who signed in (what the proxy copies into its own tokens). Default false: all. */
  identityClaimsOnly?: boolean;
}

/** The claims of an Entra access token that say who signed in, and with what roles and groups. */
export const ENTRA_IDENTITY_CLAIMS = ["sub", "oid", "tid", "azp", "name", "given_name", "family_name", "preferred_username", "upn", "email", "roles", "groups"] as const;

/**
 * Microsoft Entra ID access tokens: signature (the authority's keys), `aud`, `exp`, and the issuer
 * by the authority's rule. For a multi-tenant app (`organizations`, `common`, `consumers`) every
 * directory has its own issuer, `https://<authority>/<tid>/v2.0`: the token's `iss` must be the one
 * of its own `tid`, so a token cannot claim one directory and come from another. Scopes come from
 * `scp`, in this server's names (`mcp:read`, not `api://<app>/mcp:read`).
 */
export class EntraTokenVerifier extends JWTVerifier {
  readonly identifierUri: string;
  private readonly issuerRule: IssuerRule;
  private readonly identityClaimsOnly: boolean;
  private readonly refine = perVerifiedToken((token) => this.entraToken(token));

  constructor(options: EntraTokenVerifierOptions) {
    const { issuer, identifierUri, identityClaimsOnly, ...rest } = options;
    super({ ...rest, algorithm: options.algorithm ?? "RS256", issuer: issuer.kind === "fixed" ? issuer.issuer : undefined }, null);
    this.identifierUri = identifierUri;
    this.issuerRule = issuer;
    this.identityClaimsOnly = identityClaimsOnly ?? false;
  }

  override async verifyToken(token: string): Promise<AccessToken | null> {
    return this.refine(await super.verifyToken(token));
  }

  override cachedToken(token: string): AccessToken | undefined {
    return this.refine(super.cachedToken(token)) ?? undefined;
  }

  /** How a verified token presents its (bare) scopes. */
  protected presentedScopes(scopes: readonly string[]): string[] {
    return [...scopes];
  }

  private entraToken(token: AccessToken): AccessToken | null {
    const { claims } = token;
    if (!this.issuerAccepted(claims)) return null;
    // Entra puts delegated permissions in `scp`, by their bare names; `scope` only from a stand-in.
    const raw = claims.scp !== undefined ? parseScopes(claims.scp) : token.scopes;
    const scopes = this.presentedScopes([...new Set(raw.map((scope) => bareScope(this.identifierUri, scope)))]);
    return accessToken({ ...token, scopes, claims: this.identityClaimsOnly ? identityOf(claims) : claims });
  }

  private issuerAccepted(claims: Record<string, unknown>): boolean {
    const rule = this.issuerRule;
    if (rule.kind !== "per-tenant") return true;
    const { tid, iss } = claims;
    return typeof tid === "string" && rule.accepts(tid) && iss === rule.issuerOf(tid);
  }
}

function identityOf(claims: Record<string, unknown>): Record<string, unknown> {
  const identity: Record<string, unknown> = {};
  for (const name of ENTRA_IDENTITY_CLAIMS) if (claims[name] !== undefined) identity[name] = claims[name];
  return identity;
}
