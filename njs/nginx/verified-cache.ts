/**
 * The direct style's verification cache in a js_shared_dict_zone
 * (`$auth_jwt_cache_zone`, njs >= 0.8.0), shared by every worker: a token
 * another request verified is not verified again. The core says what an entry
 * holds and how long it may be used (core/verified-cache.ts); this finds the
 * zone, makes the key and reads and writes entries. Every fault here ends in
 * a normal verification, never in a pass: a zone that cannot be read or
 * written, or an entry that does not parse, is a miss (logged at warn).
 */
import { configProblem, LOG_PREFIX, Problem } from '../core/errors';
import { Verified } from '../core/authenticate';
import { cachedVerified, cacheEntry, cacheSubject } from '../core/verified-cache';
import { sha256Base64 } from './engine';
import { injectFault } from './faults';
import { cycleGeneration } from './generation';
import { sharedZone } from './revocation';
import { Settings } from './settings';

interface CacheZone {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

/** A request that may use the cache: where its entry is, and what it found there. */
export interface CacheLookup {
  zone: CacheZone;
  key: string;
  hit: Verified | null;
}

function warn(r: NginxHTTPRequest, what: string, e: unknown): void {
  r.warn(LOG_PREFIX + 'verification cache ' + what + ', verifying: ' + String((e as { message?: string }).message || e));
}

/**
 * The cache for this request: null when the location has none, or does not
 * use it for this request (`$auth_jwt_cache off`, a max age of 0, no token or
 * several); a Problem when the zone named does not exist. The key is the
 * SHA-256 of the generation, the settings and the token, so the zone holds
 * no token (nor does a `state=` file written from it).
 */
export function cacheLookup(r: NginxHTTPRequest, settings: Settings, token: string, conflicting: boolean, now: number): CacheLookup | Problem | null {
  if (!settings.cacheZone) return null;
  FAULT: injectFault(r, 'cache');
  const zone = sharedZone(settings.cacheZone) as CacheZone | null;
  if (!zone) return configProblem(undefined, '$auth_jwt_cache_zone', undefined, 'no js_shared_dict_zone "' + settings.cacheZone + '" (needs njs >= 0.8.0)');
  if (!settings.cache || settings.cacheMaxAge <= 0 || !token || conflicting) return null;
  const lookup: CacheLookup = { zone, key: '', hit: null };
  let text: unknown;
  try {
    lookup.key = 'v:' + sha256Base64(cacheSubject(cycleGeneration(zone), settings.fingerprint, token));
    text = zone.get(lookup.key);
  } catch (e) {
    warn(r, 'cannot be read', e);
    return null;
  }
  if (text === undefined) return lookup;
  lookup.hit = cachedVerified(text, now);
  return lookup;
}

/** Keeps a verified, unrevoked token's result; a full zone (without `evict`) or any other failure only logs a warning. */
export function cacheStore(r: NginxHTTPRequest, lookup: CacheLookup, verified: Verified, now: number, maxAge: number): void {
  try {
    const entry = cacheEntry(verified, now, maxAge);
    if (entry !== null) lookup.zone.set(lookup.key, entry);
  } catch (e) {
    warn(r, 'cannot be written (is the zone full? declare it with evict)', e);
  }
}
