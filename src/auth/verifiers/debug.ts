import { accessToken, type AccessToken } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";

export interface DebugTokenVerifierOptions extends AuthProviderOptions {
  /** Decides whether a token is accepted (sync or async). Default: any non-empty token. */
  validate?: (token: string) => boolean | Promise<boolean>;
  clientId?: string;
  /** Scopes every accepted token is given. */
  scopes?: string[];
}

/**
 * Accepts whatever `validate` accepts, with fixed scopes. For local development against clients
 * that need *some* token; never for production.
 */
export class DebugTokenVerifier extends TokenVerifier {
  private readonly validate: (token: string) => boolean | Promise<boolean>;
  private readonly clientId: string;
  private readonly scopes: string[];

  constructor(options: DebugTokenVerifierOptions = {}) {
    super(options);
    this.validate = options.validate ?? (() => true);
    this.clientId = options.clientId ?? "debug-client";
    this.scopes = options.scopes ?? [];
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    if (typeof token !== "string" || token.trim() === "") return null;
    try {
      if (!(await this.validate(token))) return null;
    } catch {
      return null;
    }
    return accessToken({ token, clientId: this.clientId, scopes: this.scopes, claims: { token } });
  }
}
