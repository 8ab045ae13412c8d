/** An OpenID Connect discovery document as identity providers publish it: what OIDCProxy's strict check reads. */
export function oidcDiscoveryDocument(issuer: string, jwksUri: string): Record<string, unknown> {
  const base = issuer.replace(/\/$/, "");
  return {
    issuer,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: jwksUri,
    registration_endpoint: `${base}/oidc/register`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    code_challenge_methods_supported: ["S256"],
  };
}
