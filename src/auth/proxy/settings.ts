import type { SettingSpec } from "../settings.js";
import type { ProxyProviderOptions } from "./proxy-provider.js";

/** What every proxy and proxy preset can take from the environment: the upstream app, where this server is, its scopes, its key. */
export type ProxyEnvironmentOptions = Pick<ProxyProviderOptions, "baseUrl" | "issuerUrl" | "resourceBaseUrl" | "requiredScopes" | "validScopes" | "redirectPath" | "encryptionKey" | "serverName"> & {
  clientId?: string;
  clientSecret?: string;
};

/** Their variables, `FASTMCP_SERVER_AUTH_<PROVIDER>_<PARAM>`; each proxy adds its own. */
export const PROXY_SETTINGS: SettingSpec<ProxyEnvironmentOptions> = {
  clientId: { env: "CLIENT_ID", kind: "string" },
  clientSecret: { env: "CLIENT_SECRET", kind: "string" },
  baseUrl: { env: "BASE_URL", kind: "string" },
  issuerUrl: { env: "ISSUER_URL", kind: "string" },
  resourceBaseUrl: { env: "RESOURCE_BASE_URL", kind: "string" },
  requiredScopes: { env: "REQUIRED_SCOPES", kind: "list" },
  validScopes: { env: "VALID_SCOPES", kind: "list" },
  redirectPath: { env: "REDIRECT_PATH", kind: "string" },
  encryptionKey: { env: "ENCRYPTION_KEY", kind: "string" },
  serverName: { env: "SERVER_NAME", kind: "string" },
};
