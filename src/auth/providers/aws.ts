import { OIDCProxy, type OIDCProxyOptions } from "../proxy/oidc-proxy.js";
import { PROXY_SETTINGS } from "../proxy/settings.js";
import { required, type SettingSpec } from "../settings.js";
import { AuthConfigurationError, baseUrlOf, endpointUrl } from "../urls.js";
import { AWSCognitoTokenVerifier } from "./cognito-verifier.js";
import { OPENID } from "./upstream-scopes.js";
import { presetSettings } from "./preset-environment.js";

export { AWSCognitoTokenVerifier, type AWSCognitoTokenVerifierOptions } from "./cognito-verifier.js";

export interface AWSCognitoProviderOptions extends Partial<Omit<OIDCProxyOptions, "configUrl" | "tokenVerifier" | "audience">> {
  /** The user pool id (`eu-central-1_AbCdEf123`), from the user pool's overview. */
  userPoolId?: string;
  /** The pool's AWS region. Default: the one the user pool id starts with. */
  awsRegion?: string;
  /**
   * Where the pool's issuer lives: `https://cognito-idp.<awsRegion>.amazonaws.com` by default.
   * Set it only for a stand-in of Cognito (tests) or an endpoint AWS documents for your partition.
   */
  cognitoIdpUrl?: string;
}

const PREFIX = "AWSCOGNITOPROVIDER";
/** The prefix the reference's v2 releases read. */
const LEGACY_PREFIX = "AWS_COGNITO";

const SETTINGS: SettingSpec<AWSCognitoProviderOptions> = {
  userPoolId: { env: "USER_POOL_ID", kind: "string" },
  awsRegion: { env: "AWS_REGION", kind: "string" },
  cognitoIdpUrl: { env: "COGNITO_IDP_URL", kind: "string" },
  ...PROXY_SETTINGS,
};

/** AWS's pattern for user pool ids, which start with their region: `eu-central-1_AbCdEf123`. */
const USER_POOL_ID = /^([\w-]+)_[0-9A-Za-z]+$/;

/**
 * An Amazon Cognito user pool behind the OIDC proxy: MCP clients register and sign in here;
 * people sign in through the pool's managed login with your app client (client secret on,
 * callback `<baseUrl>/auth/callback`, OpenID Connect scopes). Endpoints come from the pool's
 * discovery document; its access tokens, which carry no `aud`, must name your app client in
 * `client_id`.
 */
export class AWSCognitoProvider extends OIDCProxy {
  /** The pool's issuer, `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
  readonly issuer: string;

  constructor(options: AWSCognitoProviderOptions = {}) {
    const settings = presetSettings(options, SETTINGS, PREFIX, LEGACY_PREFIX);
    const owner = "AWSCognitoProvider";
    const userPoolId = required(settings.userPoolId, "userPoolId (your Cognito user pool's id)", PREFIX, "USER_POOL_ID", owner);
    const poolRegion = USER_POOL_ID.exec(userPoolId)?.[1];
    if (poolRegion === undefined) throw new AuthConfigurationError(`${owner} userPoolId must look like <region>_<id> (eu-central-1_AbCdEf123), got ${JSON.stringify(userPoolId)}`);
    const clientId = required(settings.clientId, "clientId (your app client's id)", PREFIX, "CLIENT_ID", owner);
    const region = settings.awsRegion ?? poolRegion;
    const service = settings.cognitoIdpUrl ?? `https://cognito-idp.${region}.amazonaws.com`;
    const issuer = `${baseUrlOf(endpointUrl(service, "cognitoIdpUrl", { allowInsecureHttp: settings.allowInsecureHttp ?? false }), "cognitoIdpUrl")}/${userPoolId}`;
    // The algorithms are the verifier's, not OIDCProxy's (which refuses them beside a tokenVerifier).
    const { algorithm, ...proxySettings } = settings;
    super({
      identityProviderName: "Amazon Cognito",
      ...proxySettings,
      upstreamSignInScopes: settings.upstreamSignInScopes ?? OPENID,
      configUrl: `${issuer}/.well-known/openid-configuration`,
      tokenVerifier: new AWSCognitoTokenVerifier({
        jwksUri: `${issuer}/.well-known/jwks.json`,
        issuer,
        clientId,
        algorithm: algorithm ?? "RS256",
        ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        ...(settings.onError ? { onError: settings.onError } : {}),
      }),
      requiredScopes: settings.requiredScopes ?? [],
    }, null);
    this.issuer = issuer;
  }
}
