import { URLPattern } from "urlpattern-polyfill";
import { AuthConfigurationError } from "../urls.js";

/**
 * Which redirect URIs an MCP client may use, as URL patterns (`http://localhost:*`,
 * `https://*.example.com/callback`, `cursor://*`): a registration naming any other is refused, and
 * a registered URI the list no longer allows is ignored. An empty list allows none.
 */
export class RedirectAllowList {
  private readonly patterns: URLPattern[];

  constructor(patterns: readonly string[], owner: string) {
    this.patterns = patterns.map((pattern) => {
      try {
        return new URLPattern(pattern);
      } catch (error) {
        throw new AuthConfigurationError(`${owner} allowedClientRedirectUris: ${JSON.stringify(pattern)} is not a URL pattern (${(error as Error).message})`);
      }
    });
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  allows(uri: string): boolean {
    return this.patterns.some((pattern) => {
      try {
        return pattern.test(uri);
      } catch {
        return false;
      }
    });
  }
}
