import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { baseUrlOf, endpointUrl } from "../urls.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import type { PresetOptions } from "./preset-options.js";

export interface ScalekitProviderOptions extends Partial<PresetOptions> {
  /** Your Scalekit environment URL, e.g. `https://your-env.scalekit.com`. */
  environmentUrl?: string;
  /** The MCP server's resource id from the Scalekit dashboard (`res_...`). */
  resourceId?: string;
  /** Accepted for compatibility with the reference; the resource server does not need it. */
  clientId?: string;
  /** The older name of `baseUrl` in the reference (`MCP_URL`, e.g. `http://localhost:3002/`). */
  mcpUrl?: string;
}

const SETTINGS: SettingSpec<ScalekitProviderOptions> = {
  environmentUrl: { env: "ENVIRONMENT_URL", kind: "string" },
  resourceId: { env: "RESOURCE_ID", kind: "string" },
  clientId: { env: "CLIENT_ID", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  mcpUrl: { env: "MCP_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
};

/**
 * Scalekit as the authorization server. Each MCP server registered in Scalekit is its own
 * resource, with its own authorization server at `<environment>/resources/<resource id>`; tokens
 * are RS256 JWTs from `<environment>/keys` whose `aud` carries the resource id.
 */
export class ScalekitProvider extends RemoteAuthProvider {
  readonly environmentUrl: string;
  readonly resourceId: string;

  constructor(options: ScalekitProviderOptions = {}) {
    const settings = withEnvironmentDefaults("SCALEKITPROVIDER", options, SETTINGS);
    const owner = "ScalekitProvider";
    const environment = baseUrlOf(endpointUrl(required(settings.environmentUrl, "environmentUrl", "SCALEKITPROVIDER", "ENVIRONMENT_URL", owner), "environmentUrl", settings), "environmentUrl");
    const resourceId = required(settings.resourceId, "resourceId", "SCALEKITPROVIDER", "RESOURCE_ID", owner);
    const baseUrl = required(settings.baseUrl ?? settings.mcpUrl, "baseUrl", "SCALEKITPROVIDER", "BASE_URL", owner);
    const authorizationServer = `${environment}/resources/${resourceId}`;
    super({
      ...settings,
      baseUrl,
      tokenVerifier: new JWTVerifier({
        jwksUri: `${environment}/keys`,
        // Scalekit moved from the environment to the per-resource issuer; both are its own.
        issuer: [environment, authorizationServer],
        audience: resourceId,
        algorithm: "RS256",
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [authorizationServer],
      forwardAuthorizationServerMetadata: `${environment}/.well-known/oauth-authorization-server/resources/${resourceId}`,
    }, null);
    this.environmentUrl = environment;
    this.resourceId = resourceId;
  }
}
