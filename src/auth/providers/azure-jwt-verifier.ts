import type { JwtAlgorithm } from "../verifiers/algorithms.js";
import { AuthConfigurationError } from "../urls.js";
import { tenantAuthority } from "./azure-authority.js";
import { checkedRequiredScopes, prefixedScope } from "./azure-scopes.js";
import { EntraTokenVerifier } from "./azure-token-verifier.js";

export interface AzureJWTVerifierOptions {
  /** The Application (client) ID of the app registration that exposes this server's API. */
  clientId: string;
  /** The Directory (tenant) ID, or `organizations` / `common` / `consumers` for a multi-tenant app. */
  tenantId: string;
  /** Scopes every request needs, by their short names (`mcp:read`); at least one the app exposes. */
  requiredScopes: readonly string[];
  /** The app's Application ID URI. Default `api://<clientId>`. */
  identifierUri?: string;
  /** `login.microsoftonline.com` (default); `login.microsoftonline.us` and the other national clouds. */
  baseAuthority?: string;
  /** The tokens' `iss`, when it is not `https://<baseAuthority>/<tenantId>/v2.0`; `{tenantid}` stands for the token's `tid`. */
  tokenIssuer?: string;
  /** Multi-tenant only: the directories (`tid`) whose tokens are accepted. Default: every one. */
  allowedTenantIds?: readonly string[];
  /** Default RS256 (what Entra signs with). */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  clockTolerance?: number;
  baseUrl?: string | URL;
  resourceBaseUrl?: string | URL;
  allowInsecureHttp?: boolean;
  onError?: (error: unknown) => void;
}

/**
 * Entra access tokens that MCP clients got from Entra themselves, for a RemoteAuthProvider: the
 * checks of the AzureProvider's verifier, with the required scopes in Entra's names
 * (`api://<app>/mcp:read`), so the 401 challenge and the protected resource metadata tell clients
 * what to ask Entra for. A verified token carries each granted scope under both names, so tools
 * keep checking `mcp:read`.
 */
export class AzureJWTVerifier extends EntraTokenVerifier {
  /** Where clients get tokens: `https://<baseAuthority>/<tenantId>/v2.0` (list it in `authorizationServers`). */
  readonly authorizationServer: string;

  constructor(options: AzureJWTVerifierOptions) {
    const owner = "AzureJWTVerifier";
    const clientId = present(options.clientId, "clientId (the Application (client) ID of the API's app registration)");
    const tenantId = present(options.tenantId, "tenantId (the Directory (tenant) ID, or organizations / common / consumers)");
    const identifierUri = options.identifierUri ?? `api://${clientId}`;
    const scopes = checkedRequiredScopes(options.requiredScopes, owner);
    const authority = tenantAuthority({ ...options, tenantId });
    const { clientId: _c, tenantId: _t, identifierUri: _i, baseAuthority: _b, tokenIssuer: _ti, allowedTenantIds: _a, requiredScopes: _r, ...rest } = options;
    super({
      ...rest,
      jwksUri: authority.jwksUri,
      issuer: authority.issuer,
      audience: [clientId, identifierUri],
      identifierUri,
      requiredScopes: scopes.map((scope) => prefixedScope(identifierUri, scope)),
    });
    this.authorizationServer = `${authority.authority}/v2.0`;
  }

  /** Clients stepping up ask Entra for the API's scope by its full name. */
  override challengeScope(scope: string): string {
    return prefixedScope(this.identifierUri, scope);
  }

  protected override presentedScopes(scopes: readonly string[]): string[] {
    return [...new Set([...scopes, ...scopes.map((scope) => prefixedScope(this.identifierUri, scope))])];
  }
}

function present(value: string | undefined, option: string): string {
  if (typeof value !== "string" || value === "") throw new AuthConfigurationError(`AzureJWTVerifier needs ${option}`);
  return value;
}
