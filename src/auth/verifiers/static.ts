import { accessToken, type AccessToken, type AccessTokenInit } from "../access-token.js";
import { TokenVerifier, type AuthProviderOptions } from "../provider.js";

export interface StaticTokenEntry {
  clientId: string;
  scopes?: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  subject?: string;
  claims?: Record<string, unknown>;
}

export interface StaticTokenVerifierOptions extends AuthProviderOptions {
  /** Accepted tokens and what each grants. */
  tokens: Record<string, StaticTokenEntry>;
}

/** Accepts a fixed set of tokens. For development and tests only: tokens live in your code. */
export class StaticTokenVerifier extends TokenVerifier {
  private readonly tokens: Map<string, AccessToken>;

  constructor(options: StaticTokenVerifierOptions) {
    super(options);
    this.tokens = new Map(Object.entries(options.tokens).map(([token, entry]) => [token, toAccessToken(token, entry)]));
  }

  async verifyToken(token: string): Promise<AccessToken | null> {
    const found = this.tokens.get(token);
    if (!found) return null;
    if (found.expiresAt !== undefined && found.expiresAt * 1000 <= Date.now()) return null;
    return found;
  }
}

function toAccessToken(token: string, entry: StaticTokenEntry): AccessToken {
  const fields: AccessTokenInit = { token, clientId: entry.clientId, scopes: entry.scopes ?? [], claims: { ...entry.claims } };
  if (entry.expiresAt !== undefined) fields.expiresAt = entry.expiresAt;
  if (entry.subject !== undefined) {
    fields.subject = entry.subject;
    fields.claims = { sub: entry.subject, ...fields.claims };
  }
  return accessToken(fields);
}
