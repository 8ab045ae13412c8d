/**
 * Google's names for the OpenID Connect scopes: it accepts `email` and `profile`, but answers
 * with (and its tokeninfo reports) the full userinfo URIs. This server's scopes keep the short
 * names; requests upstream use the full ones.
 */
const GOOGLE_NAMES: Readonly<Record<string, string>> = {
  email: "https://www.googleapis.com/auth/userinfo.email",
  profile: "https://www.googleapis.com/auth/userinfo.profile",
};

const SHORT_NAMES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(GOOGLE_NAMES).map(([short, full]) => [full, short]));

/** Google's name for a scope: `email` → `https://www.googleapis.com/auth/userinfo.email`; others unchanged. */
export function googleScope(scope: string): string {
  return GOOGLE_NAMES[scope] ?? scope;
}

/** This server's name for a scope Google reports: the userinfo URIs → `email` / `profile`; others unchanged. */
export function shortScope(scope: string): string {
  return SHORT_NAMES[scope] ?? scope;
}
