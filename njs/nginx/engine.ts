/**
 * What this njs can do, detected once per VM: Ed25519 in WebCrypto (0.9.7+),
 * a synchronous HMAC (`crypto.createHmac`: sha256 on every version, sha384
 * and sha512 from 0.9.7), and the environment for `$env://` references
 * (all of nginx's environment before 0.8.8, only `env` names after).
 */
import nodeCrypto from 'crypto';
import { Capabilities } from '../core/keys/types';

let detected: Capabilities | null = null;

function versionNumber(): number {
  const parts = String(typeof njs === 'object' ? njs.version : '0').split('.');
  return Number(parts[0]) * 10000 + Number(parts[1] || 0) * 100 + Number(parts[2] || 0);
}

export function engineCapabilities(): Capabilities {
  if (detected) return detected;
  const missingHashes: { [hash: string]: boolean } = {};
  detected = {
    ed25519: versionNumber() >= 907,
    env: (name) => (typeof process === 'object' && process.env ? process.env[name] : undefined),
    hmac: (hash, key, data) => {
      if (missingHashes[hash]) return null;
      try {
        return nodeCrypto.createHmac(hash as never, key as Buffer).update(data as Buffer).digest();
      } catch (e) {
        missingHashes[hash] = true;
        return null;
      }
    },
  };
  return detected;
}
