import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, baseUrlOf, endpointUrl } from "../urls.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import type { PresetOptions } from "./preset-options.js";

export interface DescopeProviderOptions extends Partial<PresetOptions> {
  /** Your Descope project id (`P2abc...`), from Project Settings. */
  projectId?: string;
  /** Descope's API URL for your region. Default `https://api.descope.com`. */
  descopeBaseUrl?: string;
  /**
   * The well-known URL of an MCP Server resource in Descope's Agentic Identity Hub
   * (`https://api.descope.com/v1/apps/agentic/<project>/<server>/.well-known/openid-configuration`).
   * Replaces projectId and descopeBaseUrl.
   */
  configUrl?: string;
  /** The `aud` tokens must carry. Default: the project id, which Descope puts in its tokens. */
  audience?: string | string[];
}

const SETTINGS: SettingSpec<DescopeProviderOptions> = {
  projectId: { env: "PROJECT_ID", kind: "string" },
  descopeBaseUrl: { env: "DESCOPE_BASE_URL", kind: "string" },
  configUrl: { env: "CONFIG_URL", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  audience: { env: "AUDIENCE", kind: "list" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
};

const OIDC_SUFFIX = "/.well-known/openid-configuration";

/**
 * Descope as the authorization server (Inbound Apps with dynamic client registration, or an MCP
 * Server resource of the Agentic Identity Hub). Tokens are RS256 JWTs from
 * `<descope>/<project>/.well-known/jwks.json`; Descope's OAuth metadata is forwarded to clients.
 */
export class DescopeProvider extends RemoteAuthProvider {
  readonly projectId: string;
  readonly issuer: string;

  constructor(options: DescopeProviderOptions = {}) {
    const settings = withEnvironmentDefaults("DESCOPEPROVIDER", options, SETTINGS);
    const owner = "DescopeProvider";
    const layout = settings.configUrl !== undefined ? agenticLayout(settings.configUrl, settings.allowInsecureHttp) : projectLayout(settings);
    const baseUrl = required(settings.baseUrl, "baseUrl", "DESCOPEPROVIDER", "BASE_URL", owner);
    super({
      ...settings,
      baseUrl,
      tokenVerifier: new JWTVerifier({
        jwksUri: layout.jwksUri,
        issuer: layout.issuer,
        audience: settings.audience ?? layout.projectId,
        algorithm: "RS256",
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [layout.issuer],
      forwardAuthorizationServerMetadata: `${layout.issuer}${OIDC_SUFFIX}`,
    }, null);
    this.projectId = layout.projectId;
    this.issuer = layout.issuer;
  }
}

interface DescopeLayout {
  projectId: string;
  issuer: string;
  jwksUri: string;
}

/** Inbound Apps: issuer `<descope>/v1/apps/<project>`. */
function projectLayout(settings: DescopeProviderOptions): DescopeLayout {
  const projectId = required(settings.projectId, "projectId (or configUrl)", "DESCOPEPROVIDER", "PROJECT_ID", "DescopeProvider");
  const descope = baseUrlOf(endpointUrl(settings.descopeBaseUrl ?? "https://api.descope.com", "descopeBaseUrl", settings), "descopeBaseUrl");
  return { projectId, issuer: `${descope}/v1/apps/${projectId}`, jwksUri: `${descope}/${projectId}/.well-known/jwks.json` };
}

/** Agentic Identity Hub: the issuer is the config URL without its well-known suffix. */
function agenticLayout(configUrl: string, allowInsecureHttp: boolean | undefined): DescopeLayout {
  const url = endpointUrl(configUrl, "configUrl", { allowInsecureHttp });
  if (!url.pathname.endsWith(OIDC_SUFFIX)) throw new AuthConfigurationError(`configUrl must end with ${OIDC_SUFFIX}, got ${url.href}`);
  const issuer = url.href.slice(0, -OIDC_SUFFIX.length);
  const projectId = /\/agentic\/([^/]+)\//.exec(url.pathname)?.[1] ?? /\/apps\/([^/]+)/.exec(url.pathname)?.[1];
  if (!projectId) throw new AuthConfigurationError(`configUrl does not name a Descope project (…/agentic/<project>/<server>/…): ${url.href}`);
  return { projectId, issuer, jwksUri: `${url.origin}/${projectId}/.well-known/jwks.json` };
}
