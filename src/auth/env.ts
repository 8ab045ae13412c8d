import type { AuthProvider } from "./provider.js";
import { Auth0Provider } from "./providers/auth0.js";
import { Auth0MCPProvider } from "./providers/auth0-mcp.js";
import { AuthKitProvider } from "./providers/authkit.js";
import { AWSCognitoProvider } from "./providers/aws.js";
import { AzureProvider } from "./providers/azure.js";
import { ClerkProvider } from "./providers/clerk.js";
import { DiscordProvider } from "./providers/discord.js";
import { GitHubProvider } from "./providers/github.js";
import { GoogleProvider } from "./providers/google.js";
import { HuggingFaceProvider } from "./providers/huggingface.js";
import { KeycloakAuthProvider } from "./providers/keycloak.js";
import { OktaProvider } from "./providers/okta.js";
import { PropelAuthProvider } from "./providers/propelauth.js";
import { WorkOSProvider } from "./providers/workos.js";
import { DescopeProvider } from "./providers/descope.js";
import { ScalekitProvider } from "./providers/scalekit.js";
import { SupabaseProvider } from "./providers/supabase.js";
import { RemoteAuthProvider } from "./remote.js";
import { OIDCProxy } from "./proxy/oidc-proxy.js";
import { LocalOAuthProvider } from "./server/local/provider.js";
import { AuthConfigurationError } from "./urls.js";
import { IntrospectionTokenVerifier } from "./verifiers/introspection.js";
import { JWTVerifier } from "./verifiers/jwt.js";

/**
 * Providers `FASTMCP_SERVER_AUTH` can name, each built with no arguments: it then reads its
 * settings from `FASTMCP_SERVER_AUTH_<PREFIX>_<PARAM>`. Keys are lower-case; a value may also be
 * the reference's class path (`fastmcp.server.auth.providers.descope.DescopeProvider`), whose
 * last segment is looked up.
 */
const PROVIDERS: Record<string, () => AuthProvider> = {
  jwt: () => new JWTVerifier(),
  jwtverifier: () => new JWTVerifier(),
  introspection: () => new IntrospectionTokenVerifier(),
  introspectiontokenverifier: () => new IntrospectionTokenVerifier(),
  remote: () => new RemoteAuthProvider(),
  remoteauthprovider: () => new RemoteAuthProvider(),
  descope: () => new DescopeProvider(),
  descopeprovider: () => new DescopeProvider(),
  scalekit: () => new ScalekitProvider(),
  scalekitprovider: () => new ScalekitProvider(),
  authkit: () => new AuthKitProvider(),
  authkitprovider: () => new AuthKitProvider(),
  workos: () => new AuthKitProvider(),
  supabase: () => new SupabaseProvider(),
  supabaseprovider: () => new SupabaseProvider(),
  local: () => new LocalOAuthProvider(),
  localoauthprovider: () => new LocalOAuthProvider(),
  oidc: () => new OIDCProxy(),
  oidcproxy: () => new OIDCProxy(),
  "oidc-proxy": () => new OIDCProxy(),
  google: () => new GoogleProvider(),
  googleprovider: () => new GoogleProvider(),
  github: () => new GitHubProvider(),
  githubprovider: () => new GitHubProvider(),
  workosprovider: () => new WorkOSProvider(),
  clerk: () => new ClerkProvider(),
  clerkprovider: () => new ClerkProvider(),
  auth0: () => new Auth0Provider(),
  auth0provider: () => new Auth0Provider(),
  "auth0-mcp": () => new Auth0MCPProvider(),
  auth0mcpprovider: () => new Auth0MCPProvider(),
  okta: () => new OktaProvider(),
  oktaprovider: () => new OktaProvider(),
  aws: () => new AWSCognitoProvider(),
  cognito: () => new AWSCognitoProvider(),
  awscognitoprovider: () => new AWSCognitoProvider(),
  keycloak: () => new KeycloakAuthProvider(),
  keycloakauthprovider: () => new KeycloakAuthProvider(),
  propelauth: () => new PropelAuthProvider(),
  propelauthprovider: () => new PropelAuthProvider(),
  azure: () => new AzureProvider(),
  azureprovider: () => new AzureProvider(),
  entra: () => new AzureProvider(),
  discord: () => new DiscordProvider(),
  discordprovider: () => new DiscordProvider(),
  huggingface: () => new HuggingFaceProvider(),
  huggingfaceprovider: () => new HuggingFaceProvider(),
};

/**
 * The provider `FASTMCP_SERVER_AUTH` selects, configured from the environment; undefined when
 * the variable is unset, empty or `none`. An unknown name or a missing setting fails now, naming
 * the variable, so a misconfigured server never starts unprotected.
 */
export function authFromEnvironment(): AuthProvider | undefined {
  const selector = process.env.FASTMCP_SERVER_AUTH?.trim();
  if (!selector || selector.toLowerCase() === "none") return undefined;
  const key = selector.split(".").pop()!.toLowerCase();
  const build = PROVIDERS[key];
  if (!build) {
    throw new AuthConfigurationError(
      `FASTMCP_SERVER_AUTH=${selector} names no provider; use one of JWT, introspection, remote, descope, scalekit, authkit (or workos), supabase, local, oidc, google, github, WorkOSProvider, clerk, auth0, auth0-mcp, okta, aws (or cognito), keycloak, propelauth, azure (or entra), discord, huggingface, or a class path such as fastmcp.server.auth.providers.descope.DescopeProvider`,
    );
  }
  return build();
}
