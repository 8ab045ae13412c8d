import { AuthConfigurationError } from "../urls.js";

/** Scopes Entra treats as OpenID Connect's, never as permissions of an API: sent as they are. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "email", "offline_access"]);

/** Entra's name for one of this server's scopes: `mcp:read` → `<identifierUri>/mcp:read`; OIDC scopes and full names unchanged. */
export function prefixedScope(identifierUri: string, scope: string): string {
  if (OIDC_SCOPES.has(scope) || scope.includes("/") || scope.includes("://")) return scope;
  return `${identifierUri}/${scope}`;
}

/** This server's name for a scope Entra reports: `<identifierUri>/mcp:read` → `mcp:read`; others unchanged. */
export function bareScope(identifierUri: string, scope: string): string {
  const prefix = `${identifierUri}/`;
  return scope.startsWith(prefix) && scope.length > prefix.length ? scope.slice(prefix.length) : scope;
}

/** The scopes that are permissions of an API, not OpenID Connect's. */
export function apiScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => !OIDC_SCOPES.has(scope));
}

/**
 * `requiredScopes` with at least one permission of the API: Entra issues an access token for
 * Microsoft Graph when only OpenID Connect scopes are asked, which this server cannot verify.
 */
export function checkedRequiredScopes(scopes: readonly string[] | undefined, owner: string, variable?: string): string[] {
  const list = [...(scopes ?? [])];
  if (apiScopes(list).length === 0) {
    throw new AuthConfigurationError(
      `${owner} needs requiredScopes with at least one scope your app exposes (Expose an API → Add a scope, e.g. mcp:read), besides ${[...OIDC_SCOPES].join(", ")}: with only those, Entra issues a Microsoft Graph token this server cannot verify. Pass requiredScopes: ["mcp:read"]${variable ? `, or set ${variable}` : ""}`,
    );
  }
  return list;
}
