import { RateLimiter } from "../rate-limit.js";

/** One password attempt: where it comes from and which account it is for. */
export interface LoginAttempt {
  address: string;
  /** The username as typed. */
  account: string;
  /** The browser signed in to this account before (see KnownDevices). */
  knownDevice: boolean;
}

/**
 * Failed password attempts allowed, in the spirit of OWASP ASVS V2.2 (no more than 100 failed
 * attempts per hour on one account), without letting an attacker lock the real user out for long:
 *
 * - per address: 20 per 5 minutes, whatever the account (one address guessing many accounts);
 * - per account and address: 5 per 15 minutes (one address guessing one account);
 * - per account: 50 per hour from all addresses together (many addresses guessing one account),
 *   except from a browser that signed in to that account before, which the attacker's guesses
 *   therefore cannot lock out; a new browser waits at most the rest of the hour.
 *
 * Every attempt is counted before the password is checked (concurrent guesses cannot all slip
 * under a limit) and a successful one is given back: only failures use up the allowance, so many
 * people behind one NAT can all sign in. In memory, per process, like the other rate limits.
 */
export class LoginThrottle {
  private readonly perAddress = new RateLimiter({ requests: 20, windowSeconds: 300 });
  private readonly perAccountAndAddress = new RateLimiter({ requests: 5, windowSeconds: 900 });
  private readonly perAccount = new RateLimiter({ requests: 50, windowSeconds: 3600 });

  /** Counts an attempt; the seconds to wait when it must not be checked, else undefined. */
  attempt(attempt: LoginAttempt, now = Date.now()): number | undefined {
    const limits = this.limitsOf(attempt);
    const exceeded = limits.map(([limiter, key]) => limiter.exceeded(key, now));
    const waits = exceeded.some((wait) => wait !== undefined) ? exceeded : limits.map(([limiter, key]) => limiter.hit(key, now));
    const wait = Math.max(...waits.map((seconds) => seconds ?? 0));
    return wait > 0 ? wait : undefined;
  }

  /** An attempt counted by {@link attempt} succeeded: it counts against nothing. */
  succeeded(attempt: LoginAttempt): void {
    for (const [limiter, key] of this.limitsOf(attempt)) limiter.refund(key);
  }

  private limitsOf(attempt: LoginAttempt): Array<[RateLimiter, string]> {
    const account = accountKey(attempt.account);
    const limits: Array<[RateLimiter, string]> = [
      [this.perAddress, attempt.address],
      [this.perAccountAndAddress, `${account}\u0000${attempt.address}`],
    ];
    if (!attempt.knownDevice) limits.push([this.perAccount, account]);
    return limits;
  }
}

/** Case and compatibility forms of one username count as one account. */
export function accountKey(username: string): string {
  return username.trim().normalize("NFKC").toLowerCase();
}
