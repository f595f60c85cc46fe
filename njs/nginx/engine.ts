/**
 * What this njs can do, detected once per VM: Ed25519 in WebCrypto (0.9.7+),
 * JWK import (0.7.10+),
 * a synchronous HMAC (`crypto.createHmac`: sha256 on every version, sha384
 * and sha512 from 0.9.7), and the environment for `$env://` references
 * (all of nginx's environment before 0.8.8, only `env` names after).
 */
import nodeCrypto from 'crypto';
import { Capabilities } from '../core/keys/types';

let detected: Capabilities | null = null;

/** 10000 * major + 100 * minor + patch, from njs.version_number (0xMMmmpp; every njs here has it, and it costs no parsing); 0 without one. */
function versionNumber(): number {
  const packed = typeof njs === 'object' ? (njs as unknown as { version_number?: unknown }).version_number : undefined;
  if (typeof packed !== 'number') return 0;
  return (packed >> 16) * 10000 + ((packed >> 8) & 0xff) * 100 + (packed & 0xff);
}

/** An Ed25519 public key (RFC 8410 SubjectPublicKeyInfo), only to ask WebCrypto whether it knows the algorithm. */
const ED25519_PROBE = 'MCowBQYDK2VwAyEAvAVi0sKWJneKfrKaXqbhnba0iAEAhOePKTMD6dO9QAA=';

function ignore(): void {
  // the probe's outcome is known before its promise settles
}

/**
 * Ed25519 in WebCrypto: njs 0.9.7 or later, and a build that has it. Debian's
 * nginx module of njs 1.0.2 has none although its njs CLI has ("unknown
 * algorithm name"). QuickJS throws at once on an unknown algorithm, so there
 * the answer is exact; the classic engine only rejects the promise, so there
 * the version decides.
 */
function hasEd25519(version: number): boolean {
  if (version < 907) return false;
  if (!contextOutlivesRequest()) return true;
  try {
    crypto.subtle.importKey('spki', Buffer.from(ED25519_PROBE, 'base64'), { name: 'Ed25519' } as never, false, ['verify']).then(ignore, ignore);
    return true;
  } catch (e) {
    return false;
  }
}

/** SHA-256 of a text, in base64 (the direct style's cache keys); njs has it synchronously on every version. The bundle's one import of crypto is this file's. */
export function sha256Base64(text: string): string {
  return nodeCrypto.createHash('sha256').update(text).digest('base64');
}

/** Whether module state outlives a request: QuickJS reuses contexts (js_context_reuse), the classic engine makes a VM per request. */
export function contextOutlivesRequest(): boolean {
  return typeof njs === 'object' && (njs as unknown as { engine?: string }).engine === 'QuickJS';
}

/** Hashes this njs's createHmac lacks (sha384 and sha512 before 0.9.7), found by trying. */
let missingHashes: { [hash: string]: boolean } | null = null;

function environment(name: string): string | undefined {
  return typeof process === 'object' && process.env ? process.env[name] : undefined;
}

function hmac(hash: string, key: Uint8Array, data: Uint8Array): Uint8Array | null {
  if (missingHashes === null) missingHashes = {};
  if (missingHashes[hash]) return null;
  try {
    return nodeCrypto
      .createHmac(hash as never, key as Buffer)
      .update(data as Buffer)
      .digest();
  } catch (e) {
    missingHashes[hash] = true;
    return null;
  }
}

/** Detected once per VM: on the classic engine that is every request, so it makes no closures and reads the version once. */
export function engineCapabilities(): Capabilities {
  if (detected) return detected;
  const version = versionNumber();
  detected = { ed25519: hasEd25519(version), jwkImport: version >= 710, env: environment, hmac };
  return detected;
}
