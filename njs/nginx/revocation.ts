/**
 * Revocation from two places: a deny-list file (changes need `nginx -s reload`)
 * and, where the engine has ngx.shared (njs >= 0.8.0), a js_shared_dict_zone
 * that the `jwt.revoke` handler fills at run time without a reload. Both
 * revoke a kid as a key: the kid of the key that verified counts, not only
 * the one the header names. The core checks them (core/revocation.ts); this
 * finds the zone.
 */
import { RevocationStore } from '../core/revocation';

export interface SharedZone extends RevocationStore {
  set(key: string, value: string, timeout?: number): unknown;
  /** false, writing nothing, when the key is there already. */
  add(key: string, value: string): boolean;
  delete(key: string): boolean;
  keys(): string[];
}

/** The zone, when the engine has ngx.shared and the config declares it. */
export function sharedZone(name: string): SharedZone | null {
  const shared = typeof ngx === 'object' ? (ngx as unknown as { shared?: { [zone: string]: SharedZone } }).shared : undefined;
  return shared && shared[name] ? shared[name] : null;
}
