/**
 * Revoked tokens: a deny list of `jti`, `sub` and `kid` values, e.g.
 *   {"jti": ["4f1g23a12aa"], "sub": ["mallory"], "kid": ["2019-leaked"]}
 * Each list may also be an object whose names are the values, which is
 * faster to look up in a long list ({"sub": {"mallory": "left 2026-10"}}).
 */
import { quote } from './errors';
import { JsonObject } from './strict-json';

function listed(list: unknown, value: unknown): boolean {
  if (typeof value !== 'string' || list === null || typeof list !== 'object') return false;
  if (Array.isArray(list)) {
    for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
    return false;
  }
  return Object.prototype.hasOwnProperty.call(list, value);
}

/** Which listed value revokes this verified token, or null. */
export function revokedBy(denyList: unknown, header: JsonObject, payload: JsonObject): string | null {
  if (denyList === null || typeof denyList !== 'object') return null;
  const lists = denyList as JsonObject;
  if (listed(lists.jti, payload.jti)) return 'jti ' + quote(payload.jti);
  if (listed(lists.sub, payload.sub)) return 'sub ' + quote(payload.sub);
  if (listed(lists.kid, header.kid)) return 'kid ' + quote(header.kid);
  return null;
}
