/**
 * The direct style's verification cache (a js_shared_dict_zone, shared by
 * every worker): what is kept of a verified token, and how long. Only
 * verified, unrevoked tokens are kept, as the verification's result (header,
 * payload, identity, the verifying kid); revocation, the anonymous fallback,
 * `$auth_jwt_claim_rules` and `$auth_jwt_require` are decided again on every
 * request. An entry is never used past the token's `exp` (the leeway is not
 * granted from the cache: a token in its leeway is verified again) nor past
 * `maxAge` seconds after it was stored.
 */
import { Verified } from './authenticate';
import { Identity } from './keys/types';
import { JsonObject } from './strict-json';

/**
 * What the entry's key is made of: the generation (a start or reload of
 * nginx), the location's deciding settings and the whole token, one per
 * line (none of them can hold a line break that a client sent).
 */
export function cacheSubject(generation: string, settings: string, token: string): string {
  return generation + '\n' + settings + '\n' + token;
}

/** The entry to store, or null when nothing may be kept (max age 0, or the token expires now). */
export function cacheEntry(verified: Verified, now: number, maxAge: number): string | null {
  let until = now + maxAge;
  const exp = verified.payload.exp;
  if (typeof exp === 'number' && exp < until) until = Math.floor(exp);
  if (until <= now) return null;
  return JSON.stringify({ u: until, h: verified.header, p: verified.payload, t: verified.payloadText, i: verified.identity, k: verified.kid });
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function identityOf(value: unknown): Identity | undefined | null {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.consumer !== 'string' || !optionalString(value.credential) || !optionalString(value.customId)) return null;
  return value as unknown as Identity;
}

/**
 * The verified result an entry holds while it is in date (`now` before its
 * end), else null; null too for anything malformed, so a broken entry is
 * verified again, never passed.
 */
export function cachedVerified(text: unknown, now: number): Verified | null {
  if (typeof text !== 'string') return null;
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (!isObject(entry) || typeof entry.u !== 'number' || !(now < entry.u)) return null;
  if (!isObject(entry.h) || !isObject(entry.p) || typeof entry.t !== 'string' || !optionalString(entry.k)) return null;
  // The payload's own exp again: an entry is never used at or past it, whatever its end says.
  if (entry.p.exp !== undefined && !(typeof entry.p.exp === 'number' && now < entry.p.exp)) return null;
  const identity = identityOf(entry.i);
  if (identity === null) return null;
  return { ok: true, header: entry.h, payload: entry.p, payloadText: entry.t, identity, kid: entry.k as string | undefined, skipped: [] };
}
