export type { AccessToken } from "./access-token.js";
export { parseScopes } from "./access-token.js";
export type { AuthProvider, TokenVerifier } from "./provider.js";
export type { AuthCheck, AuthContext } from "./authorization.js";
