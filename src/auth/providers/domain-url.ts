import { baseUrlOf, endpointUrl } from "../urls.js";

/**
 * An identity provider's origin from what its console shows: a bare domain (`acme.us.auth0.com`,
 * https assumed) or a URL; without a trailing slash.
 */
export function domainUrl(domain: string, setting: string, allowInsecureHttp = false): string {
  const withScheme = /^https?:\/\//i.test(domain) ? domain : `https://${domain}`;
  return baseUrlOf(endpointUrl(withScheme, setting, { allowInsecureHttp }), setting);
}
