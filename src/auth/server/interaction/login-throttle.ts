/**
 * Password attempts per client address: a fixed window in memory, bounded in size. Every attempt
 * is counted before the password is checked (concurrent guesses cannot all slip under the limit),
 * and a successful login gives its attempt back: only failures use up the allowance, so people
 * behind one NAT or one proxy can all sign in. Per process, like the other rate limits.
 */
export class LoginThrottle {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly attempts: number, private readonly windowSeconds: number, private readonly maxKeys = 10_000) {
    if (!(attempts > 0) || !(windowSeconds > 0)) throw new TypeError("login throttle attempts and windowSeconds must be positive");
  }

  /** Counts an attempt; the seconds to wait when the address is over the limit, else undefined. */
  attempt(key: string, now = Date.now()): number | undefined {
    const windowMs = this.windowSeconds * 1000;
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    if (window.count <= this.attempts) return undefined;
    return Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
  }

  /** An attempt counted by {@link attempt} succeeded: it does not count against the address. */
  succeeded(key: string): void {
    const window = this.windows.get(key);
    if (window && window.count > 0) window.count--;
  }
}
