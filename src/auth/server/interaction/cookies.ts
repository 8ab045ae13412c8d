import type { Context as HonoContext } from "hono";
import { generateCookie, getCookie } from "hono/cookie";

/**
 * Cookie names and attributes for the login and consent pages. Over https the names carry the
 * `__Host-` prefix (the browser then refuses them unless Secure, Path=/ and host-only, so a
 * sibling subdomain cannot plant one); over plain http (loopback development) they cannot.
 */
export class CookiePolicy {
  readonly secure: boolean;

  constructor(baseUrl: string) {
    this.secure = new URL(baseUrl).protocol === "https:";
  }

  name(base: string): string {
    return this.secure ? `__Host-${base}` : base;
  }

  read(c: HonoContext, base: string): string | undefined {
    return getCookie(c, this.name(base));
  }

  /** The base names of this request's cookies that start with `prefix`, in the order the browser sent them (oldest first). */
  present(c: HonoContext, prefix: string): string[] {
    const full = this.name(prefix);
    const strip = full.length - prefix.length;
    return Object.keys(getCookie(c)).filter((name) => name.startsWith(full)).map((name) => name.slice(strip));
  }

  /**
   * A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure on https. The name already carries
   * `__Host-` (Hono's `prefix` option would add a second one); Hono still refuses a `__Host-`
   * cookie that is not Secure, has another path or a Domain.
   */
  serialize(base: string, value: string, maxAgeSeconds: number): string {
    return generateCookie(this.name(base), value, {
      path: "/",
      httpOnly: true,
      sameSite: "Lax",
      secure: this.secure,
      maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
    });
  }

  clear(base: string): string {
    return this.serialize(base, "", 0);
  }
}
