/**
 * A value now, or later. The request path stays synchronous while user code is: every `await`
 * on a plain value still costs promises and a trip through the microtask queue.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/** Applies `next` at once if `value` is ready, once it settles otherwise. */
export function andThen<T, U>(value: T | PromiseLike<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromiseLike(value) ? Promise.resolve(value).then(next) : next(value);
}
