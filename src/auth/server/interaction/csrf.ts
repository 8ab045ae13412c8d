import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context as HonoContext } from "hono";
import type { CookiePolicy } from "./cookies.js";

const COOKIE_PREFIX = "fastmcp_csrf_";
/**
 * Transactions a browser may hold form cookies for at once. Each is ~70 bytes; abandoned sign-ins
 * keep theirs until they expire, so without a cap a busy browser's Cookie header would grow until
 * the server refuses it (431). The oldest go first; their forms then need reloading.
 */
const MAX_OPEN_FORMS = 20;

/**
 * Double-submit CSRF tokens for the login and consent forms, bound to one authorization
 * transaction. The browser gets a random nonce in a cookie named after the transaction; the form
 * carries HMAC(secret, transaction, nonce). A submission needs both: a page on another site can
 * make the browser post the form, but cannot read or plant the cookie, so it cannot know the token.
 * The nonce is kept across renders of one transaction (a reload, a second tab, a browser's
 * prefetch), so rendering the page again never invalidates a form already shown.
 */
export class CsrfTokens {
  constructor(private readonly secret: Buffer, private readonly cookies: CookiePolicy, private readonly maxAgeSeconds: number) {}

  /**
   * The token for a form of `transaction`, and the Set-Cookie headers to send: none when this
   * browser holds the transaction's nonce already, else the new nonce (and the removal of the
   * oldest form cookies beyond the cap).
   */
  issue(c: HonoContext, transaction: string): { token: string; setCookies: string[] } {
    const existing = this.cookies.read(c, cookieName(transaction));
    if (existing && /^[A-Za-z0-9_-]{22,64}$/.test(existing)) return { token: this.sign(transaction, existing), setCookies: [] };
    const nonce = randomBytes(18).toString("base64url");
    const held = this.cookies.present(c, COOKIE_PREFIX).filter((name) => name !== cookieName(transaction));
    const dropped = held.slice(0, Math.max(0, held.length - (MAX_OPEN_FORMS - 1)));
    return {
      token: this.sign(transaction, nonce),
      setCookies: [this.cookies.serialize(cookieName(transaction), nonce, this.maxAgeSeconds), ...dropped.map((name) => this.cookies.clear(name))],
    };
  }

  /** Whether `token` was issued to this browser for `transaction`. */
  verify(c: HonoContext, transaction: string, token: string | undefined | null): boolean {
    const nonce = this.cookies.read(c, cookieName(transaction));
    if (!nonce || !token) return false;
    const expected = Buffer.from(this.sign(transaction, nonce));
    const presented = Buffer.from(token);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  /** Removes the transaction's cookie once the transaction is over. */
  clear(transaction: string): string {
    return this.cookies.clear(cookieName(transaction));
  }

  private sign(transaction: string, nonce: string): string {
    return createHmac("sha256", this.secret).update(`csrf\u0000${transaction}\u0000${nonce}`).digest("base64url");
  }
}

/** One cookie per transaction; the id is random, so a prefix of it is enough to keep names short. */
function cookieName(transaction: string): string {
  return `${COOKIE_PREFIX}${transaction.slice(0, 16)}`;
}
