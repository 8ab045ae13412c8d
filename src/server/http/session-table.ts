import type { HttpSession } from "./http-session.js";

export interface SessionLimits {
  /** Most sessions open at once, all principals together. */
  maxSessions: number;
  /** Most sessions one principal may hold (see `principalOf` in session-owner.ts). */
  maxSessionsPerPrincipal: number;
}

/** Which limit a new session would break. */
export type SessionRefusal = "principal" | "server";

/**
 * The sessions of a stateful endpoint, by id and by principal, and the limits on how many may be
 * open: per principal, so one client cannot take every session, and server-wide as the last line.
 */
export class SessionTable {
  private readonly byId = new Map<string, HttpSession>();
  private readonly byPrincipal = new Map<string, Set<HttpSession>>();

  constructor(private readonly limits: SessionLimits) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): HttpSession | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<HttpSession> {
    return this.byId.values();
  }

  /**
   * Makes room for one more session of `principal`, or says which limit refuses it. A principal at
   * its limit gives up its least recently seen idle session; busy sessions are never taken.
   */
  admit(principal: string | undefined): SessionRefusal | undefined {
    const own = principal === undefined ? undefined : this.byPrincipal.get(principal);
    while (own !== undefined && own.size >= this.limits.maxSessionsPerPrincipal) {
      const idle = leastRecentlySeenIdle(own);
      if (!idle) return "principal";
      this.evict(idle);
    }
    return this.byId.size >= this.limits.maxSessions ? "server" : undefined;
  }

  add(session: HttpSession): void {
    this.byId.set(session.id!, session);
    if (session.principal === undefined) return;
    let own = this.byPrincipal.get(session.principal);
    if (!own) this.byPrincipal.set(session.principal, (own = new Set()));
    own.add(session);
  }

  remove(session: HttpSession): void {
    if (this.byId.get(session.id!) !== session) return;
    this.byId.delete(session.id!);
    if (session.principal === undefined) return;
    const own = this.byPrincipal.get(session.principal);
    own?.delete(session);
    if (own?.size === 0) this.byPrincipal.delete(session.principal);
  }

  /** Closes the sessions idle since before `cutoff` (a Date.now() value). */
  expireIdleSince(cutoff: number): void {
    for (const session of this.byId.values()) {
      if (session.lastSeen < cutoff && session.idle) this.evict(session);
    }
  }

  /** Removes every session and returns them, for the caller to close. */
  drain(): HttpSession[] {
    const sessions = [...this.byId.values()];
    this.byId.clear();
    this.byPrincipal.clear();
    return sessions;
  }

  private evict(session: HttpSession): void {
    this.remove(session);
    void session.close();
  }
}

function leastRecentlySeenIdle(sessions: Iterable<HttpSession>): HttpSession | undefined {
  let oldest: HttpSession | undefined;
  for (const session of sessions) {
    if (session.idle && (!oldest || session.lastSeen < oldest.lastSeen)) oldest = session;
  }
  return oldest;
}
