/**
 * How long a verifier's "allowed" may be reused for the same token (the
 * cached auth_request style: nginx's proxy_cache keeps the answer, keyed by
 * the token and the settings). The answer is an `X-Accel-Expires` value:
 * "0" (do not store) or "@<unix time>" (store until then, inclusive).
 */
export const DEFAULT_CACHE_MAX_AGE = 60;

export interface CacheInput {
  /** Verified, not revoked, not the anonymous consumer, and every requirement met. */
  allowed: boolean;
  /** The token's `exp` claim, if any. */
  exp: unknown;
  /** Seconds an entry may live at most (also for tokens without `exp`); 0 turns storing off. */
  maxAge: number;
  /**
   * The decision depends only on what the cache key holds: the token comes
   * from the Authorization header, the query or the Cookie header (all in the
   * key), and no run-time revocation zone can change the answer later.
   */
  keyCoversDecision: boolean;
  now: number;
}

export function cacheUntil(input: CacheInput): string {
  if (!input.allowed || !input.keyCoversDecision || input.maxAge <= 0) return '0';
  let until = input.now + input.maxAge;
  // nginx serves an entry through its expiry second, and a token is expired at `exp` (RFC 7519 4.1.4).
  if (typeof input.exp === 'number' && input.exp - 1 < until) until = Math.floor(input.exp) - 1;
  return until > input.now ? '@' + until : '0';
}
