import type { TokenVerifier } from "../provider.js";
import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { baseUrlOf, endpointUrl } from "../urls.js";
import type { JwtAlgorithm } from "../verifiers/algorithms.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import type { PresetOptions } from "./preset-options.js";

export interface KeycloakAuthProviderOptions extends Partial<PresetOptions> {
  /** The realm's URL, `https://keycloak.example.com/realms/<realm>`: its issuer. */
  realmUrl?: string;
  /**
   * The `aud` tokens must carry. Default: this server's MCP URL, which an Audience mapper (or
   * Keycloak's resource indicator support) puts there.
   */
  audience?: string | string[];
  /** The realm's token signature algorithm(s). Default RS256. */
  algorithm?: JwtAlgorithm | readonly JwtAlgorithm[];
  /** Verifies tokens instead of the JWTVerifier over the realm's keys. */
  tokenVerifier?: TokenVerifier;
}

const PREFIX = "KEYCLOAKAUTHPROVIDER";

const SETTINGS: SettingSpec<KeycloakAuthProviderOptions> = {
  realmUrl: { env: "REALM_URL", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  audience: { env: "AUDIENCE", kind: "list" },
  algorithm: { env: "ALGORITHM", kind: "list" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  scopesSupported: { env: "SCOPES_SUPPORTED", kind: "list" },
  resourceName: { env: "RESOURCE_NAME", kind: "string" },
  resourceDocumentation: { env: "RESOURCE_DOCUMENTATION", kind: "string" },
};

/**
 * A Keycloak realm as the authorization server: MCP clients find it through this server's
 * protected resource metadata and register there themselves (anonymous client registration).
 * Tokens are the realm's JWTs, checked against `<realm>/protocol/openid-connect/certs`, issued by
 * the realm, with `aud` this server's MCP URL unless `audience` says otherwise.
 */
export class KeycloakAuthProvider extends RemoteAuthProvider {
  readonly realmUrl: string;

  constructor(options: KeycloakAuthProviderOptions = {}) {
    const settings = withEnvironmentDefaults(PREFIX, options, SETTINGS);
    const owner = "KeycloakAuthProvider";
    const realm = baseUrlOf(endpointUrl(required(settings.realmUrl, "realmUrl (https://<keycloak>/realms/<realm>)", PREFIX, "REALM_URL", owner), "realmUrl", settings), "realmUrl");
    const baseUrl = required(settings.baseUrl, "baseUrl", PREFIX, "BASE_URL", owner);
    super({
      ...settings,
      baseUrl,
      tokenVerifier: settings.tokenVerifier ?? new JWTVerifier({
        jwksUri: `${realm}/protocol/openid-connect/certs`,
        issuer: realm,
        algorithm: settings.algorithm ?? "RS256",
        ...(settings.audience !== undefined ? { audience: settings.audience } : { baseUrl: settings.resourceBaseUrl ?? baseUrl }),
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [realm],
    }, null);
    this.realmUrl = realm;
  }
}
