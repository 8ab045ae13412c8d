import { randomBytes } from "node:crypto";
import type { Context as HonoContext } from "hono";
import type { SecretBox } from "../../storage/encryption.js";
import type { KeyValueStore } from "../../storage/store.js";
import type { CookiePolicy } from "../server/interaction/cookies.js";
import type { PendingAuthorization } from "../server/models/transactions.js";

/** One trip to the upstream identity provider, as the browser carries it (sealed, in a cookie). */
export interface UpstreamSignIn {
  /** The upstream `state`: random, and the cookie's name. */
  state: string;
  /** The MCP client's authorization request it completes. */
  pending: PendingAuthorization;
  /** The proxy's own PKCE verifier towards the upstream. */
  codeVerifier?: string;
  /** The OpenID Connect nonce, when the upstream issues ID tokens. */
  nonce?: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
}

/** Browsers cap a cookie at 4,096 bytes, name and attributes included. */
const MAX_COOKIE_VALUE = 3_800;
const ASSOCIATED_DATA = "fastmcp-upstream-sign-in";

/**
 * Upstream sign-ins bound to the browser that started them: the proxy keeps nothing in the store
 * for them; the browser holds the sealed sign-in in a cookie named after its `state`, so a
 * callback arriving in another browser (someone handed the upstream URL to a victim) finds
 * nothing to complete. The store gets one marker once the sign-in ends: each callback works once.
 */
export class UpstreamSignIns {
  constructor(
    private readonly store: KeyValueStore,
    private readonly box: SecretBox,
    private readonly cookies: CookiePolicy,
    private readonly ttlSeconds: number,
  ) {}

  /** A new sign-in for `pending`, and the Set-Cookie binding it to this browser (undefined: too large for a cookie). */
  begin(pending: PendingAuthorization, options: { pkce: boolean; nonce: boolean }): { signIn: UpstreamSignIn; setCookie: string } | undefined {
    const signIn: UpstreamSignIn = { state: randomBytes(24).toString("base64url"), pending, startedAt: Date.now() };
    if (options.pkce) signIn.codeVerifier = randomBytes(48).toString("base64url");
    if (options.nonce) signIn.nonce = randomBytes(24).toString("base64url");
    const sealed = this.box.seal(JSON.stringify(signIn), ASSOCIATED_DATA);
    if (sealed.length > MAX_COOKIE_VALUE) return undefined;
    return { signIn, setCookie: this.cookies.serialize(cookieName(signIn.state), sealed, this.ttlSeconds) };
  }

  /**
   * The sign-in a callback with `state` completes: `missing` when this browser holds none (another
   * browser, an expired or forged one), `used` when its callback came before.
   */
  async finish(c: HonoContext, state: string): Promise<UpstreamSignIn | "missing" | "used"> {
    const signIn = this.read(c, state);
    if (!signIn) return "missing";
    const remaining = Math.max(1, Math.ceil((signIn.startedAt + this.ttlSeconds * 1000 - Date.now()) / 1000));
    return (await this.store.add(`upstream-sign-in-done:${state}`, true, { ttlSeconds: remaining })) ? signIn : "used";
  }

  /** Removes the sign-in's cookie once it is over. */
  clear(state: string): string {
    return this.cookies.clear(cookieName(state));
  }

  private read(c: HonoContext, state: string): UpstreamSignIn | undefined {
    if (!/^[A-Za-z0-9_-]{32}$/.test(state)) return undefined;
    const sealed = this.cookies.read(c, cookieName(state));
    if (!sealed) return undefined;
    let signIn: UpstreamSignIn;
    try {
      signIn = JSON.parse(this.box.open(sealed, ASSOCIATED_DATA)) as UpstreamSignIn;
    } catch {
      return undefined;
    }
    const age = Date.now() - signIn.startedAt;
    return signIn.state === state && age < this.ttlSeconds * 1000 ? signIn : undefined;
  }
}

function cookieName(state: string): string {
  return `fastmcp_upstream_${state.slice(0, 16)}`;
}
