/**
 * Revocation from two places: a deny-list file (changes need `nginx -s reload`)
 * and, where the engine has ngx.shared (njs >= 0.8.0), a js_shared_dict_zone
 * that the `jwt.revoke` handler fills at run time without a reload. Both
 * revoke a kid as a key: the kid of the key that verified counts, not only
 * the one the header names (core/revocation.ts).
 */
import { Verified } from '../core/authenticate';
import { revokedBy, revokedInStore, RevocationStore } from '../core/revocation';
import { configDocument } from './key-sources';
import { Settings } from './settings';

interface SharedZone extends RevocationStore {
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
    const listed = revokedBy(list.document, verified);
    if (listed) return { revoked: listed + ' is on the deny list ' + list.origin };
  }
  if (settings.revocationZone) {
    const zone = sharedZone(settings.revocationZone);
    if (!zone) return { error: '$auth_jwt_revocation_zone: no js_shared_dict_zone "' + settings.revocationZone + '" (needs njs >= 0.8.0)' };
    const revoked = revokedInStore(zone, verified);
    if (revoked) return { revoked: revoked + ' is revoked in zone ' + settings.revocationZone };
  }
  return { revoked: '' };
}
