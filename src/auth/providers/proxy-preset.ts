import { OAuthProxy, type OAuthProxyOptions } from "../proxy/oauth-proxy.js";
import type { ProxyProviderOptions } from "../proxy/proxy-provider.js";
import { required } from "../settings.js";

/**
 * What every identity-provider preset over {@link OAuthProxy} accepts: the proxy's options, with
 * the upstream app's credentials named as the identity provider's console names them.
 */
export interface ProxyPresetOptions extends Partial<Omit<ProxyProviderOptions, "upstreamClientId" | "upstreamClientSecret">> {
  /** The client id of the OAuth app registered at the identity provider for this server. */
  clientId?: string;
  /** That app's client secret. */
  clientSecret?: string;
}

/** The upstream app's credentials as OAuthProxy takes them; a missing id (or secret, when `secretRequired`) names its variable. */
export function upstreamCredentials(
  settings: ProxyPresetOptions,
  envPrefix: string,
  owner: string,
  { secretRequired }: { secretRequired: boolean },
): Pick<ProxyProviderOptions, "upstreamClientId" | "upstreamClientSecret"> {
  const upstreamClientId = required(settings.clientId, "clientId (the client id of the OAuth app registered for this server)", envPrefix, "CLIENT_ID", owner);
  if (secretRequired) required(settings.clientSecret, "clientSecret (the secret of that OAuth app)", envPrefix, "CLIENT_SECRET", owner);
  return settings.clientSecret === undefined || settings.clientSecret === "" ? { upstreamClientId } : { upstreamClientId, upstreamClientSecret: settings.clientSecret };
}

/** The scopes clients may ask for: as configured, else the preset's defaults and the required scopes. */
export function presetValidScopes(settings: ProxyPresetOptions, defaults: readonly string[]): string[] {
  return [...(settings.validScopes ?? new Set([...defaults, ...(settings.requiredScopes ?? [])]))];
}

/** How a preset asks its identity provider for scopes. */
export interface UpstreamScopePolicy {
  /** Asked at every sign-in, before the client's scopes: what tells who signed in (and gets a refresh token). */
  signInScopes: readonly string[];
  /** The identity provider's name for one of this server's scopes. Default: the same name. */
  upstreamName?: (scope: string) => string;
}

/**
 * An OAuthProxy configured for one identity provider: its endpoints and verifier come from the
 * preset, and the scopes it asks upstream are the sign-in scopes plus the client's, each under
 * the name the identity provider gives it. Clients keep seeing this server's names.
 */
export abstract class ProxyPreset extends OAuthProxy {
  private readonly upstreamName: (scope: string) => string;

  protected constructor(options: OAuthProxyOptions, policy: UpstreamScopePolicy) {
    super({ ...options, upstreamSignInScopes: options.upstreamSignInScopes ?? policy.signInScopes });
    this.upstreamName = policy.upstreamName ?? ((scope) => scope);
  }

  protected override upstreamScopeName(scope: string): string {
    return this.upstreamName(scope);
  }
}
