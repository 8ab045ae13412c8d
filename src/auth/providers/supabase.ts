import { RemoteAuthProvider } from "../remote.js";
import { required, withEnvironmentDefaults, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, baseUrlOf, endpointUrl } from "../urls.js";
import { JWTVerifier } from "../verifiers/jwt.js";
import type { PresetOptions } from "./preset-options.js";

export interface SupabaseProviderOptions extends Partial<PresetOptions> {
  /** Your project URL, e.g. `https://abcdefgh.supabase.co`. */
  projectUrl?: string;
  /** Where Supabase Auth is mounted. Default `/auth/v1`. */
  authRoute?: string;
  /** The signing algorithm of your project's JWT keys: ES256 (default) or RS256. Shared-secret HS256 is refused. */
  algorithm?: "ES256" | "RS256";
}

const SETTINGS: SettingSpec<SupabaseProviderOptions> = {
  projectUrl: { env: "PROJECT_URL", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  authRoute: { env: "AUTH_ROUTE", kind: "string" },
  algorithm: { env: "ALGORITHM", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
};

/**
 * Supabase Auth (its OAuth 2.1 server) as the authorization server. Tokens are JWTs from
 * `<project>/auth/v1/.well-known/jwks.json` with `aud` "authenticated": Supabase does not bind
 * tokens to a resource, so every token of the project is accepted (scopes still apply).
 */
export class SupabaseProvider extends RemoteAuthProvider {
  readonly issuer: string;

  constructor(options: SupabaseProviderOptions = {}) {
    const settings = withEnvironmentDefaults("SUPABASE", options, SETTINGS);
    const owner = "SupabaseProvider";
    const project = baseUrlOf(endpointUrl(required(settings.projectUrl, "projectUrl", "SUPABASE", "PROJECT_URL", owner), "projectUrl", settings), "projectUrl");
    const algorithm = settings.algorithm ?? "ES256";
    if (algorithm !== "ES256" && algorithm !== "RS256") throw new AuthConfigurationError(`SupabaseProvider algorithm must be ES256 or RS256 (asymmetric keys), got ${String(algorithm)}`);
    const route = `/${(settings.authRoute ?? "/auth/v1").replace(/^\/+|\/+$/g, "")}`;
    const issuer = `${project}${route}`;
    const baseUrl = required(settings.baseUrl, "baseUrl", "SUPABASE", "BASE_URL", owner);
    super({
      ...settings,
      baseUrl,
      tokenVerifier: new JWTVerifier({
        jwksUri: `${issuer}/.well-known/jwks.json`,
        issuer,
        audience: "authenticated",
        algorithm,
        ...(settings.requiredScopes ? { requiredScopes: settings.requiredScopes } : {}),
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }, null),
      authorizationServers: [issuer],
      forwardAuthorizationServerMetadata: `${issuer}/.well-known/oauth-authorization-server`,
    }, null);
    this.issuer = issuer;
  }
}
