import type { Icon } from "@modelcontextprotocol/server";
import type { AuthCheck, ComponentAccess } from "../../auth/authorization.js";
import { ComponentDefinitionError } from "../../errors.js";

/** Options every component shares: how it is shown and who may use it. */
export interface ComponentOptions {
  /** Human-readable name shown by clients. */
  title?: string;
  description?: string;
  icons?: Icon[];
  /** Arbitrary metadata published as `_meta`. */
  meta?: Record<string, unknown>;
  /** Scopes the caller's token must carry to see and use this component (enforced by the auth layer). */
  scopes?: string[];
  /** Custom checks, all of which must allow the caller (enforced by the auth layer). */
  auth?: AuthCheck | AuthCheck[];
}

export type { ComponentAccess };

/** The authorization a component asks for, normalised once at registration. */
export function componentAccess(options: ComponentOptions, owner: string): ComponentAccess {
  const scopes = options.scopes ?? [];
  for (const scope of scopes) {
    if (typeof scope !== "string" || scope.length === 0 || /\s/.test(scope)) {
      throw new ComponentDefinitionError(`${owner}: scope ${JSON.stringify(scope)} is not a valid OAuth scope (non-empty, no spaces)`);
    }
  }
  const checks = options.auth === undefined ? [] : Array.isArray(options.auth) ? options.auth : [options.auth];
  for (const check of checks) {
    if (typeof check !== "function") throw new ComponentDefinitionError(`${owner}: every auth check must be a function`);
  }
  return { scopes: [...scopes], checks };
}

/** The listing fields shared by every component, without undefined keys. */
export function presentation(options: ComponentOptions): { title?: string; description?: string; icons?: Icon[]; _meta?: Record<string, unknown> } {
  const out: { title?: string; description?: string; icons?: Icon[]; _meta?: Record<string, unknown> } = {};
  if (options.title !== undefined) out.title = options.title;
  if (options.description !== undefined) out.description = options.description;
  if (options.icons !== undefined) out.icons = options.icons;
  if (options.meta !== undefined) out._meta = options.meta;
  return out;
}

/** Names follow SEP-986: 1-128 characters from A-Z a-z 0-9 _ - . (tools, prompts). */
const COMPONENT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function requireName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !COMPONENT_NAME.test(name)) {
    throw new ComponentDefinitionError(
      `${kind} name ${JSON.stringify(name)} is invalid: use 1-128 characters from letters, digits, "_", "-" and "."`,
    );
  }
  return name;
}

export function requireFunction(owner: string, field: string, value: unknown): void {
  if (typeof value !== "function") throw new ComponentDefinitionError(`${owner}: "${field}" must be a function`);
}
