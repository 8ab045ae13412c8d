import { AuthConfigurationError } from "../urls.js";
import { domainUrl } from "./domain-url.js";

/** Tenant ids that are not one directory: any work or school account, any account, personal Microsoft accounts only. */
export const MULTI_TENANT_IDS: readonly string[] = ["organizations", "common", "consumers"];

/** The directory every personal Microsoft account token names in `tid`. */
export const PERSONAL_ACCOUNTS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

const TENANT_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A directory id or domain (`contoso.onmicrosoft.com`), or a multi-tenant name: one path segment. */
const TENANT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
/** A B2C tenant name or policy name (`B2C_1_signupsignin`). */
const B2C_SEGMENT = /^[A-Za-z0-9_-]+$/;
/** What `tokenIssuer` may contain, in a multi-tenant setup, where the token's own `tid` goes. */
export const TENANT_PLACEHOLDER = "{tenantid}";

/** How a token's `iss` is checked. */
export type IssuerRule =
  /** Exactly this issuer (a single tenant, or `tokenIssuer`). */
  | { kind: "fixed"; issuer: string }
  /** The issuer of the token's own `tid`, for a tenant `accepts` (multi-tenant apps). */
  | { kind: "per-tenant"; issuerOf: (tid: string) => string; accepts: (tid: string) => boolean }
  /** Not checked (B2C without `tokenIssuer`: its issuer names a directory id the settings do not). */
  | { kind: "unchecked" };

/** Where an Entra authority's endpoints are, and how its tokens' issuer is checked. */
export interface EntraAuthority {
  /** `https://<baseAuthority>/<tenantId>` (B2C: `.../<tenant>.onmicrosoft.com/<policy>`). */
  authority: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  issuer: IssuerRule;
}

export interface TenantAuthoritySettings {
  /** `login.microsoftonline.com` (default), `login.microsoftonline.us`, ... or a URL. */
  baseAuthority?: string | undefined;
  tenantId: string;
  tokenIssuer?: string | undefined;
  /** Multi-tenant only: the directories (`tid`) whose tokens are accepted. Default: every one the tenant name allows. */
  allowedTenantIds?: readonly string[] | undefined;
  allowInsecureHttp?: boolean | undefined;
}

/** `https://<baseAuthority>/<tenantId>/oauth2/v2.0/...`, keys at `/<tenantId>/discovery/v2.0/keys`, issuer `/<tenantId>/v2.0`. */
export function tenantAuthority(settings: TenantAuthoritySettings): EntraAuthority {
  const tenantId = settings.tenantId;
  if (!TENANT_SEGMENT.test(tenantId)) throw new AuthConfigurationError(`Entra tenantId must be a directory (tenant) id, a tenant domain, or one of ${MULTI_TENANT_IDS.join(", ")}; got ${JSON.stringify(tenantId)}`);
  const origin = domainUrl(settings.baseAuthority ?? "login.microsoftonline.com", "baseAuthority", settings.allowInsecureHttp);
  const authority = `${origin}/${tenantId}`;
  return {
    authority,
    authorizationEndpoint: `${authority}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${authority}/oauth2/v2.0/token`,
    jwksUri: `${authority}/discovery/v2.0/keys`,
    issuer: tenantIssuerRule(origin, settings),
  };
}

export interface B2CAuthoritySettings {
  /** The B2C tenant's name: `contoso` for `contoso.onmicrosoft.com`. */
  tenantName: string;
  /** The user flow or custom policy (`B2C_1_signupsignin`). */
  policyName: string;
  /** A custom domain in front of B2C (`login.contoso.com`); default `<tenantName>.b2clogin.com`. */
  customDomain?: string | undefined;
  tokenIssuer?: string | undefined;
  allowInsecureHttp?: boolean | undefined;
}

/** `https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<policy>/oauth2/v2.0/...`. */
export function b2cAuthority(settings: B2CAuthoritySettings): EntraAuthority {
  for (const [name, value] of [["tenantName", settings.tenantName], ["policyName", settings.policyName]] as const) {
    if (!B2C_SEGMENT.test(value)) throw new AuthConfigurationError(`AzureProvider.fromB2C ${name} must be one path segment, got ${JSON.stringify(value)}`);
  }
  const origin = domainUrl(settings.customDomain ?? `${settings.tenantName}.b2clogin.com`, "customDomain", settings.allowInsecureHttp);
  const authority = `${origin}/${settings.tenantName}.onmicrosoft.com/${settings.policyName}`;
  return {
    authority,
    authorizationEndpoint: `${authority}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${authority}/oauth2/v2.0/token`,
    jwksUri: `${authority}/discovery/v2.0/keys`,
    issuer: settings.tokenIssuer ? { kind: "fixed", issuer: settings.tokenIssuer } : { kind: "unchecked" },
  };
}

/** Whether the tenant id names no single directory. */
export function isMultiTenant(tenantId: string): boolean {
  return MULTI_TENANT_IDS.includes(tenantId.toLowerCase());
}

function tenantIssuerRule(origin: string, settings: TenantAuthoritySettings): IssuerRule {
  const { tenantId, tokenIssuer } = settings;
  if (!isMultiTenant(tenantId)) {
    if (settings.allowedTenantIds?.length) throw new AuthConfigurationError("allowedTenantIds is for the multi-tenant tenantId values (organizations, common, consumers) only");
    return { kind: "fixed", issuer: tokenIssuer?.replace(TENANT_PLACEHOLDER, tenantId) ?? `${origin}/${tenantId}/v2.0` };
  }
  if (tokenIssuer !== undefined && !tokenIssuer.includes(TENANT_PLACEHOLDER)) return { kind: "fixed", issuer: tokenIssuer };
  const template = tokenIssuer ?? `${origin}/${TENANT_PLACEHOLDER}/v2.0`;
  const allowed = settings.allowedTenantIds?.map((tid) => tid.toLowerCase());
  const kind = tenantId.toLowerCase();
  return {
    kind: "per-tenant",
    issuerOf: (tid) => template.replace(TENANT_PLACEHOLDER, tid),
    accepts: (tid) => {
      if (!TENANT_GUID.test(tid)) return false;
      const personal = tid.toLowerCase() === PERSONAL_ACCOUNTS_TENANT_ID;
      if ((kind === "consumers" && !personal) || (kind === "organizations" && personal)) return false;
      return allowed === undefined || allowed.includes(tid.toLowerCase());
    },
  };
}
