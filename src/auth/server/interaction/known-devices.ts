import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context as HonoContext } from "hono";
import type { CookiePolicy } from "./cookies.js";
import { accountKey } from "./login-throttle.js";

const COOKIE = "fastmcp_device";
const MAX_AGE_SECONDS = 180 * 86_400;

/**
 * Browsers that signed in to an account before (OWASP's "device cookies"): after a successful
 * login the browser gets a cookie `nonce.HMAC(secret, account, nonce)`. Guesses from elsewhere
 * cannot use up the sign-in allowance of such a browser for that account (LoginThrottle).
 */
export class KnownDevices {
  constructor(private readonly secret: Buffer, private readonly cookies: CookiePolicy) {}

  /** Whether this browser signed in to `account` before. */
  knows(c: HonoContext, account: string): boolean {
    const [nonce, mac] = (this.cookies.read(c, COOKIE) ?? "").split(".");
    if (!nonce || !mac) return false;
    const expected = Buffer.from(this.sign(account, nonce));
    const presented = Buffer.from(mac);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  /** The Set-Cookie value marking this browser as known for `account`. */
  remember(account: string): string {
    const nonce = randomBytes(12).toString("base64url");
    return this.cookies.serialize(COOKIE, `${nonce}.${this.sign(account, nonce)}`, MAX_AGE_SECONDS);
  }

  private sign(account: string, nonce: string): string {
    return createHmac("sha256", this.secret).update(`known-device\u0000${accountKey(account)}\u0000${nonce}`).digest("base64url");
  }
}
