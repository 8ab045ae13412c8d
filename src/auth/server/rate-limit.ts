/** How many requests a client (by IP address) may make per window. */
export interface RateLimitOptions {
  requests: number;
  windowSeconds: number;
}

/**
 * A fixed-window counter per key, in memory, bounded in size. Per process: behind a load balancer
 * each instance counts on its own, which still caps what one address can do to any instance.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly options: RateLimitOptions, private readonly maxKeys = 10_000) {
    if (!(options.requests > 0) || !(options.windowSeconds > 0)) throw new TypeError("rate limit requests and windowSeconds must be positive");
  }

  /** Counts one request; returns the seconds to wait when over the limit, else undefined. */
  hit(key: string, now = Date.now()): number | undefined {
    const window = this.count(key, now);
    if (window.count <= this.options.requests) return undefined;
    return Math.max(1, Math.ceil((window.start + this.options.windowSeconds * 1000 - now) / 1000));
  }

  /** Whether `key` is over the limit right now, without counting a request. */
  exceeded(key: string, now = Date.now()): number | undefined {
    const window = this.windows.get(key);
    if (!window || now - window.start >= this.options.windowSeconds * 1000 || window.count < this.options.requests) return undefined;
    return Math.max(1, Math.ceil((window.start + this.options.windowSeconds * 1000 - now) / 1000));
  }

  /** Gives back a request counted by {@link hit} (it turned out not to count, say a successful login). */
  refund(key: string): void {
    const window = this.windows.get(key);
    if (window && window.count > 0) window.count--;
  }

  private count(key: string, now: number): { start: number; count: number } {
    const windowMs = this.options.windowSeconds * 1000;
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.evictOldest(now, windowMs);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    return window;
  }

  private evictOldest(now: number, windowMs: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.start >= windowMs || this.windows.size >= this.maxKeys) this.windows.delete(key);
      else break;
    }
  }
}
