/**
 * Revocation from two places: a deny-list file (changes need `nginx -s reload`)
 * and, where the engine has ngx.shared (njs >= 0.8.0), a js_shared_dict_zone
 * that the `jwt.revoke` handler fills at run time without a reload.
 */
import { Verified } from '../core/authenticate';
import { quote } from '../core/errors';
import { revokedBy } from '../core/revocation';
import { configDocument } from './key-sources';
import { Settings } from './settings';

interface SharedZone {
  get(key: string): unknown;
  set(key: string, value: string, timeout?: number): unknown;
}

/** The zone, when the engine has ngx.shared and the config declares it. */
export function sharedZone(name: string): SharedZone | null {
  const shared = typeof ngx === 'object' ? (ngx as unknown as { shared?: { [zone: string]: SharedZone } }).shared : undefined;
  return shared && shared[name] ? shared[name] : null;
}

/** What revokes this token ('' if nothing), or a config error as { error }. */
export function revocation(settings: Settings, verified: Verified): { revoked: string } | { error: string } {
  if (settings.revocationList) {
    const list = configDocument(settings.revocationList);
    if (typeof list === 'string') return { error: list };
    const listed = revokedBy(list.document, verified.header, verified.payload);
    if (listed) return { revoked: listed + ' is on the deny list ' + list.origin };
  }
  if (settings.revocationZone) {
    const zone = sharedZone(settings.revocationZone);
    if (!zone) return { error: '$auth_jwt_revocation_zone: no js_shared_dict_zone "' + settings.revocationZone + '" (needs njs >= 0.8.0)' };
    const checks: [string, unknown][] = [['jti', verified.payload.jti], ['sub', verified.payload.sub], ['kid', verified.header.kid]];
    for (let i = 0; i < checks.length; i++) {
      if (typeof checks[i][1] === 'string' && zone.get(checks[i][0] + ':' + checks[i][1]) !== undefined) {
        return { revoked: checks[i][0] + ' ' + quote(checks[i][1]) + ' is revoked in zone ' + settings.revocationZone };
      }
    }
  }
  return { revoked: '' };
}
