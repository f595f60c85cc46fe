/**
 * Values that are ready now or later. A promise hop costs about an HMAC in the
 * classic njs engine (README, "Measured costs"), so the pipeline stays synchronous whenever it can (HMAC
 * through a synchronous primitive, every failure) and only goes async where
 * WebCrypto forces it.
 */
export type Maybe<T> = T | Promise<T>;

/** Duck-typed: a promise from another realm (a test VM, WebCrypto's) is no `instanceof` this one's. */
export function isPromise<T>(value: Maybe<T>): value is Promise<T> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

export function andThen<T, U>(value: Maybe<T>, next: (ready: T) => Maybe<U>): Maybe<U> {
  return isPromise(value) ? value.then(next) : next(value);
}
