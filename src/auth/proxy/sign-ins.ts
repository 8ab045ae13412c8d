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
/**
 * Bytes of sign-in cookies a browser may hold at once. Abandoned sign-ins keep theirs until they
 * expire; past this the oldest are dropped, so the Cookie header stays well below the 8-16 KiB at
 * which servers (this one included) refuse a request with 431.
 */
const OPEN_SIGN_INS_BUDGET = 8_000;
const COOKIE_PREFIX = "fastmcp_upstream_";
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

  /**
   * A new sign-in for `pending`, and the Set-Cookie headers: the one binding it to this browser,
   * and the removal of the browser's oldest open sign-ins beyond the budget (undefined: too large
   * for a cookie).
   */
  begin(c: HonoContext, pending: PendingAuthorization, options: { pkce: boolean; nonce: boolean }): { signIn: UpstreamSignIn; setCookies: string[] } | undefined {
    const signIn: UpstreamSignIn = { state: randomBytes(24).toString("base64url"), pending, startedAt: Date.now() };
    if (options.pkce) signIn.codeVerifier = randomBytes(48).toString("base64url");
    if (options.nonce) signIn.nonce = randomBytes(24).toString("base64url");
    const sealed = this.box.seal(JSON.stringify(signIn), ASSOCIATED_DATA);
    if (sealed.length > MAX_COOKIE_VALUE) return undefined;
    const name = cookieName(signIn.state);
    const dropped = this.beyondBudget(c, name.length + sealed.length).map((old) => this.cookies.clear(old));
    return { signIn, setCookies: [this.cookies.serialize(name, sealed, this.ttlSeconds), ...dropped] };
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
    const signIn = this.open(this.cookies.read(c, cookieName(state)));
    return signIn?.state === state && this.live(signIn) ? signIn : undefined;
  }

  private open(sealed: string | undefined): UpstreamSignIn | undefined {
    if (!sealed) return undefined;
    try {
      return JSON.parse(this.box.open(sealed, ASSOCIATED_DATA)) as UpstreamSignIn;
    } catch {
      return undefined;
    }
  }

  private live(signIn: UpstreamSignIn): boolean {
    return Date.now() - signIn.startedAt < this.ttlSeconds * 1000;
  }

  /** The sign-in cookies to drop so that, with a new one of `size` bytes, the browser holds at most the budget: newest kept, dead ones never. */
  private beyondBudget(c: HonoContext, size: number): string[] {
    const held = this.cookies.present(c, COOKIE_PREFIX).map((name) => {
      const sealed = this.cookies.read(c, name) ?? "";
      const signIn = this.open(sealed);
      return { name, size: name.length + sealed.length, startedAt: signIn && this.live(signIn) ? signIn.startedAt : -Infinity };
    });
    held.sort((a, b) => b.startedAt - a.startedAt);
    let total = size;
    return held.filter((cookie) => {
      if (cookie.startedAt === -Infinity) return true;
      total += cookie.size;
      return total > OPEN_SIGN_INS_BUDGET;
    }).map((cookie) => cookie.name);
  }
}

function cookieName(state: string): string {
  return `${COOKIE_PREFIX}${state.slice(0, 16)}`;
}
