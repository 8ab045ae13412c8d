import { accessToken, parseScopes, type AccessToken } from "../access-token.js";

/**
 * The token with the values of Auth0's `permissions` claim added to its scopes. With RBAC and
 * "Add Permissions in the Access Token" on, Auth0 lists the permissions a user holds through
 * their roles there, and not in `scope`: tools and `requiredScopes` then check them like scopes.
 */
export function withPermissionScopes(token: AccessToken): AccessToken {
  const added = parseScopes(token.claims.permissions).filter((permission) => !token.scopes.includes(permission));
  return added.length === 0 ? token : accessToken({ ...token, scopes: [...token.scopes, ...added] });
}
