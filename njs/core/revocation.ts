/**
 * Revoked tokens: a deny list of `jti`, `sub` and `kid` values, e.g.
 *   {"jti": ["4f1g23a12aa"], "sub": ["mallory"], "kid": ["2019-leaked"]}
 * Each list may also be an object whose names are the values, which is
 * faster to look up in a long list ({"sub": {"mallory": "left 2026-10"}}).
 *
 * A revoked kid revokes the key: a token is refused when its header names
 * the kid, and also when the key that verified it has that kid, so leaving
 * the kid out of the header (a JWK Set then tries its keys by alg) or naming
 * the credential by a `kid` claim in the payload changes nothing.
 */
import { configProblem, fail, isProblem, Problem, quote } from './errors';
import { ConfigDocument } from './keys/types';
import { JsonObject } from './strict-json';

function listed(list: unknown, value: unknown): boolean {
  if (typeof value !== 'string' || list === null || typeof list !== 'object') return false;
  if (Array.isArray(list)) {
    for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
    return false;
  }
  return Object.prototype.hasOwnProperty.call(list, value);
}

/** What a verified token is known by, for revocation. */
export interface RevocationSubject {
  header: JsonObject;
  payload: JsonObject;
  /** The kid of the key that verified it (authenticate's Verified.kid). */
  kid?: string;
}

/** Run-time revocations (a js_shared_dict_zone): "jti:<value>", "sub:<value>", "kid:<value>" keys, present when revoked. */
export interface RevocationStore {
  get(key: string): unknown;
}

function stored(store: RevocationStore, kind: string, value: unknown): boolean {
  return typeof value === 'string' && store.get(kind + ':' + value) !== undefined;
}

/** Which stored value revokes this verified token, or null; the same order and kid rule as the deny list. */
export function revokedInStore(store: RevocationStore, verified: RevocationSubject): string | null {
  const payload = verified.payload;
  const kid = verified.header.kid;
  if (stored(store, 'jti', payload.jti)) return 'jti ' + quote(payload.jti);
  if (stored(store, 'sub', payload.sub)) return 'sub ' + quote(payload.sub);
  if (stored(store, 'kid', kid)) return 'kid ' + quote(kid);
  if (verified.kid !== undefined && verified.kid !== kid && stored(store, 'kid', verified.kid))
    return 'kid ' + quote(verified.kid) + ' (of the key that verified the token)';
  return null;
}

/** Which listed value revokes this verified token, or null. */
export function revokedBy(denyList: unknown, verified: RevocationSubject): string | null {
  if (denyList === null || typeof denyList !== 'object') return null;
  const lists = denyList as JsonObject;
  const payload = verified.payload;
  if (listed(lists.jti, payload.jti)) return 'jti ' + quote(payload.jti);
  if (listed(lists.sub, payload.sub)) return 'sub ' + quote(payload.sub);
  const kid = verified.header.kid;
  if (listed(lists.kid, kid)) return 'kid ' + quote(kid);
  if (verified.kid !== undefined && verified.kid !== kid && listed(lists.kid, verified.kid))
    return 'kid ' + quote(verified.kid) + ' (of the key that verified the token)';
  return null;
}

/** Where revocations come from, as the adapter found them: names from the settings, and how to open them (read only for verified tokens). */
export interface RevocationFacts {
  /** The deny list's reference ('' for none): a js_preload_object name or a file path. */
  revocationList: string;
  /** The js_shared_dict_zone of run-time revocations ('' for none). */
  revocationZone: string;
  openDocument(reference: string): ConfigDocument | Problem;
  openStore(zone: string): RevocationStore | null;
}

/** TOKEN_REVOKED when the deny list or the zone revokes this verified token, a config problem when one cannot be read, else null. */
export function revocationProblem(facts: RevocationFacts, verified: RevocationSubject): Problem | null {
  if (facts.revocationList) {
    const list = facts.openDocument(facts.revocationList);
    if (isProblem(list)) return list;
    const listed = revokedBy(list.document, verified);
    if (listed) return fail('TOKEN_REVOKED', listed + ' is on the deny list ' + list.origin);
  }
  if (facts.revocationZone) {
    const zone = facts.openStore(facts.revocationZone);
    if (!zone)
      return configProblem(undefined, '$auth_jwt_revocation_zone', undefined, 'no js_shared_dict_zone "' + facts.revocationZone + '" (needs njs >= 0.8.0)');
    const revoked = revokedInStore(zone, verified);
    if (revoked) return fail('TOKEN_REVOKED', revoked + ' is revoked in zone ' + facts.revocationZone);
  }
  return null;
}
