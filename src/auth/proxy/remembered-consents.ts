import { createHmac } from "node:crypto";
import type { Context as HonoContext } from "hono";
import { requestHeader } from "../../http/headers.js";
import type { CookiePolicy } from "../server/interaction/cookies.js";

const COOKIE = "fastmcp_consents";
/** Approvals one browser remembers; the oldest goes first. */
const MAX_ENTRIES = 25;
/** Navigations a remembered approval may answer: typed or bookmarked, or from this site. */
const TRUSTED_FETCH_SITES = new Set(["none", "same-origin", "same-site"]);

/** One approval: of a client, for a redirect URI and a set of scopes. */
export interface Approval {
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
}

/**
 * Approvals a browser gave on the proxy's consent page, remembered in that browser (before the
 * upstream sign-in nobody knows who the person is): a cookie listing an HMAC of each approval's
 * client, redirect URI and scope set, so an approval covers exactly what was shown. A remembered
 * approval answers only a navigation the browser started itself or from this site
 * (`Sec-Fetch-Site`); a page elsewhere sending the browser to `/authorize` gets the page again.
 */
export class RememberedConsents {
  constructor(private readonly secret: Buffer, private readonly cookies: CookiePolicy, private readonly ttlSeconds: number) {}

  /** Whether this browser approved exactly this, and the request may rely on it. */
  covers(c: HonoContext, approval: Approval): boolean {
    if (this.ttlSeconds === 0 || !TRUSTED_FETCH_SITES.has(requestHeader(c, "sec-fetch-site") ?? "")) return false;
    return this.entries(c).includes(this.entry(approval));
  }

  /** The Set-Cookie adding `approval` to this browser's (undefined when nothing is remembered). */
  remember(c: HonoContext, approval: Approval): string | undefined {
    if (this.ttlSeconds === 0) return undefined;
    const entry = this.entry(approval);
    const entries = [...this.entries(c).filter((existing) => existing !== entry), entry].slice(-MAX_ENTRIES);
    return this.cookies.serialize(COOKIE, entries.join("."), this.ttlSeconds);
  }

  private entries(c: HonoContext): string[] {
    return (this.cookies.read(c, COOKIE) ?? "").split(".").filter((entry) => /^[A-Za-z0-9_-]{22}$/.test(entry));
  }

  private entry(approval: Approval): string {
    const scopes = [...new Set(approval.scopes)].sort().join(" ");
    return createHmac("sha256", this.secret).update(`consent\u0000${approval.clientId}\u0000${approval.redirectUri}\u0000${scopes}`).digest("base64url").slice(0, 22);
  }
}
