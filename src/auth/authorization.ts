import { hasScopes, type AccessToken } from "./access-token.js";

export type ComponentKind = "tool" | "resource" | "resourceTemplate" | "prompt";

/** What an authorization check is asked about: the caller's token and the component being reached. */
export interface AuthContext {
  /** The caller's validated token; `undefined` without auth (in-memory, or a server without auth). */
  token: AccessToken | undefined;
  component: { kind: ComponentKind; name: string };
}

/** A component-level check: allow (true) or deny (false). A check that throws denies. */
export type AuthCheck = (ctx: AuthContext) => boolean | Promise<boolean>;

const REQUIRED_SCOPES = Symbol("fastmcp.requiredScopes");

type ScopeCheck = AuthCheck & { readonly [REQUIRED_SCOPES]: readonly string[] };

/**
 * A check that passes when the caller's token holds every one of `scopes`. Unlike an arbitrary
 * check, its failure names the missing scopes, so the caller gets a 403 it can step up from.
 */
export function requireScopes(...scopes: string[]): AuthCheck {
  if (scopes.length === 0) throw new TypeError("requireScopes() needs at least one scope");
  const check = (ctx: AuthContext) => hasScopes(ctx.token, scopes);
  return Object.assign(check, { [REQUIRED_SCOPES]: Object.freeze([...scopes]) }) as ScopeCheck;
}

/** A component's rules: its `scopes` and its `auth` checks, normalised at registration. */
export interface ComponentAccess {
  readonly scopes: readonly string[];
  readonly checks: readonly AuthCheck[];
}

/**
 * The verdict on a caller: allowed; refused for lack of scopes (listed, to step up); or refused
 * by an opaque check, whose reason is not disclosed (the component is treated as absent).
 */
export type AccessDecision = { allowed: true } | { allowed: false; missingScopes: readonly string[] } | { allowed: false; hidden: true };

const ALLOWED: AccessDecision = { allowed: true };

export function hasRules(access: ComponentAccess): boolean {
  return access.scopes.length > 0 || access.checks.length > 0;
}

/** Decides whether `token` may use a component. Synchronous unless a custom check is async. */
export function decideAccess(access: ComponentAccess, ctx: AuthContext): AccessDecision | Promise<AccessDecision> {
  if (!hasRules(access)) return ALLOWED;
  const missing = new Set(access.scopes.filter((scope) => !ctx.token?.scopes.includes(scope)));
  const pending: Promise<boolean>[] = [];
  for (const check of access.checks) {
    const scopes = (check as Partial<ScopeCheck>)[REQUIRED_SCOPES];
    if (scopes) {
      for (const scope of scopes) if (!ctx.token?.scopes.includes(scope)) missing.add(scope);
      continue;
    }
    const verdict = runCheck(check, ctx);
    if (verdict === false) return { allowed: false, hidden: true };
    if (verdict !== true) pending.push(verdict);
  }
  const decide = (): AccessDecision => (missing.size > 0 ? { allowed: false, missingScopes: [...missing] } : ALLOWED);
  if (pending.length === 0) return decide();
  return Promise.all(pending).then((verdicts) => (verdicts.every(Boolean) ? decide() : { allowed: false, hidden: true }));
}

/** Runs one check, failing closed: a throw, a rejection or anything but `true` denies. */
function runCheck(check: AuthCheck, ctx: AuthContext): boolean | Promise<boolean> {
  try {
    const verdict = check(ctx);
    if (typeof (verdict as Promise<boolean> | undefined)?.then === "function") {
      return Promise.resolve(verdict).then((value) => value === true, () => false);
    }
    return verdict === true;
  } catch {
    return false;
  }
}
