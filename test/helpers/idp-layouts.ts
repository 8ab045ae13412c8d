/**
 * Where an identity provider puts its issuer, signing keys and metadata on its origin. The test
 * identity provider serves the same oidc-provider under any of these, so a preset meets the URL
 * layout it was written for.
 */
export interface IdpLayout {
  /** The issuer's path on the origin: "" when the issuer is the origin itself. */
  readonly issuerPath: string;
  /** Where the signing keys (JWKS) are published; the metadata's `jwks_uri` names it. */
  readonly jwksPath: string;
  /** The paths serving the authorization server metadata. Nothing else on the origin does. */
  readonly metadataPaths: readonly string[];
  /**
   * Endpoints served outside the issuer's path: the path on the origin → oidc-provider's own
   * (`/auth`, `/token`). The metadata names them at their outside paths.
   */
  readonly aliases?: Readonly<Record<string, string>>;
}

/** A plain authorization server at the origin root, with both RFC 8414 and OIDC discovery. */
export function rootLayout(): IdpLayout {
  return { issuerPath: "", jwksPath: "/jwks", metadataPaths: ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] };
}

/** Descope Inbound Apps: issuer `<base>/v1/apps/<project>`, keys at `<base>/<project>/.well-known/jwks.json`, OIDC discovery appended. */
export function descopeLayout(projectId: string): IdpLayout {
  const issuerPath = `/v1/apps/${projectId}`;
  return { issuerPath, jwksPath: `/${projectId}/.well-known/jwks.json`, metadataPaths: [`${issuerPath}/.well-known/openid-configuration`] };
}

/** Descope Agentic Identity Hub: one issuer per MCP server resource, `<base>/v1/apps/agentic/<project>/<server>`. */
export function descopeAgenticLayout(projectId: string, serverId: string): IdpLayout {
  const issuerPath = `/v1/apps/agentic/${projectId}/${serverId}`;
  return { issuerPath, jwksPath: `/${projectId}/.well-known/jwks.json`, metadataPaths: [`${issuerPath}/.well-known/openid-configuration`] };
}

/** Scalekit: one authorization server per resource at `<env>/resources/<id>`, keys at `<env>/keys`, RFC 8414 path insertion. */
export function scalekitLayout(resourceId: string): IdpLayout {
  return { issuerPath: `/resources/${resourceId}`, jwksPath: "/keys", metadataPaths: [`/.well-known/oauth-authorization-server/resources/${resourceId}`] };
}

/** WorkOS AuthKit: the domain is the issuer, keys at `/oauth2/jwks`, RFC 8414 metadata at the root. */
export function authkitLayout(): IdpLayout {
  return { issuerPath: "", jwksPath: "/oauth2/jwks", metadataPaths: ["/.well-known/oauth-authorization-server"] };
}

/**
 * Supabase Auth: issuer `<project>/auth/v1`, keys at `<issuer>/.well-known/jwks.json`, metadata
 * appended to the issuer (RFC 8414 style, which the preset forwards; OIDC, which MCP clients find).
 */
export function supabaseLayout(): IdpLayout {
  const issuerPath = "/auth/v1";
  return {
    issuerPath,
    jwksPath: `${issuerPath}/.well-known/jwks.json`,
    metadataPaths: [`${issuerPath}/.well-known/oauth-authorization-server`, `${issuerPath}/.well-known/openid-configuration`],
  };
}

/**
 * Auth0: the tenant's domain is the issuer, keys at `/.well-known/jwks.json`, both discovery
 * documents at the root. (Auth0 writes its issuer with a trailing slash, `https://<tenant>/`;
 * the stand-in's issuer is the bare origin, which clients and discovery treat alike.)
 */
export function auth0Layout(): IdpLayout {
  return { issuerPath: "", jwksPath: "/.well-known/jwks.json", metadataPaths: ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] };
}

/** Okta custom authorization server: issuer `<org>/oauth2/<id>` (`default` by default), keys at `<issuer>/v1/keys`, discovery appended. */
export function oktaLayout(authorizationServerId = "default"): IdpLayout {
  const issuerPath = `/oauth2/${authorizationServerId}`;
  return {
    issuerPath,
    jwksPath: `${issuerPath}/v1/keys`,
    metadataPaths: [`${issuerPath}/.well-known/openid-configuration`, `${issuerPath}/.well-known/oauth-authorization-server`],
  };
}

/** Okta org authorization server: the org is the issuer, keys at `/oauth2/v1/keys`. */
export function oktaOrgLayout(): IdpLayout {
  return { issuerPath: "", jwksPath: "/oauth2/v1/keys", metadataPaths: ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] };
}

/**
 * Amazon Cognito user pool: issuer `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`,
 * keys and discovery appended. The region, which Cognito puts in the host name, is a path
 * segment here: the stand-in's origin plus `/<region>` plays the regional service URL.
 */
export function cognitoLayout(userPoolId: string, region = "eu-central-1"): IdpLayout {
  const issuerPath = `/${region}/${userPoolId}`;
  return { issuerPath, jwksPath: `${issuerPath}/.well-known/jwks.json`, metadataPaths: [`${issuerPath}/.well-known/openid-configuration`] };
}

/** Keycloak: issuer `<server>/realms/<realm>`, keys at `<realm>/protocol/openid-connect/certs`, OIDC discovery appended. */
export function keycloakLayout(realm: string): IdpLayout {
  const issuerPath = `/realms/${realm}`;
  return { issuerPath, jwksPath: `${issuerPath}/protocol/openid-connect/certs`, metadataPaths: [`${issuerPath}/.well-known/openid-configuration`] };
}

/** PropelAuth: authorization server `<authUrl>/oauth/2.1`, RFC 8414 metadata with path insertion. */
export function propelauthLayout(): IdpLayout {
  return { issuerPath: "/oauth/2.1", jwksPath: "/.well-known/jwks.json", metadataPaths: ["/.well-known/oauth-authorization-server/oauth/2.1"] };
}

/**
 * Microsoft Entra ID v2: endpoints at `/<tenant>/oauth2/v2.0/authorize` and `/token`, keys at
 * `/<tenant>/discovery/v2.0/keys`, issuer `/<directory>/v2.0` with discovery appended. `tenant`
 * is what the app is configured with; `directory` the tenant id tokens name (`tid`), the same for
 * a single tenant, a directory's GUID behind `organizations`, `common` or `consumers`.
 */
export function entraLayout(tenant: string, directory = tenant): IdpLayout {
  const issuerPath = `/${directory}/v2.0`;
  return {
    issuerPath,
    jwksPath: `/${tenant}/discovery/v2.0/keys`,
    metadataPaths: [`${issuerPath}/.well-known/openid-configuration`],
    aliases: { [`/${tenant}/oauth2/v2.0/authorize`]: "/auth", [`/${tenant}/oauth2/v2.0/token`]: "/token" },
  };
}
