import type { AccessToken } from "./access-token.js";

/** What an authorization check is asked about: the caller's token and the component being reached. */
export interface AuthContext {
  /** The caller's validated token; `undefined` on transports without auth (stdio, in-memory). */
  token: AccessToken | undefined;
  component: { kind: "tool" | "resource" | "resourceTemplate" | "prompt"; name: string };
}

/** A component-level check: allow (true) or deny (false). A check that throws denies. */
export type AuthCheck = (ctx: AuthContext) => boolean | Promise<boolean>;
