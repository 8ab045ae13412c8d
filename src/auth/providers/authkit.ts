import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { endpointUrl } from "../urls.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import type { PresetOptions } from "./preset-options.js";

export interface AuthKitProviderOptions extends Partial<PresetOptions> {
  /** Your AuthKit domain, e.g. `https://your-project.authkit.app` (https:// may be left out). */
  authkitDomain?: string;
}

const SETTINGS: SettingSpec<AuthKitProviderOptions> = {
  authkitDomain: { env: "AUTHKIT_DOMAIN", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
};

/**
 * WorkOS AuthKit as the authorization server (it supports dynamic client registration and
 * CIMD). Tokens are RS256 JWTs from `<domain>/oauth2/jwks`, issued by the domain, with `aud`
 * bound to this server's MCP URL (list that URL as a resource in the WorkOS dashboard).
 */
export class AuthKitProvider extends RemoteAuthProvider {
  readonly authkitDomain: string;

  constructor(options: AuthKitProviderOptions = {}) {
    const settings = withEnvironmentDefaults("AUTHKITPROVIDER", options, SETTINGS);
    const domain = normalizeDomain(required(settings.authkitDomain, "authkitDomain", "AUTHKITPROVIDER", "AUTHKIT_DOMAIN", "AuthKitProvider"), settings.allowInsecureHttp);
    const baseUrl = required(settings.baseUrl, "baseUrl", "AUTHKITPROVIDER", "BASE_URL", "AuthKitProvider");
    super({
      ...settings,
      baseUrl,
      tokenVerifier: new JWTVerifier({
        jwksUri: `${domain}/oauth2/jwks`,
        issuer: domain,
        algorithm: "RS256",
        baseUrl: settings.resourceBaseUrl ?? baseUrl,
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [domain],
      forwardAuthorizationServerMetadata: `${domain}/.well-known/oauth-authorization-server`,
    }, null);
    this.authkitDomain = domain;
  }
}

function normalizeDomain(domain: string, allowInsecureHttp: boolean | undefined): string {
  const withScheme = /^https?:\/\//i.test(domain) ? domain : `https://${domain}`;
  return endpointUrl(withScheme, "authkitDomain", { allowInsecureHttp }).href.replace(/\/+$/, "");
}
